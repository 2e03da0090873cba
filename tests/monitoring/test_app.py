"""The monitoring service documents the api.md paths and serves its probes."""


async def test_openapi_lists_the_contract_paths(monitoring) -> None:
    spec = (await monitoring.get("/openapi.json")).json()
    for path, method in [
        ("/v1/policy/{year}", "get"),
        ("/v1/policy/{year}", "put"),
        ("/v1/signals", "post"),
        ("/v1/signals", "get"),
        ("/v1/declarations", "post"),
        ("/v1/declarations/{tracking_code}", "get"),
        ("/v1/scans", "post"),
        ("/v1/scans/{scan_id}", "get"),
        ("/v1/alerts", "get"),
        ("/v1/cases", "post"),
        ("/v1/cases", "get"),
        ("/v1/cases/{case_id}", "get"),
        ("/v1/cases/{case_id}/actions", "post"),
        ("/v1/stats/overview", "get"),
    ]:
        assert method in spec["paths"].get(path, {}), f"{method.upper()} {path}"
    assert (await monitoring.get("/healthz")).json() == {"status": "ok"}


async def test_everything_but_declarations_needs_a_token(monitoring) -> None:
    response = await monitoring.get("/v1/alerts")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (await monitoring.get("/v1/declarations/FPXXXXXXXXXX")).status_code == 404


async def test_openapi_documents_the_answers_writes_really_send(monitoring) -> None:
    spec = (await monitoring.get("/openapi.json")).json()
    scans = spec["paths"]["/v1/scans"]["post"]["responses"]
    # Malformed JSON, no policy for the year, the registry feed out of reach.
    assert {"202", "400", "409", "422", "503"} <= set(scans)
    assert "application/problem+json" in scans["409"]["content"]
    declarations = spec["paths"]["/v1/declarations"]["post"]["responses"]
    assert {"201", "400", "422", "429", "503"} <= set(declarations)

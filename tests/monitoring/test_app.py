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

"""Every failure is RFC 9457 problem+json with a 4xx status, never a 500 for bad input."""

from typing import Any

from shared.auth import Role
from tests.conftest import XINGYI


async def test_malformed_json_is_400(registry) -> None:
    officer = registry.as_(Role.county_officer, XINGYI)
    response = await officer.put(
        "/v1/regions", content=b"[{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Malformed JSON"


async def test_wrong_types_list_each_field(registry) -> None:
    officer = registry.as_(Role.county_officer, XINGYI)
    response = await officer.put("/v1/regions", json=[{"code": 5, "name": None}])
    assert response.status_code == 422
    body = response.json()
    assert body["type"].endswith("/validation")
    assert {e["field"] for e in body["errors"]} == {"0.code", "0.name"}


async def test_unknown_route_is_404_problem(registry) -> None:
    response = await registry.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_oversized_body_is_413(registry) -> None:
    officer = registry.as_(Role.county_officer, XINGYI)
    huge = b"[" + b'{"code":"522301100001","name":"x"},' * 80_000 + b"{}]"
    response = await officer.put(
        "/v1/regions", content=huge, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["title"] == "Payload too large"


async def test_health_probes(registry) -> None:
    assert (await registry.get("/healthz")).json() == {"status": "ok"}
    ready = await registry.get("/readyz")
    assert ready.status_code == 200, ready.text


async def test_openapi_documents_problem_shapes(registry) -> None:
    spec = (await registry.get("/openapi.json")).json()
    assert "Problem" in spec["components"]["schemas"]
    assert spec["paths"]["/v1/auth/token"]["post"]["tags"] == ["auth"]


async def test_hand_made_values_are_4xx_not_500(registry, villages) -> None:
    """Inputs a client can type that once reached SQL or Decimal unchecked."""
    from tests.conftest import VILLAGE_A
    from tests.registry.helpers import household

    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    home = (await cadre.post("/v1/households", json=household(VILLAGE_A, "HM-1"))).json()
    url = f"/v1/households/{home['id']}"
    cases: list[tuple[str, str, dict[str, Any], int]] = [
        # An amount too large for any decimal context.
        ("PUT", f"{url}/economics/2024", {"json": {"wage": "1e400"}}, 422),
        (
            "POST",
            f"{url}/measures",
            {"json": {"kind": "industry", "start": "2024-01-01", "amount": "1e30"}},
            422,
        ),
        # A superscript two is a digit to str.isdigit, not to int().
        (
            "PATCH",
            url,
            {"json": {"address": "x"}, "headers": {"If-Match": "²".encode("latin-1")}},
            422,
        ),
        ("GET", f"{url}/history", {"params": {"cursor": "²"}}, 422),
        ("GET", f"{url}/history", {"params": {"cursor": "9" * 30}}, 422),
        # Cursors decoding to values of the wrong type for the sort key.
        ("GET", "/v1/households", {"params": {"region": VILLAGE_A, "cursor": "WzEsMl0"}}, 422),
        # A typed value whose payload is of the wrong kind (a UUID that is a number).
        (
            "GET",
            "/v1/households",
            {
                "params": {
                    "region": VILLAGE_A,
                    "cursor": "WyI1MjIzMDExMDAwMDEiLHsidCI6IlVVSUQiLCJ2IjoxfV0",
                }
            },
            422,
        ),
        ("GET", "/v1/changes", {"params": {"after": "WzEsOTk5OTk5OTk5OTk5OTk5OTk5OTk5OTld"}}, 422),
    ]
    county = registry.as_(Role.county_officer, XINGYI)
    for method, path, kwargs, status in cases:
        client = county if path == "/v1/changes" else cadre
        response = await client.request(method, path, **kwargs)
        assert response.status_code == status, (path, kwargs, response.text)
        assert response.headers["content-type"] == "application/problem+json"


async def test_a_nul_character_is_422_not_500(registry, villages) -> None:
    from tests.conftest import VILLAGE_A
    from tests.registry.helpers import household

    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    search = await cadre.get("/v1/households", params={"region": VILLAGE_A, "q": "王\x00"})
    assert search.status_code == 422
    created = await cadre.post("/v1/households", json=household(VILLAGE_A, "H\x00-1"))
    assert created.status_code == 422
    assert created.headers["content-type"] == "application/problem+json"


async def test_oversized_chunked_body_without_content_length_is_413(registry, settings) -> None:
    officer = registry.as_(Role.county_officer, XINGYI)
    piece = b'{"code":"522301100001","name":"x"},' * 1000

    async def chunks():
        yield b"["
        for _ in range(settings.max_body_bytes // len(piece) + 2):
            yield piece
        yield b"{}]"

    for path, method in (("/v1/regions", "PUT"), ("/v1/households", "POST")):
        response = await officer.request(
            method, path, content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert "content-length" not in response.request.headers
        assert response.status_code == 413, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["title"] == "Payload too large"

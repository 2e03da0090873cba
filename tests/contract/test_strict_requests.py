"""Strict writes (issue 22 item 10): every request body of the three services refuses a field
it does not know (422 ``field.unknown`` naming it), every operation refuses a query parameter
it does not declare (422 ``query.unknown``), and an ID number is never accepted in a URL
(400 ``id_number.in_url``)."""

from typing import Any

import pytest

from shared.settings import Settings
from tests.conftest import XINGYI, ApiClient
from tests.contract.walk import (
    SERVICES,
    WRITES,
    as_each_role,
    create_app,
    headers,
    is_array,
    json_body,
    operations,
    url,
)

UNKNOWN = "wage_income_typo"
# Answers that mean a route's own guard stopped the request before the body was read.
_GUARDS = {401, 403, 404, 405, 428}


@pytest.mark.parametrize("service", SERVICES)
async def test_every_write_refuses_an_unknown_body_field(
    service: str, settings: Settings, session_maker: Any, queue: Any
) -> None:
    app = create_app(service, settings, session_maker, queue)
    walked = 0
    async with ApiClient(app, settings) as client:
        for path, method, operation in operations(app):
            if method not in WRITES or not json_body(operation):
                continue
            if path.startswith("/dci/"):
                continue  # the DCI standard's envelopes allow extra fields (docs/partners.md)
            walked += 1
            answers = []
            for caller in as_each_role(client):
                answer = await caller.request(
                    method.upper(),
                    url(path, operation),
                    json=[{UNKNOWN: 1}] if is_array(operation) else {UNKNOWN: 1},
                    headers=headers(operation),
                )
                answers.append(answer.status_code)
                if answer.status_code not in _GUARDS:
                    break
            where = f"{method.upper()} {path}"
            assert answer.status_code == 422, (where, answers, answer.text)
            fields = {(e["field"], e["code"]) for e in answer.json()["errors"]}
            assert any(
                f.split(".")[-1] == UNKNOWN and code == "field.unknown" for f, code in fields
            ), (where, fields)
    assert walked >= 8  # the walk reached the writes (registry 25, monitoring 8, funds 14)


async def test_unknown_field_is_refused_in_chinese_and_nothing_is_written(
    registry: ApiClient, villages: list[str]
) -> None:
    from shared.auth import Role
    from tests.registry.helpers import household

    officer = registry.as_(Role.county_officer, XINGYI)
    created = (await officer.post("/v1/households", json=household(villages[0]))).json()
    url_ = f"/v1/households/{created['id']}/economics/2025"
    client = registry.as_(Role.county_officer, XINGYI)
    client.headers.pop("Accept-Language")
    typo = await client.put(url_, json={"wage_income": 1234.5})
    assert typo.status_code == 422
    error = typo.json()["errors"][0]
    assert error == {
        "field": "wage_income",
        "code": "field.unknown",
        "message": "不是本请求的字段，请删除或检查拼写",
    }
    assert (await officer.get(url_)).status_code == 404  # nothing was set


@pytest.mark.parametrize("service", SERVICES)
async def test_every_operation_refuses_an_unknown_query_parameter(
    service: str, settings: Settings, session_maker: Any, queue: Any
) -> None:
    app = create_app(service, settings, session_maker, queue)
    async with ApiClient(app, settings) as client:
        caller = next(as_each_role(client))
        for path, method, operation in operations(app):
            answer = await caller.request(
                method.upper(), url(path, operation), params={"name": "张德明"}
            )
            where = f"{method.upper()} {path}"
            assert answer.status_code == 422, (where, answer.status_code, answer.text)
            assert answer.json()["errors"][0] == {
                "field": "query.name",
                "code": "query.unknown",
                "message": "is not a query parameter of this operation",
            }, where


async def test_a_filter_the_list_does_not_know_is_refused_not_ignored(
    registry: ApiClient,
) -> None:
    from shared.auth import Role

    officer = registry.as_(Role.county_officer, XINGYI)
    assert (await officer.get("/v1/households", params={"name": "张德明"})).status_code == 422
    assert (await officer.get("/v1/households", params={"q": "张德明"})).status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"q": "522301198808080211"},
        {"q": "５２２３０１１９８８０８０８０２１Ｘ"},  # full-width, as typed in Chinese
        {"household_no": "52230119880808021x"},
        {"id_number": "whatever"},
        {"cursor": "abc 522301198808080211"},
    ],
)
async def test_an_id_number_is_never_accepted_in_a_url(
    registry: ApiClient, params: dict[str, str]
) -> None:
    from shared.auth import Role

    officer = registry.as_(Role.county_officer, XINGYI)
    answer = await officer.get("/v1/households", params=params)
    assert answer.status_code == 400
    assert answer.json()["code"] == "id_number.in_url"
    assert "POST /v1/households/search" in answer.json()["detail"]


async def test_an_id_number_in_a_path_is_refused(registry: ApiClient) -> None:
    from shared.auth import Role

    officer = registry.as_(Role.county_officer, XINGYI)
    answer = await officer.get("/v1/households/522301198808080211")
    assert answer.status_code == 400
    assert answer.json()["code"] == "id_number.in_url"


async def test_an_upload_refuses_an_unknown_form_field(registry: ApiClient) -> None:
    from shared.auth import Role

    officer = registry.as_(Role.county_officer, XINGYI)
    answer = await officer.post(
        "/v1/imports",
        files={"file": ("ledger.csv", "户编号\n".encode(), "text/csv")},
        data={"knd": "households"},
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "knd"
    assert answer.json()["errors"][0]["code"] == "field.unknown"

"""Logs: one JSON object per line with the service, request id and user, access lines by
route template, and never an ID number, password, token or request body."""

import json
import logging

from services.registry.auth import service as auth_service
from shared.auth import Role
from shared.logging import TextFormatter, scrub
from tests.conftest import VILLAGE_A, XINGYI, token_for
from tests.registry.helpers import household, id_number


async def test_requests_with_secrets_leave_none_of_them_in_the_log(
    registry, session, villages, settings, json_log
) -> None:
    password = "Correct-Horse-Battery-9"
    await auth_service.ensure_user(session, "officer", password, Role.county_officer, XINGYI)
    await session.commit()
    signed_in = await registry.post(
        "/v1/auth/token", data={"username": "officer", "password": password}
    )
    assert signed_in.status_code == 200
    token = signed_in.json()["access_token"]
    wrong = await registry.post(
        "/v1/auth/token", data={"username": "officer", "password": password + "x"}
    )
    assert wrong.status_code == 401
    headers = {"Authorization": f"Bearer {token}"}
    number = id_number()
    body = household(VILLAGE_A, "H-LOG-1")
    body["members"][0]["id_number"] = number
    created = await registry.post("/v1/households", json=body, headers=headers)
    assert created.status_code == 201, created.text
    duplicate = await registry.post(
        "/v1/households",
        json=household(VILLAGE_A, "H-LOG-2", members=[body["members"][0]]),
        headers=headers,
    )
    assert duplicate.status_code == 409
    # Refused (an ID number never belongs in a URL), and still not logged in clear.
    searched = await registry.get("/v1/households", params={"q": number}, headers=headers)
    assert searched.status_code == 400
    bad_token = await registry.get("/v1/me", headers={"Authorization": "Bearer " + token[:-3]})
    assert bad_token.status_code == 401
    # An error message carrying secrets is masked too.
    logging.getLogger("povguard").error(
        "lookup of %s failed (password=%s, Authorization: Bearer %s)", number, password, token
    )

    text = json_log.text
    for secret in (number, password, token, token[:-3], "王小明", "丰都村一组"):
        assert secret not in text
    lines = json_log.lines()
    assert all(set(line) >= {"time", "level", "service", "request_id", "user"} for line in lines)
    access = json_log.access("/v1/households")
    assert [(a["method"], a["status"]) for a in access] == [
        ("POST", 201),
        ("POST", 409),
        ("GET", 400),
    ]
    # The URL's ID number is refused before the token is read: that line names no user.
    assert all(a["user"] == "officer" and a["service"] == "registry" for a in access[:2])
    assert all(isinstance(a["duration_ms"], float) for a in access)
    assert len({a["request_id"] for a in access}) == 3
    token_lines = json_log.access("/v1/auth/token")
    assert [line["status"] for line in token_lines] == [200, 401]
    assert token_lines[0]["user"] is None
    assert any("[id-number]" in line["message"] for line in lines)


def test_scrub_masks_id_numbers_tokens_and_passwords() -> None:
    number = id_number()
    text = scrub(
        f'id {number}, json {{"password": "hunter22", "client_secret": "s3"}} '
        "Bearer abc.def-ghi token=xyz eyJhbGciOi.eyJzdWIi.sig whsec_ABCDEF"
    )
    assert number not in text
    assert "hunter22" not in text
    assert "s3" not in text
    assert "abc.def-ghi" not in text
    assert "xyz" not in text
    assert "eyJ" not in text
    assert "ABCDEF" not in text
    # Codes, uuids and counts are left alone.
    assert scrub("region 522301100001 count 18") == "region 522301100001 count 18"


def test_readable_format_names_service_request_and_user(json_log) -> None:
    record = logging.LogRecord("povguard", logging.INFO, __file__, 1, "hello", None, None)
    record.service, record.request_id, record.user = "funds", "abc123", "officer"
    line = TextFormatter().format(record)
    assert "funds" in line
    assert "[abc123 officer]" in line
    assert line.endswith("hello")


async def test_the_user_is_the_token_subject_only(registry, settings, json_log) -> None:
    token = token_for(settings, Role.county_officer, XINGYI, sub="clerk-7")
    await registry.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    (line,) = json_log.access("/v1/me")
    assert line["user"] == "clerk-7"
    assert json.dumps(line).count("county_officer") == 0

"""Registry errors as a county official reads them: Simplified Chinese when the client states
no preference, English with ``Accept-Language: en``, and the same stable ``code`` either way
(clients branch on the code, people read the text)."""

from uuid import uuid4

import pytest

from services.registry.auth import service as auth_service
from shared.auth import Role
from tests.conftest import VILLAGE_A, XINGYI
from tests.registry.helpers import household, id_number, member

# No header: Chinese, the default; "en": English, as the rest of the suite reads.
LANGUAGES = pytest.mark.parametrize("language", ["zh", "en"])


def _speak(client, language: str):
    if language == "zh":
        del client.headers["Accept-Language"]
    else:
        client.headers["Accept-Language"] = "en"
    return client


def _pick(language: str, zh: str, en: str) -> str:
    return zh if language == "zh" else en


@LANGUAGES
async def test_an_unknown_household_is_a_404_in_the_readers_language(
    registry, villages, language
) -> None:
    cadre = _speak(registry.as_(Role.village_cadre, VILLAGE_A), language)
    missing = uuid4()
    response = await cadre.get(f"/v1/households/{missing}")
    assert response.status_code == 404
    assert response.headers["content-language"] == _pick(language, "zh-CN", "en")
    body = response.json()
    assert body["code"] == "household.not_found"
    assert body["title"] == _pick(language, "未找到", "Not found")
    assert body["detail"] == _pick(
        language, f"未找到户 {missing}", f"household {missing} not found"
    )


@LANGUAGES
async def test_an_id_number_with_a_wrong_check_character_names_the_field(
    registry, villages, language
) -> None:
    cadre = _speak(registry.as_(Role.village_cadre, VILLAGE_A), language)
    valid = id_number()
    wrong = valid[:17] + ("1" if valid[17] != "1" else "2")
    response = await cadre.post(
        "/v1/households", json=household(VILLAGE_A, members=[member(id_number=wrong)])
    )
    assert response.status_code == 422
    body = response.json()
    assert body["title"] == _pick(language, "校验失败", "Validation failed")
    assert body["errors"] == [
        {
            "field": "members.0.id_number",  # as sent, so a form can place the message
            "message": _pick(
                language,
                f"校验码不符（应为 {valid[17]}）",
                f"check character does not match (expected {valid[17]})",
            ),
            "code": "id_number.checksum",
        }
    ]


@LANGUAGES
async def test_an_id_number_registered_twice_is_a_409(registry, villages, language) -> None:
    cadre = _speak(registry.as_(Role.village_cadre, VILLAGE_A), language)
    head = member()
    assert (
        await cadre.post("/v1/households", json=household(VILLAGE_A, "H-1", members=[head]))
    ).status_code == 201
    again = await cadre.post("/v1/households", json=household(VILLAGE_A, "H-2", members=[head]))
    assert again.status_code == 409
    body = again.json()
    masked = f"{head['id_number'][:4]}{'*' * 13}{head['id_number'][-1]}"
    assert body["code"] == "id_number.taken"
    assert body["title"] == _pick(language, "冲突", "Conflict")
    assert body["detail"] == _pick(
        language,
        f"身份证号码 {masked} 已登记在户 H-1",
        f"ID number {masked} is already registered in household H-1",
    )


@LANGUAGES
async def test_a_stale_if_match_is_a_412(registry, villages, language) -> None:
    cadre = _speak(registry.as_(Role.village_cadre, VILLAGE_A), language)
    created = (await cadre.post("/v1/households", json=household(VILLAGE_A))).json()
    url = f"/v1/households/{created['id']}"
    assert (
        await cadre.patch(url, json={"address": "二组"}, headers={"If-Match": "1"})
    ).status_code == 200
    stale = await cadre.patch(url, json={"address": "三组"}, headers={"If-Match": "1"})
    assert stale.status_code == 412
    body = stale.json()
    assert body["code"] == "version.stale"
    assert body["current_version"] == 2
    assert body["title"] == _pick(language, "版本已变化", "Precondition failed")
    assert body["detail"] == _pick(
        language,
        "该记录已被修改（当前版本 2，您提交的版本 1），请重新读取后再试",
        "the resource has changed (version 2, you sent 1); read it again and retry",
    )


@LANGUAGES
async def test_a_wrong_password_is_a_401(registry, session, language) -> None:
    username = f"officer-{language}-{uuid4().hex[:8]}"
    await auth_service.ensure_user(
        session, username, "correct horse battery", Role.county_officer, XINGYI
    )
    await session.commit()
    response = await _speak(registry, language).post(
        "/v1/auth/token", data={"username": username, "password": "wrong one"}
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "auth.bad_credentials"
    assert body["title"] == _pick(language, "未登录或登录已失效", "Not authenticated")
    assert body["detail"] == _pick(language, "用户名或密码错误", "wrong username or password")

"""Messages are Simplified Chinese by default and English on request, each problem and field
error with a stable code a client can branch on; field names stay as the client sent them."""

import re
import string

from babel.messages.catalog import Message
from babel.messages.pofile import read_po

from shared.auth import Role
from shared.i18n import catalogue_files, negotiate
from tests.conftest import XINGYI, ApiClient

_HAN = re.compile(r"[\u4e00-\u9fff]")


async def test_problems_are_chinese_by_default_and_english_on_request(
    registry: ApiClient,
) -> None:
    del registry.headers["Accept-Language"]  # no preference: Chinese
    zh = await registry.get("/v1/no-such-thing")
    assert zh.status_code == 404
    assert zh.headers["content-type"] == "application/problem+json"
    assert zh.json()["title"] == "未找到"
    assert _HAN.search(zh.json()["detail"])
    assert zh.json()["code"] == "not_found"
    assert zh.headers["content-language"] == "zh-CN"

    en = await registry.get("/v1/no-such-thing", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert en.json()["title"] == "Not found"
    assert en.json()["code"] == "not_found"
    assert en.headers["content-language"] == "en"


async def test_field_errors_keep_the_field_name_and_carry_a_code(registry: ApiClient) -> None:
    officer = registry.as_(Role.county_officer, XINGYI)
    officer.headers["Accept-Language"] = "zh-CN,zh;q=0.9"
    answer = await officer.post("/v1/households", json={"address": "x" * 3})
    assert answer.status_code == 422
    body = answer.json()
    assert body["title"] == "校验失败"
    assert body["code"] == "validation"
    missing = {e["field"]: e for e in body["errors"]}["region_code"]
    assert missing == {"field": "region_code", "message": "必填", "code": "validation.missing"}

    answer = await officer.post(
        "/v1/households", json={"address": "x"}, headers={"Accept-Language": "en"}
    )
    missing = {e["field"]: e for e in answer.json()["errors"]}["region_code"]
    assert missing["message"] == "field required"


async def test_year_out_of_range_is_explained_with_its_figure(registry: ApiClient) -> None:
    officer = registry.as_(Role.county_officer, XINGYI)
    officer.headers["Accept-Language"] = "zh"
    answer = await officer.get("/v1/households", params={"limit": 100000})
    assert answer.status_code == 422
    (error,) = answer.json()["errors"]
    assert error["field"] == "query.limit"
    assert error["message"] == "不能大于 1000"
    assert error["code"] == "validation.less_than_equal"


def test_accept_language_negotiation() -> None:
    assert negotiate(None) == "zh"
    assert negotiate("zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert negotiate("en-US,en;q=0.9,zh-CN;q=0.5") == "en"
    assert negotiate("fr-FR, en;q=0.3") == "en"
    assert negotiate("fr-FR") == "zh"
    assert negotiate("en;q=0, zh;q=0.1") == "zh"


def test_every_translation_keeps_its_placeholders() -> None:
    names = string.Formatter()
    messages: list[Message] = []
    for path in catalogue_files():
        with path.open("rb") as po:
            messages.extend(read_po(po))
    assert messages
    for message in messages:
        if not message.id:
            continue
        assert message.string, f"untranslated: {message.id}"
        wanted = {f for _, f, _, _ in names.parse(str(message.id)) if f}
        found = {f for _, f, _, _ in names.parse(str(message.string)) if f}
        assert wanted == found, message.id
        words = re.sub(r"\{[^}]*\}", "", str(message.id))
        if re.search(r"[A-Za-z]{2}", words):
            assert _HAN.search(str(message.string)), message.id

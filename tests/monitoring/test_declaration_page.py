"""The villagers' declaration page over HTTP (the browser tests are in
test_declaration_page_browser.py): a plain form POST answered by a page, the API's rules and
messages, the anti-forgery token and the security headers."""

import base64
import hashlib
import re
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text

from services.monitoring.declarations import webform
from shared import idnumber
from shared.auth import Role
from tests.conftest import VILLAGE_A, XINGYI

PAGE = f"/declare/{VILLAGE_A}"


@pytest.fixture(autouse=True)
async def fresh_limits(queue: Any, settings: Any) -> AsyncIterator[None]:
    """Rate-limit buckets and cached village names: each test starts without any."""

    async def clear() -> None:
        async for key in queue.scan_iter(match=f"povguard:rate:{settings.queue_name}:declare:*"):
            await queue.delete(key)
        webform._NAMES.clear()

    await clear()
    yield
    await clear()


def person(sequence: int) -> str:
    return idnumber.make("522301", date(1979, 3, 8), sequence)


def wrong_check(number: str) -> str:
    return number[:-1] + ("0" if number[-1] != "0" else "1")


async def open_form(client: Any, path: str = PAGE) -> tuple[Any, str]:
    """GET the page: the answer and its form token (its cookie stays in the client)."""
    page = await client.get(path)
    assert page.status_code == 200, page.text
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    return page, token.group(1)


def fields(number: str, phone: str = "13800001234", **extra: str) -> dict[str, str]:
    return {
        "name": "李四",
        "id_number": number,
        "phone": phone,
        "reason": "illness",
        "description": "母亲住院",
    } | extra


def tracking_code(html: str) -> str:
    found = re.search(r'id="tracking-code" data-code="(FP[A-Z0-9]{16})"', html)
    assert found is not None, html
    return found.group(1)


async def test_the_page_names_the_village_and_is_locked_down(monitoring, villages) -> None:
    page, _ = await open_form(monitoring)
    assert "丰都村" in page.text
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "form-action 'self'" in csp
    assert "default-src 'none'" in csp
    # The page's one style and one script are allowed by their hashes, and nothing else is.
    for tag in ("style", "script"):
        (source,) = re.findall(rf"<{tag}>(.*?)</{tag}>", page.text, re.S)
        digest = base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()
        assert f"{tag}-src 'sha256-{digest}';" in csp
    assert "style=" not in page.text
    assert " on" + "input=" not in page.text
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/declare" in cookie
    for name in webform.FIELDS:  # every field has its label
        assert f'<label for="{name}">' in page.text
        assert f'id="{name}"' in page.text
    # Small: one request of a few KB (compressed) is the whole page.
    compressed = await monitoring.get(PAGE, headers={"Accept-Encoding": "gzip"})
    assert compressed.headers["content-encoding"] == "gzip"
    assert int(compressed.headers["content-length"]) < 6_000
    assert len(page.content) < 12_000


async def test_an_unknown_village_is_a_page_not_a_form(monitoring, villages) -> None:
    township = await monitoring.get("/declare/522301100000")  # known, but no village
    assert township.status_code == 404
    missing = await monitoring.get("/declare/522301100099")
    assert missing.status_code == 404
    assert "找不到这个村" in missing.text
    assert 'name="csrf"' not in missing.text


async def test_a_declaration_from_the_page_is_the_apis_declaration(
    monitoring, villages, feed
) -> None:
    registered = await feed.household(VILLAGE_A)
    answers = []
    for number, phone in ((registered["id_numbers"][0], "13800000011"), (person(3), "13800000012")):
        _, token = await open_form(monitoring)
        answer = await monitoring.post(PAGE, data=fields(number, phone) | {"csrf": token})
        assert answer.status_code == 200, answer.text
        answers.append(answer.text)
    # Registered or not, the same page but for the tracking code: it tells nobody anything.
    codes = [tracking_code(a) for a in answers]
    shown = [
        re.sub(r'id="tracking-code".*?</p>|FP[A-Z0-9]{16}', "", a, flags=re.S) for a in answers
    ]
    assert shown[0] == shown[1]
    county = monitoring.as_(Role.county_officer, XINGYI)
    listed = (await county.get("/v1/declarations")).json()["items"]
    assert {d["phone"] for d in listed} == {"13800000011", "13800000012"}
    assert {d["region_code"] for d in listed} == {VILLAGE_A}
    # Looked up later by its code, sent in the body (never in the address).
    copied = f"{codes[1][:6]} {codes[1][6:12].lower()} {codes[1][12:]}"  # as written down
    status = await monitoring.post("/declare/status", data={"code": copied})
    assert status.status_code == 200
    assert "已受理" in status.text
    unknown = await monitoring.post("/declare/status", data={"code": "FPAAAAAAAAAAAAAAAA"})
    assert unknown.status_code == 404
    assert "没有与该查询码对应的防贫申报" in unknown.text


async def test_the_server_checks_the_form_in_the_apis_chinese_words(
    monitoring, villages, session
) -> None:
    _, token = await open_form(monitoring)
    number = person(5)
    answer = await monitoring.post(
        PAGE,
        data=fields(wrong_check(number), phone="12345", name="  ") | {"csrf": token},
    )
    assert answer.status_code == 422
    html = answer.text
    assert f"校验码不符（应为 {number[-1]}）" in html  # the API's message, from the catalogue
    assert "格式不正确" in html  # the phone
    assert "必填" in html  # a name of blanks is no name
    assert 'value="12345"' in html  # what was typed stays in the form
    assert (
        await session.execute(text("SELECT count(*) FROM monitoring.declarations"))
    ).scalar() == 0


async def test_the_page_counts_against_the_apis_limits(monitoring, villages) -> None:
    number = person(7)
    for _ in range(5):  # the API's per-ID-number limit, filled through the API
        api = await monitoring.post(
            "/v1/declarations",
            json=fields(number, phone="13900001111") | {"village_code": VILLAGE_A},
        )
        assert api.status_code == 201, api.text
    _, token = await open_form(monitoring)
    page = await monitoring.post(PAGE, data=fields(number, phone="13900002222") | {"csrf": token})
    assert page.status_code == 429
    assert int(page.headers["retry-after"]) >= 1
    assert "尝试次数过多" in page.text
    assert "tracking-code" not in page.text


async def test_a_forged_or_stale_post_is_refused(monitoring, villages, session, settings) -> None:
    _, token = await open_form(monitoring)
    number = person(9)
    refused = [
        # another site's POST: no token of ours
        await monitoring.post(PAGE, data=fields(number)),
        # a token for another village
        await monitoring.post(
            PAGE,
            data=fields(number) | {"csrf": webform.csrf_token(settings, "x" * 24, "522301100002")},
        ),
        # the right token, sent from another site (the browser says so)
        await monitoring.post(
            PAGE, data=fields(number) | {"csrf": token}, headers={"Sec-Fetch-Site": "cross-site"}
        ),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403]
    assert all(webform.EXPIRED in r.text for r in refused)
    # ...the form comes back filled in, with a fresh token that works.
    token = re.search(r'name="csrf" value="([^"]+)"', refused[0].text).group(1)  # type: ignore[union-attr]
    ok = await monitoring.post(PAGE, data=fields(number) | {"csrf": token})
    assert ok.status_code == 200
    assert tracking_code(ok.text)
    # Without this browser's cookie the token is worth nothing.
    monitoring.cookies.clear()
    stolen = await monitoring.post(PAGE, data=fields(person(11)) | {"csrf": token})
    assert stolen.status_code == 403
    count = (await session.execute(text("SELECT count(*) FROM monitoring.declarations"))).scalar()
    assert count == 1


async def test_the_page_works_while_the_registry_is_down(monitoring, villages, settings) -> None:
    import httpx

    monitoring.app.state.registry_client = None
    monitoring.app.state.http = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda request: httpx.Response(503))
    )
    page, token = await open_form(monitoring)
    assert f"村代码 {VILLAGE_A}" in page.text
    answer = await monitoring.post(PAGE, data=fields(person(13)) | {"csrf": token})
    assert answer.status_code == 200
    assert tracking_code(answer.text)


async def test_behind_the_proxy_the_page_keeps_to_its_public_path(
    monitoring, villages, settings
) -> None:
    monitoring.app.state.settings = settings.model_copy(
        update={"public_monitoring_url": "https://fp.example.cn/monitoring"}
    )
    page, token = await open_form(monitoring)
    cookie = page.headers["set-cookie"].lower()
    assert "path=/monitoring/declare" in cookie
    assert "secure" in cookie
    # Relative addresses: the form posts back to /monitoring/declare/... through the proxy.
    assert f'action="{VILLAGE_A}"' in page.text
    assert 'href="status"' in page.text
    monitoring.cookies.set(webform.CSRF_COOKIE, page.cookies[webform.CSRF_COOKIE])
    done = await monitoring.post(PAGE, data=fields(person(15)) | {"csrf": token})
    assert "https://fp.example.cn/monitoring/declare/status" in done.text

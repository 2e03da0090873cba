"""The declaration page in a real browser: Debian's Chromium driven by Playwright (never a
downloaded browser) at a phone's viewport, against the monitoring app served by uvicorn on
this machine. Without Chromium these tests FAIL: CI installs it (.ci/run)."""

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, Page, ViewportSize

from services.monitoring.declarations import webform
from shared import idnumber
from tests.conftest import VILLAGE_A

PHONE: ViewportSize = {"width": 360, "height": 740}
# WebPageTest's "3G Slow" profile: 400 kbit/s each way, 400 ms round trip.
SLOW_3G = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 400_000 / 8,
    "uploadThroughput": 400_000 / 8,
}


@pytest.fixture
async def site(monitoring: Any, queue: Any, settings: Any) -> AsyncIterator[str]:
    """The monitoring app (on the test's transaction) behind a real HTTP server."""

    async def clear() -> None:
        async for key in queue.scan_iter(match=f"povguard:rate:{settings.queue_name}:declare:*"):
            await queue.delete(key)
        webform._NAMES.clear()

    await clear()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            monitoring.app,
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110  (uvicorn offers no event to wait on)
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
    sock.close()
    await clear()


async def phone_page(browser: Browser, javascript: bool = True) -> Page:
    context = await browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, java_script_enabled=javascript
    )
    return await context.new_page()


def person(sequence: int) -> str:
    return idnumber.make("522301", date(1985, 11, 30), sequence)


async def fill(page: Page, number: str) -> None:
    await page.get_by_label("姓名").fill("王大妈")
    await page.get_by_label("身份证号码").fill(number)
    await page.get_by_label("手机号码").fill("13700001234")
    await page.get_by_label("遇到了什么困难").select_option("disaster")
    await page.get_by_label("具体情况").fill("冰雹打坏了庄稼")


async def test_a_villager_declares_on_a_phone_and_looks_it_up(
    browser: Browser, site: str, villages: Any
) -> None:
    page = await phone_page(browser)
    await page.goto(f"{site}/declare/{VILLAGE_A}")
    assert await page.locator(".village").inner_text() == "丰都村"
    # Made for 360 px: nothing wider than the screen, tap targets at least 48 px high.
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    for selector in ("#name", "#id_number", "#phone", "#reason", "button[type=submit]"):
        box = await page.locator(selector).bounding_box()
        assert box is not None, selector
        assert box["height"] >= 48, selector
        assert box["width"] >= 300, selector
    await fill(page, person(21))
    await page.get_by_role("button", name="提交申报").click()
    code = page.locator("#tracking-code")
    await code.wait_for()
    tracking = await code.get_attribute("data-code") or ""
    assert re.fullmatch(r"FP[A-Z2-9]{16}", tracking)
    assert (await code.inner_text()).replace(" ", "").strip() == tracking  # shown in groups
    assert float(await code.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 28
    # Later, from the status page, typed in by hand.
    await page.goto(f"{site}/declare/status")
    await page.get_by_label("查询码").fill(tracking.lower())
    await page.get_by_role("button", name="查询").click()
    assert await page.locator("#stage").inner_text() == "已受理"
    await page.context.close()


async def test_a_wrong_check_character_is_refused_before_submitting(
    browser: Browser, site: str, villages: Any
) -> None:
    page = await phone_page(browser)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    await page.goto(f"{site}/declare/{VILLAGE_A}")
    number = person(23)
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    await fill(page, wrong)
    error = page.locator("#id_number-error")
    assert await error.inner_text() == f"校验码不符（应为 {number[-1]}）"
    await page.get_by_role("button", name="提交申报").click()
    await page.wait_for_timeout(300)
    assert posts == []  # the browser never sent it
    assert await page.locator("#tracking-code").count() == 0
    # An impossible birth date is caught as it is typed, before the 18th character.
    await page.get_by_label("身份证号码").fill("52230119850231")
    assert "不是有效日期" in await error.inner_text()
    # Full-width digits, as a Chinese input method types them, are the same number.
    await page.get_by_label("身份证号码").fill(
        number.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789X"})
    )
    assert await error.inner_text() == ""
    await page.get_by_role("button", name="提交申报").click()
    await page.locator("#tracking-code").wait_for()
    assert len(posts) == 1
    await page.context.close()


async def test_the_page_works_with_javascript_off(
    browser: Browser, site: str, villages: Any
) -> None:
    page = await phone_page(browser, javascript=False)
    await page.goto(f"{site}/declare/{VILLAGE_A}")
    number = person(25)
    await fill(page, number[:-1] + ("0" if number[-1] != "0" else "1"))
    await page.get_by_role("button", name="提交申报").click()
    # The server refused it and answered a page: the message next to the field, values kept.
    error = page.locator("#id_number-error")
    await error.wait_for()
    assert await error.inner_text() == f"校验码不符（应为 {number[-1]}）"
    assert await page.get_by_label("手机号码").input_value() == "13700001234"
    await page.get_by_label("身份证号码").fill(number)
    await page.get_by_role("button", name="提交申报").click()
    tracking = await page.locator("#tracking-code").get_attribute("data-code")
    assert tracking
    assert tracking.startswith("FP")
    await page.get_by_role("button", name="查看进度").click()
    assert await page.locator("#stage").inner_text() == "已受理"
    await page.context.close()


async def load_on_slow_3g(browser: Browser, url: str) -> dict[str, Any]:
    """One cold load (new context, cache off) under the profile: the navigation's figures."""
    page = await phone_page(browser)
    refused: list[str] = []  # what the CSP blocked, if anything
    page.on("console", lambda m: refused.append(m.text) if m.type == "error" else None)
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    await cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    await page.goto(url, wait_until="load")
    timing: dict[str, Any] = await page.evaluate(
        "(() => { const n = performance.getEntriesByType('navigation')[0];"
        " const r = performance.getEntriesByType('resource');"
        " return {load: n.loadEventEnd, received: n.responseEnd, requests: 1 + r.length,"
        " bytes: n.transferSize + r.reduce((s, e) => s + e.transferSize, 0)}; })()"
    )
    # The script runs (the CSP let it), and nothing was refused.
    await page.get_by_label("身份证号码").fill("1234")
    await page.get_by_label("身份证号码").blur()
    timing["script"] = await page.locator("#id_number-error").inner_text()
    timing["refused"] = refused
    await page.context.close()
    return timing


async def test_the_page_loads_in_under_a_second_on_slow_3g(
    browser: Browser, site: str, villages: Any
) -> None:
    url = f"{site}/declare/{VILLAGE_A}"
    # A warm server (the first request of a process pays for its imports), a cold browser.
    async with httpx.AsyncClient() as client:
        assert (await client.get(url)).status_code == 200
    # The network's part is fixed by the profile (one round trip, ~0.5 s); the browser's
    # parsing is CPU time, which a CI machine shared by many jobs may not give: the best of
    # three loads is the page's figure.
    loads = []
    for _ in range(3):
        timing = await load_on_slow_3g(browser, url)
        # One request of a few KB is the whole page.
        assert timing["requests"] == 1, timing
        assert timing["bytes"] < 8_000, timing
        assert timing["received"] < 1000, timing
        assert "18" in timing["script"], timing
        assert timing["refused"] == [], timing
        loads.append(timing["load"])
        if timing["load"] < 1000:
            break
    assert min(loads) < 1000, loads

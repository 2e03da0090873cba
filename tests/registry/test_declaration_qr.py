"""A village's declaration QR code to print: who may fetch it, and that it reads back (zbar,
from Debian) as the page's public address, from the PNG and from the SVG as a browser draws it."""

from pathlib import Path
from typing import Any

import pytest

from shared.auth import Role
from tests.browser import decode_qr
from tests.conftest import PUAN_TOWNSHIP, VILLAGE_A, VILLAGE_B, XINGYI, XINGYI_TOWNSHIP

BASE = "https://fp.example.cn/declare"


@pytest.fixture
def printed(registry: Any, settings: Any) -> Any:
    """The registry with the page's public address set, as a deployment sets it."""
    registry.app.state.settings = settings.model_copy(update={"declaration_page_url": BASE})
    return registry


def qr_path(village: str, kind: str = "svg") -> str:
    return f"/v1/regions/{village}/declaration-qr?format={kind}"


async def test_the_png_reads_back_as_the_villages_page(printed, villages, tmp_path: Path) -> None:
    response = await printed.as_(Role.township_officer, XINGYI_TOWNSHIP).get(
        qr_path(VILLAGE_A, "png")
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert f"declaration-qr-{VILLAGE_A}.png" in response.headers["content-disposition"]
    image = tmp_path / "qr.png"
    image.write_bytes(response.content)
    assert decode_qr(image) == [f"{BASE}/{VILLAGE_A}"]


async def test_the_svg_is_an_a4_sheet_with_the_villages_name(
    printed, villages, browser, tmp_path: Path
) -> None:
    county = printed.as_(Role.county_officer, XINGYI)
    response = await county.get(qr_path(VILLAGE_B))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/svg+xml")
    svg = response.text
    assert 'width="210mm" height="297mm"' in svg
    assert "坪东村" in svg
    sheet = tmp_path / "qr.svg"
    sheet.write_text(svg)
    # Drawn as a browser (or a printer's driver) draws it, then read by zbar.
    page = await browser.new_page(viewport={"width": 794, "height": 1123})
    await page.goto(sheet.as_uri())
    await page.screenshot(path=str(tmp_path / "sheet.png"))
    await page.close()
    assert decode_qr(tmp_path / "sheet.png") == [f"{BASE}/{VILLAGE_B}"]


async def test_only_officials_of_the_village_get_its_code(printed, villages) -> None:
    cadre = printed.as_(Role.village_cadre, VILLAGE_A)
    assert (await cadre.get(qr_path(VILLAGE_A))).status_code == 403
    other_township = printed.as_(Role.township_officer, PUAN_TOWNSHIP)
    outside = await other_township.get(qr_path(VILLAGE_A))
    assert outside.status_code == 404
    assert outside.json()["code"] == "region.not_found"
    township = printed.as_(Role.township_officer, XINGYI_TOWNSHIP)
    # Its own township is no village; an unknown village is not found; only svg or png.
    not_village = await township.get(qr_path(XINGYI_TOWNSHIP))
    assert not_village.status_code == 422
    assert not_village.json()["errors"][0]["field"] == "village_code"
    assert (await township.get(qr_path("522301100099"))).status_code == 404
    assert (await township.get(qr_path(VILLAGE_A, "pdf"))).status_code == 422
    assert (await printed.get(qr_path(VILLAGE_A))).status_code == 401


async def test_without_a_setting_the_code_points_to_the_public_monitoring_url(
    registry, settings, villages
) -> None:
    registry.app.state.settings = settings.model_copy(
        update={"public_monitoring_url": "https://jc.example.cn/monitoring/"}
    )
    response = await registry.as_(Role.township_officer, XINGYI_TOWNSHIP).get(qr_path(VILLAGE_A))
    assert f"https://jc.example.cn/monitoring/declare/{VILLAGE_A}" in response.text

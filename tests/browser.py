"""Debian's Chromium and zbar for the tests that need a real browser or a QR decoder: never a
downloaded browser (no `playwright install`). Missing, they FAIL the test: CI installs them
(.ci/run)."""

import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = ("/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser")


def chromium() -> str:
    found = next((p for p in CHROMIUM if Path(p).is_file()), None) or shutil.which("chromium")
    if found is None:
        pytest.fail("Debian's chromium is not installed (apt-get install -y chromium)")
    return found


def decode_qr(image: Path) -> list[str]:
    """Every QR code zbar reads in ``image``, as text."""
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        pytest.fail("zbarimg is not installed (apt-get install -y zbar-tools)")
    done = subprocess.run(
        [zbarimg, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(image)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.stdout.splitlines()

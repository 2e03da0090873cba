"""Every benchmark runs at a tiny size in ``make test``, so a change that breaks one is a red
CI the day it is made (bench/funds_trace.py once failed for weeks, unnoticed).

Each script runs as documented (``python -m bench.<name>``), in its own process, on a copy of
one migrated database (``POVGUARD_BENCH_TEMPLATE``: a copy takes well under a second where the
migrations take seconds); they run side by side, as the suite itself uses one core. A run
passes when it exits 0 and its last line is the JSON object its docstring promises."""

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from povguard.scratch import migrated_database

ROOT = Path(__file__).resolve().parents[2]

# Per script: its tiny command line and the keys of the JSON object it prints last.
BENCHES: dict[str, tuple[list[str], set[str]]] = {
    "registry_import": (
        ["-m", "bench.registry_import", "20"],
        {
            "households",
            "member_rows",
            "ledger_mb",
            "import_s",
            "copy_s",
            "member_rows_per_s",
            "copy_rows_per_s",
            "ratio_to_copy",
            "floor_s",
            "floor_rows_per_s",
            "ratio_to_floor",
            "max_rss_mb",
        },
    ),
    "registry_api": (
        ["-m", "bench.registry_api", "50", "--seconds", "1", "--clients", "2"],
        {
            "households",
            "change_events",
            "clients",
            "workers",
            "get_p50_ms",
            "get_p99_ms",
            "list_p99_ms",
            "rps",
            "statuses",
            "changes_page_10000_p50_ms",
            "changes_page_10000_max_ms",
        },
    ),
    "registry_feed": (
        ["-m", "bench.registry_feed", "200", "--direct"],
        {
            "events",
            "direct",
            "write_seconds",
            "province_pages",
            "province_page_p50_ms",
            "province_page_p99_ms",
            "province_page_max_ms",
            "county_pages",
            "county_page_p50_ms",
            "county_page_p99_ms",
            "county_page_max_ms",
        },
    ),
    "registry_asof": (
        ["-m", "bench.registry_asof", "200"],
        {
            "entries",
            "households",
            "villages",
            "write_seconds",
            "get_p50_ms",
            "get_p99_ms",
            "list_p50_ms",
            "list_max_ms",
            "verify_seconds",
        },
    ),
    "signal_to_alert": (
        ["-m", "bench.signal_to_alert", "--signals", "1", "--households", "20"],
        {"households", "trials", "seconds", "p50_s", "max_s", "timeouts", "startup_s"},
    ),
    "monitoring_scan": (
        ["-m", "bench.monitoring_scan", "50"],
        {
            "households",
            "members",
            "workers",
            "alerts_raised",
            "scan_seconds",
            "scan_with_scores_seconds",
            "scoring_overhead",
            "rescan_seconds",
            "rescan_with_scores_seconds",
            "rescan_scoring_overhead",
            "households_scored",
            "floor_seconds",
            "ratio_to_floor",
            "signals",
            "signals_per_s",
        },
    ),
    "funds_trace": (
        [
            "bench/funds_trace.py",
            *("--funds", "2", "--projects", "20", "--payments", "100"),
            *("--distributions", "50", "--traces", "5"),
        ],
        {
            "funds",
            "projects",
            "payments",
            "distributions",
            "traces",
            "generate_seconds",
            "trace_p50_ms",
            "trace_p99_ms",
            "report_seconds",
            "compliance_seconds",
        },
    ),
    "mixed_load": (
        [
            "-m",
            "bench.mixed_load",
            *("50", "--import-households", "20", "--seconds", "1", "--clients", "2"),
        ],
        {
            "households",
            "replica",
            "import_households",
            "clients",
            "get_p99_ms_alone",
            "patch_p99_ms_alone",
            "get_p99_ms_under_load",
            "list_p99_ms_under_load",
            "patch_p99_ms_under_load",
            "import_s_alone",
            "import_s_under_load",
            "import_slowdown",
            "scan_s_alone",
            "scan_s_under_load",
            "scan_slowdown",
            "statuses_alone",
            "statuses_under_load",
        },
    ),
    "webhooks": (
        [
            *("-m", "bench.webhooks", "--rate", "20", "--seconds", "1"),
            *("--subscriptions", "1", "--workers", "1"),
        ],
        {
            "events",
            "subscriptions",
            "workers",
            "deliveries",
            "expected",
            "offered_per_s",
            "deliveries_per_s",
            "delay_p50_ms",
            "delay_p99_ms",
            "delay_max_ms",
        },
    ),
    "batches": (
        ["-m", "bench.batches", "20", "--items", "10", "--seconds", "1"],
        {
            "households",
            "batch_items",
            "status",
            "batch_s",
            "applied",
            "conflicts",
            "rejected",
            "get_p99_idle_ms",
            "get_p99_under_batch_ms",
            "gets_under_batch",
            "get_under_batch_to_idle",
        },
    ),
    "dedup": (
        ["-m", "bench.dedup", "3000"],
        {
            "members",
            "duplicates",
            "look_alikes",
            "status",
            "scan_members",
            "pairs",
            "true_pairs",
            "precision",
            "recall",
            "recall_by_kind",
            "scan_s",
            "people_per_s",
            "entry_check_p50_ms",
            "entry_check_p99_ms",
            "max_rss_mb",
        },
    ),
    "dci_search": (
        ["-m", "bench.dci_search", "30", "--seconds", "1", "--clients", "2", "--changes", "2"],
        {
            "households",
            "clients",
            "search_requests",
            "search_failures",
            "search_refusals",
            "search_refusal_codes",
            "search_p50_ms",
            "search_p99_ms",
            "search_rps",
            "notified",
            "notify_p50_s",
            "notify_max_s",
        },
    ),
}
TIMEOUT_S = 600


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    def result(self) -> dict[str, object]:
        lines = self.stdout.strip().splitlines()
        assert self.returncode == 0, self.stderr[-3000:]
        assert lines, self.stderr[-3000:]
        parsed = json.loads(lines[-1])
        assert isinstance(parsed, dict), lines[-1]
        return parsed


@pytest.fixture(scope="module")
def runs(servers: tuple[str, str]) -> dict[str, Run]:
    """Every bench at its tiny size, all at once, each on its own copy of one migrated
    database."""
    admin_url, redis_url = servers
    template = f"povguard_bench_template_{os.getpid()}"
    with migrated_database(admin_url, template):
        env = {
            **os.environ,
            "POVGUARD_DATABASE_URL": admin_url,
            "POVGUARD_BENCH_DATABASE_URL": admin_url,
            "POVGUARD_REDIS_URL": redis_url,
            "POVGUARD_BENCH_TEMPLATE": template,
        }
        started = {
            name: subprocess.Popen(
                [sys.executable, *argv],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name, (argv, _) in BENCHES.items()
        }
        done: dict[str, Run] = {}
        try:
            for name, process in started.items():
                out, err = process.communicate(timeout=TIMEOUT_S)
                done[name] = Run(process.returncode, out, err)
        finally:
            for process in started.values():
                if process.poll() is None:
                    process.kill()
                    process.wait()
    return done


def test_every_bench_script_has_a_smoke_run() -> None:
    scripts = {p.stem for p in (ROOT / "bench").glob("*.py") if not p.name.startswith("_")}
    assert scripts == set(BENCHES)


@pytest.mark.parametrize("name", sorted(BENCHES))
def test_the_bench_runs_at_a_tiny_size_and_prints_its_json(runs: dict[str, Run], name: str) -> None:
    result = runs[name].result()
    assert set(result) == BENCHES[name][1]

"""What ships to watch Povguard (deploy/monitoring, the Kubernetes components): the rules pass
Prometheus's own checker and unit tests, every dashboard panel and every rule queries metrics
the processes really expose, and the Operator's and KEDA's objects match their CRD schemas."""

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from shared.pagination import encode_cursor
from tests.conftest import ApiClient, wire_app
from tests.deploy.test_manifests import DEPLOY, ROOT, run, tool
from workers.observability import WorkerEndpoint

MONITORING = DEPLOY / "monitoring"
RULES = MONITORING / "rules" / "povguard.yml"
DASHBOARDS = sorted((MONITORING / "grafana" / "dashboards").glob("*.json"))
CRDS = Path(__file__).parent / "crds"
# A metric named in PromQL: not part of a recording rule's name (those hold colons).
METRIC = re.compile(r"(?<![:\w])povguard_[a-z0-9_]+(?![:\w])")
RECORDED = re.compile(r"\b[a-z_]*:[a-z0-9_:]+\b")
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum")}


def promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool is missing: .ci/run installs Debian's prometheus package"
    return found


def test_the_rules_pass_promtool_and_their_unit_tests() -> None:
    checked = run(promtool(), "check", "rules", RULES)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = run(promtool(), "test", "rules", MONITORING / "rules" / "povguard.test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_promtool_refuses_a_broken_rule(tmp_path: Path) -> None:
    broken = tmp_path / "rules.yml"
    broken.write_text(RULES.read_text().replace("> 0.02", "> > 0.02", 1))
    assert run(promtool(), "check", "rules", broken).returncode != 0


def test_the_prometheus_configuration_passes_promtool() -> None:
    checked = run(promtool(), "check", "config", "--syntax-only", MONITORING / "prometheus.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def exposed_names(text: str) -> set[str]:
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ()))
    return names


@pytest.fixture
async def exposed(settings: Any, session_maker: Any, queue: Any) -> set[str]:
    """Every metric name the three APIs and a worker expose, scraped as Prometheus would."""
    from services.funds.app import create_app as funds_app
    from services.monitoring.app import create_app as monitoring_app
    from services.monitoring.projection.repository import ProjectionRepository
    from services.monitoring.projection.service import FEED
    from services.registry.app import create_app as registry_app

    # The projection's gauges need a projection that has followed the feed once.
    async with session_maker() as session, session.begin():
        await ProjectionRepository(session).save_cursor(FEED, encode_cursor([1]), 1)
    names: set[str] = set()
    for create in (registry_app, monitoring_app, funds_app):
        app = wire_app(create(settings), session_maker, queue)
        async with ApiClient(app, settings) as client:
            response = await client.get("/metrics")
            assert response.status_code == 200
            names |= exposed_names(response.text)
    _, _, body = await WorkerEndpoint(queue, settings.queue_name).answer("/metrics")
    return names | exposed_names(body.decode())


def rule_groups() -> list[dict[str, Any]]:
    return yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]


def queries() -> list[tuple[str, str]]:
    """(where, PromQL) for every rule and every dashboard panel."""
    found = [
        (rule.get("alert") or rule["record"], rule["expr"])
        for group in rule_groups()
        for rule in group["rules"]
    ]
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text(encoding="utf-8"))["panels"]:
            found += [(f"{path.name}: {panel['title']}", t["expr"]) for t in panel["targets"]]
    return found


async def test_every_rule_and_panel_queries_metrics_that_exist(exposed: set[str]) -> None:
    recorded = {r["record"] for g in rule_groups() for r in g["rules"] if "record" in r}
    missing = [
        (where, name)
        for where, expr in queries()
        for name in METRIC.findall(expr)
        if name not in exposed
    ]
    assert missing == []
    unknown_records = [
        (where, name)
        for where, expr in queries()
        for name in RECORDED.findall(expr)
        if name not in recorded
    ]
    assert unknown_records == []


async def test_the_metric_check_sees_a_misspelt_metric(exposed: set[str]) -> None:
    assert "povguard_queue_ready" in exposed
    assert METRIC.findall("max(povguard_queue_redy) + service:povguard_x:rate5m") == [
        "povguard_queue_redy"
    ]
    assert "povguard_queue_redy" not in exposed


def test_the_dashboards_cover_the_system_and_compose_provisions_them() -> None:
    titles = {json.loads(p.read_text(encoding="utf-8"))["title"] for p in DASHBOARDS}
    assert {p.stem for p in DASHBOARDS} == {"overview", "registry", "monitoring", "funds", "worker"}
    assert all("Povguard" in title for title in titles)
    for path in DASHBOARDS:
        board = json.loads(path.read_text(encoding="utf-8"))
        assert board["panels"], path.name
        assert all(
            p["targets"] and p["datasource"]["uid"] == "povguard-prometheus"
            for p in board["panels"]
        )
    datasource = yaml.safe_load(
        (MONITORING / "grafana/provisioning/datasources/prometheus.yml").read_text()
    )["datasources"][0]
    assert datasource["uid"] == "povguard-prometheus"
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    assert (
        "./monitoring/grafana/dashboards:/var/lib/grafana/dashboards:ro"
        in compose["grafana"]["volumes"]
    )
    assert "./monitoring/rules:/etc/prometheus/rules:ro" in compose["prometheus"]["volumes"]
    # The worker's metrics listen beyond its own container, where Prometheus scrapes them.
    assert compose["worker"]["environment"]["POVGUARD_WORKER_METRICS_HOST"] == "0.0.0.0"


def test_the_kubernetes_prometheus_rule_is_the_rules_file() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "prometheus_rule", MONITORING / "prometheus_rule.py"
    )
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    shipped = DEPLOY / "k8s/components/monitoring/prometheus-rule.yaml"
    assert shipped.read_text(encoding="utf-8") == module.render(), (
        "regenerate it: python deploy/monitoring/prometheus_rule.py"
    )


def strict(schema: Any) -> Any:
    """As the API server's strict field validation: an object schema with properties refuses
    a property it does not name (unless it says it keeps unknown fields)."""
    if isinstance(schema, dict):
        schema = {k: strict(v) for k, v in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
    elif isinstance(schema, list):
        schema = [strict(v) for v in schema]
    return schema


def crd_schemas() -> dict[tuple[str, str], Any]:
    schemas = {}
    for path in CRDS.glob("*.json"):
        crd = json.loads(path.read_text())
        schemas[(crd["apiVersion"], crd["kind"])] = strict(crd["schema"])
    return schemas


def validate(obj: dict[str, Any], schema: Any) -> None:
    # CRD schemas are OpenAPI v3 (a JSON Schema draft 4 dialect); metadata is the API server's.
    jsonschema.Draft4Validator(schema).validate({k: v for k, v in obj.items() if k != "metadata"})


def production(tmp_path: Path) -> list[dict[str, Any]]:
    """The production overlay rendered as a deployer would: secrets.env written first by the
    shipped generator, never taken from git."""
    k8s = tmp_path / "k8s"
    shutil.copytree(DEPLOY / "k8s", k8s)
    overlay = k8s / "overlays" / "production"
    made = subprocess.run(
        [overlay / "generate-secrets.sh", "postgresql://povguard:pw@db:5432/povguard"],
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    built = run(tool("kubectl"), "kustomize", overlay)
    assert built.returncode == 0, built.stderr
    return [o for o in yaml.safe_load_all(built.stdout) if o]


def test_operator_and_keda_objects_match_their_crds(tmp_path: Path) -> None:
    schemas = crd_schemas()
    objects = production(tmp_path)
    custom = [o for o in objects if (o["apiVersion"], o["kind"]) in schemas]
    assert {o["kind"] for o in custom} == {
        "ServiceMonitor",
        "PodMonitor",
        "PrometheusRule",
        "ScaledObject",
    }
    for obj in custom:
        validate(obj, schemas[(obj["apiVersion"], obj["kind"])])
    broken = next(o for o in custom if o["kind"] == "ScaledObject")
    broken["spec"]["minReplicaCont"] = 1
    with pytest.raises(jsonschema.ValidationError, match="minReplicaCont"):
        validate(broken, schemas[(broken["apiVersion"], broken["kind"])])


def test_workers_scale_on_the_queue_with_room_for_the_measured_import(tmp_path: Path) -> None:
    objects = production(tmp_path)
    scaled = next(o for o in objects if o["kind"] == "ScaledObject")
    assert scaled["spec"]["scaleTargetRef"]["name"] == "worker"
    assert "povguard_queue_ready" in scaled["spec"]["triggers"][0]["metadata"]["query"]
    worker = next(
        o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "worker"
    )
    limits = worker["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    measured_peak_mib = 781  # bench/registry_import.py, a 79 MB ledger in one worker process
    assert int(limits["memory"].removesuffix("Gi")) * 1024 >= 2 * measured_peak_mib


def test_no_secrets_file_is_in_git() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "deploy"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert not [p for p in tracked if p.endswith("secrets.env") or p.endswith("/.env")]
    assert "deploy/k8s/overlays/production/secrets.env.example" in tracked

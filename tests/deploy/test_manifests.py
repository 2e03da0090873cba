"""Every file in deploy/ passes the ecosystem's own validator, so a broken manifest is a red CI:
hadolint on the Dockerfile, the Compose specification on compose.yaml, nginx's parser on the
proxy config, and the Kubernetes schemas (strict: no unknown field) on what kustomize renders
for the base and each overlay.
The tools come from the dev extra; each check is also shown to fail on a broken copy."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUSTOMIZATIONS = [DEPLOY / "k8s" / "base", *sorted((DEPLOY / "k8s" / "overlays").iterdir())]


def tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert found, f"{name} is missing: `make install` installs it with the dev extra"
    return found


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120)


def hadolint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    return run(tool("hadolint"), "--no-color", "--failure-threshold", "error", dockerfile)


def compose_check(compose: Path) -> subprocess.CompletedProcess[str]:
    return run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", compose)


def deployable(directory: Path, tmp_path: Path) -> Path:
    """A copy of deploy/k8s where an overlay that needs secrets.env (never in git) has one,
    written by its own generator as a deployer would."""
    k8s = tmp_path / "k8s-copy"
    if not k8s.exists():
        shutil.copytree(DEPLOY / "k8s", k8s)
    copy = k8s / directory.relative_to(DEPLOY / "k8s")
    generator = copy / "generate-secrets.sh"
    if generator.exists() and not (copy / "secrets.env").exists():
        url = "postgresql://povguard:pw@db:5432/povguard"
        subprocess.run([generator, url], capture_output=True, check=True)
    return copy


def kubernetes_check(directory: Path, rendered: Path) -> subprocess.CompletedProcess[str]:
    if DEPLOY in directory.parents:
        directory = deployable(directory, rendered.parent)
    built = run(tool("kubectl"), "kustomize", directory)
    if built.returncode != 0:
        return built
    rendered.write_text(built.stdout)
    return run(tool("kubernetes-validate"), "--strict", "--quiet", rendered)


def test_the_dockerfile_passes_hadolint() -> None:
    result = hadolint(DEPLOY / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_a_broken_dockerfile(tmp_path: Path) -> None:
    broken = tmp_path / "Dockerfile"
    # DL3000 (error): a relative WORKDIR.
    broken.write_text((DEPLOY / "Dockerfile").read_text() + "WORKDIR relative/dir\n")
    result = hadolint(broken)
    assert result.returncode != 0
    assert "DL3000" in result.stdout


def test_compose_follows_the_compose_specification() -> None:
    result = compose_check(DEPLOY / "compose.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_check_fails_a_broken_compose_file(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    text = (DEPLOY / "compose.yaml").read_text()
    assert "condition: service_completed_successfully" in text
    broken.write_text(text.replace("service_completed_successfully", "service_finished"))
    assert compose_check(broken).returncode != 0


def nginx_check(conf: Path, tmp_path: Path) -> tuple[str, list[dict]]:
    """crossplane (nginx's own parser, as a library) on the file as nginx includes it: inside
    http {}. It checks each directive's name, context and arguments; the upstream hosts exist
    only on the compose network, so `nginx -t` could not be run here."""
    import json

    main = tmp_path / "nginx.conf"
    main.write_text(f"events {{}}\nhttp {{\n    include {conf};\n}}\n")
    result = run(tool("crossplane"), "parse", main)
    assert result.returncode == 0, result.stderr
    parsed = json.loads(result.stdout)
    return parsed["status"], parsed["errors"]


def test_the_proxy_config_parses_as_nginx_config(tmp_path: Path) -> None:
    status, errors = nginx_check(DEPLOY / "nginx" / "povguard.conf", tmp_path)
    assert (status, errors) == ("ok", [])


def test_the_proxy_check_fails_a_broken_directive(tmp_path: Path) -> None:
    broken = tmp_path / "povguard.conf"
    text = (DEPLOY / "nginx" / "povguard.conf").read_text()
    broken.write_text(text.replace("proxy_read_timeout 300s;", "proxy_read_timeout;"))
    status, errors = nginx_check(broken, tmp_path)
    assert status == "failed"
    assert "proxy_read_timeout" in errors[0]["error"]


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda p: p.name)
def test_each_kustomization_renders_to_valid_kubernetes_objects(
    directory: Path, tmp_path: Path
) -> None:
    result = kubernetes_check(directory, tmp_path / "rendered.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_kubernetes_check_fails_an_unknown_field(tmp_path: Path) -> None:
    base = tmp_path / "base"
    shutil.copytree(DEPLOY / "k8s" / "base", base)
    worker = base / "worker.yaml"
    worker.write_text(worker.read_text().replace("  replicas: 2\n", "  replicaz: 2\n", 1))
    result = kubernetes_check(base, tmp_path / "rendered.yaml")
    assert result.returncode != 0
    assert "replicaz" in result.stdout + result.stderr


def test_every_api_has_probes_an_autoscaler_and_a_disruption_budget(tmp_path: Path) -> None:
    import yaml

    production = deployable(DEPLOY / "k8s" / "overlays" / "production", tmp_path)
    built = run(tool("kubectl"), "kustomize", production)
    assert built.returncode == 0, built.stderr
    objects = [o for o in yaml.safe_load_all(built.stdout) if o]
    by_kind: dict[str, dict[str, dict]] = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], {})[obj["metadata"]["name"]] = obj
    for api in ("registry", "monitoring", "funds"):
        container = by_kind["Deployment"][api]["spec"]["template"]["spec"]["containers"][0]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["resources"]["limits"]
        assert container["resources"]["requests"]
        assert api in by_kind["HorizontalPodAutoscaler"]
        assert api in by_kind["PodDisruptionBudget"]
    assert "worker" in by_kind["Deployment"]
    assert "migrate" in by_kind["Job"]
    assert set(by_kind["NetworkPolicy"]) == {"postgres-clients-only", "redis-clients-only"}


def test_the_county_install_starts_apis_and_workers_only_after_the_migrations() -> None:
    import yaml

    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    for name in ("registry", "monitoring", "funds", "worker"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name
    for api in ("registry", "monitoring", "funds"):
        assert "healthcheck" in services[api]["healthcheck"]["test"]
    assert services["worker"]["deploy"]["replicas"] == 2
    # Only the proxy is published; Grafana (profile "monitoring") only on the loopback.
    published = [
        name
        for name, svc in services.items()
        if any(not str(port).startswith("127.0.0.1:") for port in svc.get("ports", []))
    ]
    assert published == ["proxy"]
    proxy_conf = (DEPLOY / "nginx" / "povguard.conf").read_text()
    for api in ("registry", "monitoring", "funds"):
        assert f"location /{api}/" in proxy_conf


def test_only_the_apis_workers_and_migration_carry_the_database_client_label(
    tmp_path: Path,
) -> None:
    import yaml

    production = deployable(DEPLOY / "k8s" / "overlays" / "production", tmp_path)
    built = run(tool("kubectl"), "kustomize", production)
    assert built.returncode == 0, built.stderr
    clients = {
        obj["metadata"]["name"]
        for obj in yaml.safe_load_all(built.stdout)
        if obj
        and obj["kind"] in {"Deployment", "Job"}
        and obj["spec"]["template"]["metadata"]["labels"].get("povguard.io/database-client")
        == "true"
    }
    assert clients == {"registry", "monitoring", "funds", "worker", "migrate"}


# -- /metrics never through the proxy (issue 19.5) -------------------------------------------


def _normalized(uri: str) -> str:
    """The path nginx matches locations against: decoded, slashes merged, dot segments
    resolved (ngx_http_parse_complex_uri), query dropped."""
    from posixpath import normpath
    from urllib.parse import unquote

    path = unquote(uri.split("?", 1)[0])
    merged = re.sub(r"/{2,}", "/", path)
    resolved = normpath(merged)
    return resolved + ("/" if merged.endswith("/") and resolved != "/" else "")


def _location(server: list[dict], path: str) -> list[dict]:
    """The block of the location nginx picks for ``path``: an exact match, else the longest
    prefix if it is ``^~``, else the first matching regex, else the longest prefix."""
    exact, prefixes, regexes = {}, [], []
    for directive in server:
        if directive["directive"] != "location":
            continue
        args, block = directive["args"], directive["block"]
        if args[0] == "=":
            exact[args[1]] = block
        elif args[0] in ("~", "~*"):
            flags = re.IGNORECASE if args[0] == "~*" else 0
            regexes.append((re.compile(args[1], flags), block))
        else:
            caret = args[0] == "^~"
            prefixes.append((args[-1], caret, block))
    if path in exact:
        return exact[path]
    longest = max((p for p in prefixes if path.startswith(p[0])), key=lambda p: len(p[0]))
    if longest[1]:
        return longest[2]
    for pattern, block in regexes:
        if pattern.search(path):
            return block
    return longest[2]


def _server(tmp_path: Path) -> list[dict]:
    import json

    main = tmp_path / "nginx.conf"
    main.write_text(
        f"events {{}}\nhttp {{\n    include {DEPLOY / 'nginx' / 'povguard.conf'};\n}}\n"
    )
    result = run(tool("crossplane"), "parse", "--combine", main)
    assert result.returncode == 0, result.stderr
    parsed = json.loads(result.stdout)["config"][0]["parsed"]
    [http] = [d for d in parsed if d["directive"] == "http"]
    [server] = [d for d in http["block"] if d["directive"] == "server"]
    return list(server["block"])


@pytest.mark.parametrize(
    "uri",
    [
        f"/{service}{spelling}"
        for service in ("registry", "monitoring", "funds")
        for spelling in (
            "/metrics",
            "//metrics",
            "/metrics/",
            "/METRICS",
            "/%6detrics",
            "/%6D%65trics?x=1",
            "/./metrics",
            "/v1/../metrics",
            "/metrics;x",
        )
    ]
    + ["/metrics", "//registry/metrics"],
)
def test_the_proxy_never_serves_metrics(uri: str, tmp_path: Path) -> None:
    block = _location(_server(tmp_path), _normalized(uri))
    assert not any(d["directive"] == "proxy_pass" for d in block), uri
    assert [d["args"] for d in block if d["directive"] == "return"] == [["404"]]


def test_the_proxy_still_serves_the_apis(tmp_path: Path) -> None:
    server = _server(tmp_path)
    for uri in ("/registry/v1/households", "/monitoring/v1/alerts", "/funds/healthz"):
        block = _location(server, _normalized(uri))
        assert [d["directive"] for d in block] == ["proxy_pass"], uri

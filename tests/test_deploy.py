"""Deployment files: `make validate` passes on the repository and fails on broken
copies (a compose file either Compose version rejects, an unknown setting, an
unknown command, a kustomize or Terraform error, a checkov finding); the compose
stack is the one the distributed tests run; the health check and migrate commands
the deployments use work."""

from __future__ import annotations

import http.server
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from tests import compose_stack
from tests.conftest import fresh_database, require_service
from tests.server import REPO

VALIDATE = REPO / "deploy" / "validate.py"
CHECKOV = REPO / ".tools" / "venv" / "bin" / "checkov"


def _require_tool(name: str, found: bool) -> None:
    if found:
        return
    message = f"{name} is not installed (`make tools` installs it)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: the deployment checks are required)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def tools() -> None:
    _require_tool("docker-compose", shutil.which("docker-compose") is not None)
    _require_tool(
        "kubectl or kustomize",
        bool(shutil.which("kubectl") or shutil.which("kustomize")),
    )
    _require_tool("checkov", CHECKOV.is_file())


def validate(root: Path, only: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(VALIDATE),
            "--root",
            str(root),
            "--only",
            only,
            "--checkov",
            str(CHECKOV),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The deployment files, copied: a tree to break."""
    root = tmp_path / "repo"
    root.mkdir()
    copy_deployment(root)
    return root


@pytest.fixture(scope="module")
def sound_copy(
    tools: None, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], None]:
    """Asserts that an unbroken copy passes the ``only`` checks, run once per
    set of checks in the module (what a breakage test breaks was sound)."""
    passed: set[str] = set()

    def check(only: str) -> None:
        if only in passed:
            return
        root = tmp_path_factory.mktemp("sound")
        copy_deployment(root)
        done = validate(root, only)
        assert done.returncode == 0, done.stdout + done.stderr
        passed.add(only)

    return check


def copy_deployment(root: Path) -> None:
    shutil.copy(REPO / "docker-compose.yml", root)
    shutil.copy(REPO / "Dockerfile", root)
    shutil.copytree(REPO / "deploy", root / "deploy")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_the_repository_validates(tools: None) -> None:
    done = validate(REPO, "compose,k8s,terraform,env")
    assert done.returncode == 0, done.stdout + done.stderr
    # Every part ran: each stack, each overlay, Terraform and the Dockerfile.
    for expected in (
        "stack full",
        "stack gpu",
        "stack observability",
        "deploy/k8s/overlays/cpu",
        "deploy/k8s/overlays/gpu",
        "checkov terraform: Passed checks",
        "checkov dockerfile: Passed checks",
    ):
        assert expected in done.stdout, done.stdout


Break = Callable[[Path], None]


def _gateway_env(extra: str) -> Break:
    def apply(root: Path) -> None:
        edit(
            root / "docker-compose.yml",
            '      DALSTON_REALTIME_CAPACITY: "0"\n',
            f'      DALSTON_REALTIME_CAPACITY: "0"\n      {extra}\n',
        )

    return apply


def _command(old: str, new: str) -> Break:
    return lambda root: edit(root / "docker-compose.yml", old, new)


@pytest.mark.parametrize(
    ("only", "breakage", "expected"),
    [
        pytest.param(
            "compose",
            _command(
                "      postgres:\n        condition: service_healthy\n",
                "      postgres:\n        condition: service_healthy\n"
                "        required: true\n",
            ),
            r"stack full: docker-compose 1\.29 rejects it:.*required",
            id="compose-1.29-rejects-required",
        ),
        pytest.param(
            "compose",
            _command("    restart: unless-stopped\n", "    restrat: unless-stopped\n"),
            r"docker-compose\.yml: not valid Compose \(v2 specification\).*restrat",
            id="compose-v2-rejects-unknown-key",
        ),
        pytest.param(
            "compose,env",
            _gateway_env('DALSTON_NO_SUCH_SETTING: "1"'),
            r"service gateway: DALSTON_NO_SUCH_SETTING is not a Dalston setting",
            id="unknown-setting",
        ),
        pytest.param(
            "compose,env",
            _gateway_env('DALSTON_MAX_UPLOAD_BYTE: "1"'),
            r"did you mean DALSTON_MAX_UPLOAD_BYTES\?",
            id="misspelt-setting",
        ),
        pytest.param(
            "compose,env",
            _command('command: ["orchestrator"]', 'command: ["orchestrater"]'),
            r"service orchestrator: command .*no such command 'orchestrater' "
            r"\(did you mean 'orchestrator'\?\)",
            id="unknown-command",
        ),
        pytest.param(
            "compose,env",
            _command('"--engine", "audio-redact"', '"--engin", "audio-redact"'),
            r"service worker-redact: command .*No such option: --engin",
            id="unknown-option",
        ),
        pytest.param(
            "compose,env",
            _command('"--engine", "audio-redact"', '"--engine", "whisperx"'),
            r"service worker-redact: command .*unknown engine 'whisperx'",
            id="unknown-engine",
        ),
        pytest.param(
            "compose,env",
            lambda root: edit(
                root / "docker-compose.yml",
                '["CMD", "dalston", "healthcheck", "--queue"]',
                '["CMD", "dalston", "healthcheck", "--queu"]',
            ),
            r"healthcheck .*No such option: --queu",
            id="unknown-healthcheck-option",
        ),
    ],
)
def test_a_broken_compose_file_fails(
    tools: None,
    copy: Path,
    sound_copy: Callable[[str], None],
    only: str,
    breakage: Break,
    expected: str,
) -> None:
    sound_copy(only)  # unbroken, a copy passes these checks
    breakage(copy)
    done = validate(copy, only)
    assert done.returncode == 1, done.stdout
    assert re.search(expected, done.stdout), done.stdout


def test_a_broken_kubernetes_overlay_fails(tools: None, copy: Path) -> None:
    base = copy / "deploy" / "k8s" / "base"
    edit(
        base / "config.yaml",
        "  DALSTON_DATA_DIR: /data\n",
        "  DALSTON_DATADIR: /data\n",
    )
    edit(base / "workers.yaml", '"--engine", "audio-prepare"', '"--engine", "nope"')
    edit(
        copy / "deploy" / "k8s" / "overlays" / "gpu" / "kustomization.yaml",
        "  - path: gpu-whisper.yaml",
        "  - path: gpu-missing.yaml",
    )
    done = validate(copy, "k8s,env")
    assert done.returncode == 1, done.stdout
    assert re.search(
        r"overlays/cpu ConfigMap/dalston-config.*: DALSTON_DATADIR is not a Dalston "
        r"setting.*did you mean DALSTON_DATA_DIR",
        done.stdout,
    ), done.stdout
    assert re.search(
        r"Deployment/dalston-worker-prepare container worker: args .*unknown engine",
        done.stdout,
    ), done.stdout
    assert re.search(r"overlays/gpu: kustomize: .*gpu-missing", done.stdout)


def test_broken_terraform_fails(tools: None, copy: Path) -> None:
    tf = copy / "deploy" / "terraform" / "aws"
    # A waiver taken out: checkov's finding is a failure.
    edit(tf / "alb.tf", "  #checkov:skip=CKV_AWS_260:", "  # was a waiver: ")
    done = validate(copy, "terraform")
    assert done.returncode == 1, done.stdout
    assert "checkov terraform: CKV_AWS_260 aws_security_group.alb" in done.stdout
    # HCL that does not parse.
    (tf / "broken.tf").write_text('resource "aws_s3_bucket" "x" {\n  bucket = \n')
    done = validate(copy, "terraform")
    assert re.search(r"broken\.tf: HCL does not parse", done.stdout), done.stdout


def test_compose_runs_what_the_distributed_tests_run() -> None:
    """Every Dalston service of docker-compose.yml is started by the distributed
    tests through tests/compose_stack.py (gateway, orchestrator, migrations,
    realtime worker and a worker per engine the stack runs)."""
    from tests.test_distributed import ENRICHMENT_ENGINES

    roles = compose_stack.roles()
    workers = {
        r.args[2] for r in roles.values() if r.args[:2] == ("worker", "--engine")
    }
    started_by_tests = {"audio-prepare", "faster-whisper", *ENRICHMENT_ENGINES}
    assert workers == started_by_tests
    others = {name for name, r in roles.items() if r.args[0] != "worker"}
    assert others == {"migrations", "gateway", "orchestrator", "realtime-worker"}
    for engine in workers:
        assert compose_stack.worker_service(engine) in roles
    # The infrastructure endpoints are all the tests replace.
    gateway = roles["gateway"]
    assert gateway.env["DALSTON_REALTIME_CAPACITY"] == "0"
    assert not set(gateway.env) & compose_stack.INFRA_ENV


def test_dashboards_and_scalers_use_exported_metrics() -> None:
    """Every dalston_* series the Grafana dashboard and the KEDA scalers query is
    one /metrics exports."""
    from prometheus_client import generate_latest

    from dalston.gateway.metrics import REGISTRY

    exported: set[str] = set()
    for line in generate_latest(REGISTRY).decode().splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            exported.add(name)  # counters already end in _total
            if kind == "histogram":  # queried by its series
                exported |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    queried: set[str] = set()
    for path in [
        REPO / "deploy/observability/grafana/dashboards/dalston.json",
        REPO / "deploy/k8s/base/keda.yaml",
    ]:
        queried |= set(re.findall(r"\b(dalston_[a-z_]+)\b", path.read_text()))
    assert queried, "no dalston_* query found"
    assert queried <= exported, queried - exported


# --- the commands the deployments run ---------------------------------------------


def _dalston(*args: str, env: dict[str, str] | None = None) -> int:
    return subprocess.run(
        [sys.executable, "-m", "dalston", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        timeout=60,
    ).returncode


@pytest.fixture
def http_status() -> Iterator[tuple[str, list[int]]]:
    status = [200]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status[0])
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/health", status
    server.shutdown()


def test_healthcheck_url(http_status: tuple[str, list[int]]) -> None:
    url, status = http_status
    assert _dalston("healthcheck", "--url", url) == 0
    status[0] = 503
    assert _dalston("healthcheck", "--url", url) == 1
    assert _dalston("healthcheck", "--url", "http://127.0.0.1:9/health") == 1
    assert _dalston("healthcheck") == 2  # neither --url nor --queue


def test_healthcheck_queue_follows_this_hosts_liveness_key() -> None:
    require_service("Redis", "127.0.0.1", 6379)
    prefix = f"dalston-test-{uuid.uuid4().hex[:8]}"
    env = {"REDIS_URL": "redis://127.0.0.1:6379/0", "DALSTON_REDIS_PREFIX": prefix}
    client = redis.Redis.from_url(env["REDIS_URL"])
    try:
        assert _dalston("healthcheck", "--queue", env=env) == 1
        # Another host's consumer does not make this one healthy.
        client.set(f"{prefix}:consumer:elsewhere:1:abcd", "1", px=5000)
        assert _dalston("healthcheck", "--queue", env=env) == 1
        client.set(f"{prefix}:consumer:{socket.gethostname()}:1:abcd", "1", px=5000)
        assert _dalston("healthcheck", "--queue", env=env) == 0
        down = {**env, "REDIS_URL": "redis://127.0.0.1:9/0"}
        assert _dalston("healthcheck", "--queue", env=down) == 1
    finally:
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)
        client.close()


def test_migrate_brings_a_new_database_to_head(tmp_path: Path) -> None:
    import asyncio

    import asyncpg
    from alembic.script import ScriptDirectory

    from dalston.db.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with fresh_database() as url:
        env = {"DATABASE_URL": url, "DALSTON_DATA_DIR": str(tmp_path)}
        assert _dalston("migrate", env=env) == 0
        assert _dalston("migrate", env=env) == 0  # again: nothing to do

        async def version() -> str:
            conn = await asyncpg.connect(url.replace("+asyncpg", ""))
            try:
                return str(
                    await conn.fetchval("SELECT version_num FROM alembic_version")
                )
            finally:
                await conn.close()

        assert asyncio.run(version()) == head

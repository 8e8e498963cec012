"""The distributed stack as docker-compose.yml describes it, for the tests that run
it as processes on this machine (tests/test_distributed.py, tests/test_chaos.py).

Each process gets its compose service's command and environment. Only what the
compose stack's own infrastructure provides is replaced: the database, Redis, S3
endpoint and credentials, the data folder and the HTTP port (the tests run their
own PostgreSQL database, Redis prefix, moto S3 and free ports). So a green
distributed test speaks for the compose stack: a setting added there is used
here, and a command changed there is the command run here.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

from tests.server import REPO, ServerProcess

COMPOSE_FILE = REPO / "docker-compose.yml"
# Provided by the compose stack's infrastructure; the tests bring their own.
INFRA_ENV = frozenset(
    {
        "DATABASE_URL",
        "REDIS_URL",
        "S3_ENDPOINT_URL",
        "DALSTON_S3_BUCKET",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
        "DALSTON_DATA_DIR",
    }
)


@cache
def _validate() -> ModuleType:
    """deploy/validate.py: one reader of compose files (interpolation, anchors)."""
    spec = importlib.util.spec_from_file_location(
        "dalston_deploy_validate", REPO / "deploy" / "validate.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Role:
    service: str
    args: tuple[str, ...]  # after `dalston`, without --host/--port
    env: dict[str, str]  # the service's settings, infrastructure left out


@cache
def roles() -> dict[str, Role]:
    """Every compose service that runs Dalston, by service name."""
    validate = _validate()
    found: dict[str, Role] = {}
    for name, service in validate.compose_services(COMPOSE_FILE).items():
        if not validate.is_dalston(service):
            continue
        command = [str(c) for c in service.get("command") or []]
        args: list[str] = []
        skip = False
        for word in command:
            if skip:
                skip = False
            elif word in ("--host", "--port"):
                skip = True  # the tests bind 127.0.0.1 and a free port
            else:
                args.append(word)
        env = {
            k: str(v)
            for k, v in (service.get("environment") or {}).items()
            if k not in INFRA_ENV
        }
        found[name] = Role(name, tuple(args), env)
    return found


def role(service: str) -> Role:
    return roles()[service]


def worker_service(engine: str) -> str:
    """The compose service that runs ``engine``'s worker."""
    for name, r in roles().items():
        if r.args == ("worker", "--engine", engine):
            return name
    raise LookupError(f"docker-compose.yml runs no worker for engine {engine!r}")


def process(service: str, data_dir: Path, env: dict[str, str]) -> ServerProcess:
    """A ServerProcess running ``service`` as compose would, on the test's own
    infrastructure (``env``: endpoints, and test-only knobs such as a Redis key
    prefix of its own)."""
    r = role(service)
    return ServerProcess(data_dir, {**r.env, **env}, r.args)


def run_once(service: str, data_dir: Path, env: dict[str, str]) -> None:
    """A one-shot service (``migrations``) run to completion, as compose runs it
    before the services that depend on it."""
    proc = process(service, data_dir, env)
    data_dir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "dalston", *proc.command],
        env=proc.env,
        cwd=proc.repo,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{service} failed: {done.stderr[-2000:]}"

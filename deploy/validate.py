"""Check every deployment file without running any of it (`make validate`).

- Compose: each stack (docker-compose.yml alone, with deploy/compose/gpu.yml, with
  deploy/compose/observability.yml) through Debian's docker-compose 1.29
  (`config`), and each file, interpolated, plus 1.29's merged output through the
  Compose Specification parser that Compose v2 follows (the `compose_spec` crate's
  Python binding).
- Kubernetes: every overlay in deploy/k8s/overlays rendered by kustomize
  (`kubectl kustomize`, or a `kustomize` binary).
- Terraform: every .tf file in deploy/terraform parsed (python-hcl2), formatted
  (`terraform fmt -check`, where a terraform binary exists) and statically checked
  by checkov, as is the Dockerfile: zero failed checks, each waiver in place with
  its reason.
- Everything Dalston runs in those files: each environment variable it sets is a
  real setting (dalston.config.Settings, or read by the code, or a third-party
  variable listed below with its reader), and each command is a real `dalston`
  command that parses (and `worker --engine` names a real engine).

Usage: python deploy/validate.py [--root DIR] [--only compose,k8s,terraform,env]
Exit status 0 when all is well, 1 with each problem printed otherwise.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped, unused-ignore]

REPO = Path(__file__).resolve().parents[1]

# The compose stacks `make dev-*` starts: files, in order.
STACKS: dict[str, list[str]] = {
    "full": ["docker-compose.yml"],
    "gpu": ["docker-compose.yml", "deploy/compose/gpu.yml"],
    "observability": ["docker-compose.yml", "deploy/compose/observability.yml"],
}
# `make dev-minimal` starts these services of docker-compose.yml (and what they
# depend on).
MINIMAL_SERVICES = ("gateway", "orchestrator", "worker-prepare", "worker-whisper")

# Variables Dalston's containers may set that no Dalston setting reads, each with
# what reads it.
THIRD_PARTY_ENV: dict[str, str] = {
    "AWS_ACCESS_KEY_ID": "boto3 (S3 storage)",
    "AWS_SECRET_ACCESS_KEY": "boto3 (S3 storage)",
    "AWS_SESSION_TOKEN": "boto3 (S3 storage)",
    "AWS_DEFAULT_REGION": "boto3 (S3 storage)",
    "AWS_REGION": "boto3 (S3 storage)",
    "HF_HOME": "huggingface_hub: where hub models are cached",
    "HF_HUB_OFFLINE": "huggingface_hub: never reach the hub",
    "PYTHONUNBUFFERED": "CPython",
    "PYTHONDONTWRITEBYTECODE": "CPython",
    "PATH": "the shell",
    "LD_LIBRARY_PATH": "the dynamic loader (CUDA libraries for CTranslate2)",
    "NVIDIA_VISIBLE_DEVICES": "the NVIDIA container runtime",
    "NVIDIA_DRIVER_CAPABILITIES": "the NVIDIA container runtime",
    "POD_IP": "Kubernetes downward API, used to build DALSTON_ADVERTISE_URL",
}
# The OpenTelemetry SDK reads the OTEL_* variables its specification defines.
THIRD_PARTY_PREFIXES: dict[str, str] = {
    "OTEL_": "OpenTelemetry SDK",
    "PIP_": "pip, in the image's build stages",
}


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def fail(self, where: str, message: str) -> None:
        one_line = " ".join(message.split())  # tools answer over several lines
        self.problems.append(f"{where}: {one_line}")

    def ok(self, message: str) -> None:
        self.notes.append(message)


# --- what Dalston knows ---------------------------------------------------------------


def known_env() -> set[str]:
    """Every variable a Dalston process reads: its settings, and what the code
    reads from the environment directly."""
    from pydantic import AliasChoices

    from dalston.config import Settings

    prefix = str(Settings.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(c).upper() for c in alias.choices if isinstance(c, str))
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{name}".upper())
    pattern = re.compile(
        r"""(?:environ(?:\.get)?\(|environ\[|getenv\()\s*["']([A-Z][A-Z0-9_]*)["']"""
    )
    package = Path(sys.modules["dalston"].__file__ or "").parent
    for source in package.rglob("*.py"):
        names.update(pattern.findall(source.read_text(encoding="utf-8")))
    return names


def env_problem(name: str, known: set[str]) -> str | None:
    if name.upper() in known or name in THIRD_PARTY_ENV:
        return None
    if any(name.startswith(p) for p in THIRD_PARTY_PREFIXES):
        return None
    close = difflib.get_close_matches(name.upper(), sorted(known), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"{name} is not a Dalston setting nor a known third-party variable{hint}"


def command_problem(args: list[str]) -> str | None:
    """Whether ``dalston ARGS`` is a real command line, parsed as the CLI would."""
    import typer

    click: Any
    try:  # typer >= 0.25 carries its own copy of click
        from typer import _click as click
    except ImportError:  # pragma: no cover - older typer uses click itself
        import click

    from dalston.cli.main import app
    from dalston.engine_sdk.registry import ENGINE_CLASSES

    root: Any = typer.main.get_command(app)
    if not args:
        return "no command"
    try:
        with root.context_class(root, info_name="dalston") as ctx:
            cmd = root.get_command(ctx, args[0])
            if cmd is None:
                close = difflib.get_close_matches(args[0], root.list_commands(ctx), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                return f"no such command {args[0]!r}{hint}"
            with cmd.make_context(args[0], list(args[1:]), parent=ctx) as sub:
                engine = sub.params.get("engine")
                if engine is not None and engine not in ENGINE_CLASSES:
                    known = ", ".join(ENGINE_CLASSES)
                    return f"unknown engine {engine!r}; known: {known}"
    except typer.Exit:  # --help, and the like
        return None
    except click.ClickException as exc:
        return exc.format_message()
    return None


# --- compose --------------------------------------------------------------------------

_VAR = re.compile(
    r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable syntax: $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-d},
    ${VAR:?err}, ${VAR?err}."""

    def sub(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        op, arg = match.group(2), match.group(3) or ""
        value = env.get(name)
        if op in (":-", "-"):
            return value if value or (op == "-" and value is not None) else arg
        if op in (":?", "?"):
            if value is None or (op == ":?" and not value):
                raise ValueError(f"${{{name}}} is required: {arg}")
            return value
        return value or ""

    return _VAR.sub(sub, text)


def compose_services(path: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """A compose file's services, interpolated, anchors and merge keys resolved."""
    text = interpolate(path.read_text(encoding="utf-8"), env or {})
    data = yaml.safe_load(text) or {}
    services: dict[str, Any] = data.get("services") or {}
    return services


def is_dalston(service: dict[str, Any]) -> bool:
    image = str(service.get("image", ""))
    return "build" in service or "dalston" in image.split("/")[-1].split(":")[0]


def _healthcheck_args(test: Any) -> list[str] | None:
    if isinstance(test, list) and test and test[0] in ("CMD", "CMD-SHELL"):
        words = test[1:] if test[0] == "CMD" else str(test[1]).split()
        if words and words[0] == "dalston":
            return [str(w) for w in words[1:]]
    return None


def check_compose(root: Path, report: Report, known: set[str] | None) -> None:
    from compose_spec import PyCompose

    files = sorted({f for stack in STACKS.values() for f in stack})
    for rel in files:
        path = root / rel
        if not path.is_file():
            report.fail(rel, "missing")
            continue
        try:
            text = interpolate(path.read_text(encoding="utf-8"), {})
            # Anchors and merge keys resolved, as both Compose versions do.
            PyCompose.from_json(json.dumps(yaml.safe_load(text)))
        except (ValueError, yaml.YAMLError) as exc:
            report.fail(rel, f"not valid Compose (v2 specification): {exc}")
            continue
        report.ok(f"{rel}: Compose specification parse")
        if known is not None:
            for name, service in compose_services(path).items():
                check_service(f"{rel} service {name}", service, known, report)

    full = compose_services(root / "docker-compose.yml")
    for name in MINIMAL_SERVICES:
        if name not in full:
            report.fail("docker-compose.yml", f"dev-minimal needs service {name!r}")

    legacy = shutil.which("docker-compose")
    if legacy is None:
        report.fail(
            "compose", "docker-compose (1.29) not found: `make validate` installs it"
        )
        return
    for stack, stack_files in STACKS.items():
        argv = [legacy, "--project-directory", str(root)]
        for rel in stack_files:
            argv += ["-f", str(root / rel)]
        run = subprocess.run(
            [*argv, "config"],
            capture_output=True,
            text=True,
            cwd=root,
            env={k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")},
        )
        if run.returncode != 0:
            report.fail(
                f"stack {stack}",
                f"docker-compose 1.29 rejects it: {run.stderr.strip()}",
            )
            continue
        try:
            PyCompose.from_yaml(run.stdout)
        except ValueError as exc:
            report.fail(f"stack {stack}", f"merged config not valid Compose v2: {exc}")
            continue
        report.ok(f"stack {stack}: docker-compose 1.29 config, merged v2 parse")


def check_service(
    where: str, service: dict[str, Any], known: set[str], report: Report
) -> None:
    """Env names and commands of a compose service that runs the Dalston image."""
    if not is_dalston(service):
        return
    env = service.get("environment") or {}
    names = (
        list(env) if isinstance(env, dict) else [str(e).split("=", 1)[0] for e in env]
    )
    for name in names:
        if problem := env_problem(name, known):
            report.fail(where, problem)
    command = service.get("command")
    if isinstance(command, str):
        command = command.split()
    if command and (problem := command_problem([str(c) for c in command])):
        report.fail(where, f"command {command}: {problem}")
    health = (service.get("healthcheck") or {}).get("test")
    args = _healthcheck_args(health)
    if args is not None and (problem := command_problem(args)):
        report.fail(where, f"healthcheck {health}: {problem}")


# --- kubernetes -----------------------------------------------------------------------


def kustomize_argv() -> list[str] | None:
    if kubectl := shutil.which("kubectl"):
        return [kubectl, "kustomize"]
    if kustomize := shutil.which("kustomize"):
        return [kustomize, "build"]
    return None


def render_overlay(overlay: Path) -> list[dict[str, Any]]:
    argv = kustomize_argv()
    if argv is None:
        raise RuntimeError("neither kubectl nor kustomize is installed")
    run = subprocess.run([*argv, str(overlay)], capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(run.stderr.strip() or "kustomize failed")
    return [d for d in yaml.safe_load_all(run.stdout) if d]


def _pod_specs(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = doc.get("spec") or {}
    if doc.get("kind") in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        yield (spec.get("template") or {}).get("spec") or {}
    elif doc.get("kind") == "CronJob":
        yield spec["jobTemplate"]["spec"]["template"]["spec"]


def check_k8s(root: Path, report: Report, known: set[str] | None) -> None:
    overlays = sorted(p for p in (root / "deploy/k8s/overlays").iterdir() if p.is_dir())
    if not overlays:
        report.fail("deploy/k8s/overlays", "no overlay")
    for overlay in overlays:
        rel = overlay.relative_to(root)
        try:
            docs = render_overlay(overlay)
        except RuntimeError as exc:
            report.fail(str(rel), f"kustomize: {exc}")
            continue
        report.ok(f"{rel}: kustomize rendered {len(docs)} objects")
        if known is None:
            continue
        for doc in docs:
            name = f"{rel} {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
            if doc.get("kind") == "ConfigMap" and "dalston" in str(
                doc["metadata"]["name"]
            ):
                for key in doc.get("data") or {}:
                    if problem := env_problem(key, known):
                        report.fail(name, problem)
            for pod in _pod_specs(doc):
                for container in [
                    *pod.get("initContainers", []),
                    *pod.get("containers", []),
                ]:
                    if "dalston" not in str(container.get("image", "")):
                        continue
                    where = f"{name} container {container.get('name')}"
                    for var in container.get("env") or []:
                        if problem := env_problem(var["name"], known):
                            report.fail(where, problem)
                    args = [
                        *container.get("command", [])[1:],
                        *container.get("args", []),
                    ]
                    if args and (problem := command_problem([str(a) for a in args])):
                        report.fail(where, f"args {args}: {problem}")
                    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                        exec_ = (container.get(probe) or {}).get("exec")
                        words = [str(w) for w in (exec_ or {}).get("command", [])]
                        if words[:1] == ["dalston"] and (
                            problem := command_problem(words[1:])
                        ):
                            report.fail(where, f"{probe} {words}: {problem}")
    example = root / "deploy/k8s/base/secret.example.env"
    if known is not None and example.is_file():
        for line in example.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                key = line.split("=", 1)[0]
                if problem := env_problem(key, known):
                    report.fail(str(example.relative_to(root)), problem)


# --- terraform and images -------------------------------------------------------------


def check_terraform(root: Path, report: Report, checkov: str | None) -> None:
    import hcl2

    tf_root = root / "deploy/terraform"
    files = sorted(tf_root.rglob("*.tf"))
    if not files:
        report.fail("deploy/terraform", "no .tf files")
    broken = 0
    for path in files:
        try:
            with path.open(encoding="utf-8") as fh:
                hcl2.load(fh)
        except Exception as exc:  # hcl2 raises lark's many error types
            broken += 1
            report.fail(str(path.relative_to(root)), f"HCL does not parse: {exc}")
    if files and not broken:
        report.ok(f"deploy/terraform: {len(files)} files parse")
    if terraform := shutil.which("terraform"):
        run = subprocess.run(
            [terraform, "fmt", "-check", "-recursive", "-list=true", str(tf_root)],
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            report.fail(
                "deploy/terraform",
                f"terraform fmt -check: {run.stdout.strip() or run.stderr.strip()}",
            )
    if checkov is None:
        report.fail("checkov", "not found: `make validate` installs it in .tools/")
        return
    for target, framework in (
        (["-d", str(tf_root)], "terraform"),
        (["-f", str(root / "Dockerfile")], "dockerfile"),
    ):
        run = subprocess.run(
            [
                checkov,
                *target,
                "--framework",
                framework,
                "--compact",
                "--quiet",
                "--skip-download",
                "--output",
                "cli",
            ],
            capture_output=True,
            text=True,
        )
        failed = re.findall(
            r"Check: (\S+): \"([^\"]+)\"\s+FAILED for resource: (\S+)", run.stdout
        )
        if run.returncode != 0 or failed:
            lines = [f"{c} {r} ({n})" for c, n, r in failed] or [
                run.stdout[-2000:] + run.stderr[-2000:]
            ]
            for line in lines:
                report.fail(f"checkov {framework}", line)
        else:
            passed = re.search(
                r"Passed checks: (\d+), Failed checks: 0, Skipped checks: (\d+)",
                run.stdout,
            )
            report.ok(
                f"checkov {framework}: "
                + (passed.group(0) if passed else "no findings")
            )


def check_dockerfile_env(root: Path, report: Report, known: set[str]) -> None:
    text = (root / "Dockerfile").read_text(encoding="utf-8")
    text = text.replace("\\\n", " ")
    for line in text.splitlines():
        if line.strip().upper().startswith("ENV "):
            for name in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", line[4:]):
                if problem := env_problem(name, known):
                    report.fail("Dockerfile ENV", problem)
        match = re.search(r'CMD \["dalston", (.*)\]', line)
        if match:
            args = re.findall(r'"([^"]*)"', match.group(1))
            if problem := command_problem(args):
                report.fail("Dockerfile HEALTHCHECK", f"{args}: {problem}")
        match = re.match(r"CMD \[(.*)\]", line.strip())
        if match and "ENTRYPOINT" in text and '"dalston"' not in match.group(1):
            args = re.findall(r'"([^"]*)"', match.group(1))
            if problem := command_problem(args):
                report.fail("Dockerfile CMD", f"{args}: {problem}")


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=REPO, help="Repository root.")
    parser.add_argument(
        "--only",
        default="compose,k8s,terraform,env",
        help="Comma-separated parts: compose, k8s, terraform, env.",
    )
    parser.add_argument(
        "--checkov",
        default=None,
        help="checkov executable [default: .tools/venv/bin/checkov, else PATH].",
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    root: Path = args.root.resolve()
    parts = {p.strip() for p in args.only.split(",") if p.strip()}
    checkov = args.checkov or next(
        (str(p) for p in [REPO / ".tools/venv/bin/checkov"] if p.is_file()),
        shutil.which("checkov"),
    )
    known = known_env() if "env" in parts else None
    report = Report()
    if "compose" in parts:
        check_compose(root, report, known)
    if "k8s" in parts:
        check_k8s(root, report, known)
    if "terraform" in parts:
        check_terraform(root, report, checkov)
    if known is not None:
        check_dockerfile_env(root, report, known)
    for note in report.notes:
        print(f"ok    {note}")
    for problem in report.problems:
        print(f"FAIL  {problem}")
    print(f"{len(report.problems)} problem(s)")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())

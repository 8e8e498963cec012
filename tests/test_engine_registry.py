"""Engines are declared once (``SPEC`` in each engine package) and everything else
derives from the declarations."""

from __future__ import annotations

import ast
import pkgutil
from pathlib import Path

import pytest

import dalston.engines
from dalston.engine_sdk.registry import (
    ENGINE_CLASSES,
    OPT_IN_ENGINES,
    SPECS,
    engine_class,
    engine_installed,
    install_hint,
    stage_engine,
)
from dalston.orchestrator.dag import build_dag

DALSTON = Path(dalston.engines.__file__).resolve().parent.parent


def test_every_engine_package_declares_one_spec() -> None:
    packages = {m.name for m in pkgutil.iter_modules(dalston.engines.__path__)}
    declared = {spec.target.split(".")[2] for spec in SPECS.values()}
    assert declared == packages
    assert len(SPECS) == len(set(SPECS))
    assert set(ENGINE_CLASSES) == set(SPECS)


@pytest.mark.parametrize("engine_id", sorted(SPECS))
def test_the_engine_class_carries_its_declaration(engine_id: str) -> None:
    if not engine_installed(engine_id):
        pytest.skip(f"{engine_id} is not installed here ({install_hint(engine_id)})")
    cls = engine_class(engine_id)
    assert cls.spec is SPECS[engine_id]
    assert (cls.engine_id, cls.stage) == (engine_id, SPECS[engine_id].stage)


def test_stages_resolve_to_their_engines() -> None:
    dag = build_dag(
        {"align": True, "speaker_detection": "diarize", "redact_pii_audio": True},
        transcribe_engine=stage_engine("transcribe"),
    )
    for spec in dag:
        assert SPECS[spec.engine_id].stage == spec.stage
    assert stage_engine("diarize") not in OPT_IN_ENGINES
    assert stage_engine("diarize", backend="pyannote") in OPT_IN_ENGINES
    assert "pip install 'dalston[" in install_hint(stage_engine("pii"))


def test_no_module_names_an_engine_id() -> None:
    """Only the declarations hold engine-id literals (docstrings aside)."""
    offenders = []
    for path in DALSTON.rglob("*.py"):
        if path.parent.parent.name == "engines" and path.name == "__init__.py":
            continue  # the declarations themselves
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(
                node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
            )
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and node.value in SPECS
                and id(node) not in docstrings
            ):
                offenders.append(f"{path.relative_to(DALSTON)}:{node.lineno}")
    assert not offenders, offenders

"""The engines this installation has, read from their declarations.

Every package under ``dalston.engines`` declares one ``EngineSpec`` as ``SPEC``
(``dalston.engine_sdk.spec``); this module finds them by walking that package,
importing only the packages' light ``__init__`` modules, never an engine. Engine
ids, stages, extras, requirements and opt-in flags are read from the specs: no
other module names an engine.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from functools import cache
from typing import TYPE_CHECKING

from dalston.engine_sdk.spec import EngineSpec

if TYPE_CHECKING:
    from dalston.engine_sdk.base import BatchEngine

# Where engine packages live (a plugin folder, imported by name, not statically).
ENGINES_PACKAGE = "dalston.engines"


def _discover() -> dict[str, EngineSpec]:
    package = importlib.import_module(ENGINES_PACKAGE)
    found: dict[str, EngineSpec] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{ENGINES_PACKAGE}.{info.name}")
        spec = getattr(module, "SPEC", None)
        if not isinstance(spec, EngineSpec):
            continue
        if spec.id in found:
            raise RuntimeError(f"engine id {spec.id!r} is declared twice")
        found[spec.id] = spec
    return found


SPECS: dict[str, EngineSpec] = _discover()
ENGINE_CLASSES: dict[str, str] = {i: s.target for i, s in SPECS.items()}


def stage_engine(stage: str, backend: str | None = None) -> str:
    """The id of the engine serving ``stage``; with several (diarization), the one
    of ``backend``, or the first that is not opt-in."""
    candidates = [s for s in SPECS.values() if s.stage == stage]
    if backend is not None:
        candidates = [s for s in candidates if s.backend == backend]
    elif len(candidates) > 1:
        candidates = [s for s in candidates if not s.opt_in]
    if not candidates:
        raise LookupError(f"no engine serves stage {stage!r} (backend {backend!r})")
    return candidates[0].id


@cache
def engine_installed(engine_id: str) -> bool:
    """True when the engine's optional packages are importable here."""
    if engine_id not in ENGINE_CLASSES:
        return False
    for module in SPECS[engine_id].requirements:
        try:
            if importlib.util.find_spec(module) is None:
                return False
        except (ImportError, ValueError):  # a parent package is missing
            return False
    return True


def installed_engines() -> tuple[str, ...]:
    return tuple(e for e in ENGINE_CLASSES if engine_installed(e))


# Served only when selected by settings (they need a token and network weights).
OPT_IN_ENGINES = frozenset(i for i, s in SPECS.items() if s.opt_in)


def default_engines() -> tuple[str, ...]:
    """Engines an embedded server runs: every installed one but the opt-in ones."""
    return tuple(e for e in installed_engines() if e not in OPT_IN_ENGINES)


def install_hint(engine_id: str) -> str:
    spec = SPECS.get(engine_id)
    extra = spec.extra if spec is not None else None
    return f"pip install 'dalston[{extra}]'" if extra else "reinstall dalston"


def engine_class(engine_id: str) -> type[BatchEngine]:
    try:
        target = ENGINE_CLASSES[engine_id]
    except KeyError:
        raise ValueError(
            f"unknown engine {engine_id!r}; known: {', '.join(ENGINE_CLASSES)}"
        ) from None
    module_name, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    from dalston.engine_sdk.base import BatchEngine

    assert issubclass(cls, BatchEngine)
    return cls

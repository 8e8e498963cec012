"""Model management: what ``/v1/models`` reports, pulls from the hub, removal.

The rules, in one place (routes only translate):

- status: ``downloading`` while a pull runs here (with the bytes in the cache and,
  when the model's size is known, a fraction), ``failed`` (with the reason) when
  the last pull failed and the weights are still missing, else the catalog's
  ``ready`` / ``not_downloaded``; ``loaded``: an engine or realtime worker holds
  the model in memory now.
- pull: only a hub model has anything to download; one already in the cache (or
  from a package or a local folder) is reported present. A pull checks first that
  the hub can be reached (``HF_HUB_OFFLINE`` unset and a TCP connection to the
  hub's host within ``PROBE_TIMEOUT_S``), so an offline server says so at once,
  in the answer and in the model's status. The download then runs in a thread of
  its own, off the event loop, into the Hugging Face cache of this process
  (``HF_HOME``): in distributed mode that is the gateway's, which the workers see
  only if they share it (a volume); a worker that lacks the weights downloads
  them on first use, as before.
- removal: only a hub model's cached weights can be removed, and not while they
  are downloading, loaded, or named by an unfinished job.

Pull progress lives in this process's memory: another gateway reports the model
``not_downloaded`` until the download is complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from dalston.catalog import ModelCatalog, ModelEntry, ModelSource, ModelStatus
from dalston.errors import Conflict, InvalidRequest, NotFound, Unavailable

log = logging.getLogger(__name__)

# How long a pull waits for the hub's host to accept a connection before it
# reports the server offline.
PROBE_TIMEOUT_S = 4.0
_TRUE = {"1", "true", "yes", "on"}


@dataclass
class _Pull:
    repo: str
    started: float = field(default_factory=time.monotonic)
    error: str | None = None
    running: bool = True


@dataclass(frozen=True)
class ModelView:
    """A catalog entry with what this server knows about it now."""

    entry: ModelEntry
    loaded: bool = False
    downloaded_bytes: int | None = None
    download_progress: float | None = None  # 0..1 while downloading / once ready
    error: str | None = None


@dataclass(frozen=True)
class PullOutcome:
    view: ModelView
    started: bool  # False: present already (or a pull of it is under way)
    message: str


def hub_offline() -> bool:
    """``HF_HUB_OFFLINE`` as ``huggingface_hub`` reads it, now."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def hub_endpoint() -> str:
    from huggingface_hub import constants

    return str(os.environ.get("HF_ENDPOINT") or constants.ENDPOINT)


async def probe_hub(endpoint: str, timeout_s: float) -> None:
    """Raise ``Unavailable`` unless the hub's host accepts a TCP connection within
    ``timeout_s`` (name resolution included: it runs in a daemon thread, so a
    resolver that hangs costs the caller no more than the timeout)."""
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    port = parts.port or (80 if parts.scheme == "http" else 443)
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def settle(exc: BaseException | None) -> None:
        if done.done():
            return
        if exc is None:
            done.set_result(None)
        else:
            done.set_exception(exc)

    def connect() -> None:
        error: BaseException | None = None
        try:
            socket.create_connection((host, port), timeout=timeout_s).close()
        except OSError as exc:
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop has closed meanwhile
            loop.call_soon_threadsafe(settle, error)

    threading.Thread(target=connect, name="hub probe", daemon=True).start()
    try:
        await asyncio.wait_for(asyncio.shield(done), timeout_s)
    except TimeoutError:
        raise Unavailable(
            f"The model hub {endpoint} did not answer within {timeout_s:.0f} s: "
            "this server looks offline."
        ) from None
    except OSError as exc:
        raise Unavailable(
            f"The model hub {endpoint} cannot be reached ({exc}): this server "
            "looks offline."
        ) from None


class ModelService:
    def __init__(
        self,
        *,
        catalog: ModelCatalog,
        loaded_models: Callable[[], Awaitable[frozenset[str]]],
        unfinished_jobs: Callable[[str], Awaitable[int]],
        probe_timeout_s: float = PROBE_TIMEOUT_S,
    ) -> None:
        """``loaded_models``: ids held in memory by any engine or realtime worker;
        ``unfinished_jobs``: how many unfinished jobs name a model id."""
        self.catalog = catalog
        self.loaded_models = loaded_models
        self.unfinished_jobs = unfinished_jobs
        self.probe_timeout_s = probe_timeout_s
        self._pulls: dict[str, _Pull] = {}
        self._lock = threading.Lock()

    # --- read -------------------------------------------------------------------
    async def list(self) -> list[ModelView]:
        loaded = await self.loaded_models()

        def views() -> list[ModelView]:
            return [self._view(entry, loaded) for entry in self.catalog.entries()]

        return await asyncio.to_thread(views)

    async def describe(self, model_id: str) -> ModelView:
        entry = await self._entry(model_id)
        return await asyncio.to_thread(self._view, entry, await self.loaded_models())

    async def _entry(self, model_id: str) -> ModelEntry:
        try:
            return await asyncio.to_thread(self.catalog.get, model_id)
        except InvalidRequest as exc:
            raise NotFound(exc.message, param="model_id") from None

    def _view(self, entry: ModelEntry, loaded: frozenset[str]) -> ModelView:
        """The one rule for a model's reported status (module docstring)."""
        with self._lock:
            pull = self._pulls.get(entry.id)
            running, error = (pull.running, pull.error) if pull else (False, None)
        view = ModelView(entry=entry, loaded=entry.id in loaded)
        if entry.source is not ModelSource.HUB or entry.hub_repo is None:
            return view
        if entry.status is ModelStatus.READY and not running:
            return replace(view, download_progress=1.0)
        if running:
            done = self.catalog.cached_bytes(entry.hub_repo)
            progress = None
            if entry.size_bytes:
                progress = round(min(done / entry.size_bytes, 0.99), 4)
            return replace(
                view,
                entry=replace(entry, status=ModelStatus.DOWNLOADING),
                downloaded_bytes=done,
                download_progress=progress,
            )
        if error is not None:
            return replace(
                view, entry=replace(entry, status=ModelStatus.FAILED), error=error
            )
        return view

    # --- pull ---------------------------------------------------------------------
    async def pull(self, model_id: str) -> PullOutcome:
        """Start downloading a hub model in the background (module docstring).
        Raises ``NotFound`` for an unknown id and ``Unavailable`` (recorded as the
        model's ``failed`` status) when the hub cannot be reached."""
        entry = await self._entry(model_id)
        if entry.source is not ModelSource.HUB or entry.hub_repo is None:
            where = (
                "a Python package installed with the server"
                if entry.source is ModelSource.PACKAGE
                else f"a local folder ({entry.local_path})"
            )
            return PullOutcome(
                await self.describe(model_id),
                started=False,
                message=f"Model {model_id} is already present, from {where}: "
                "nothing to download.",
            )
        with self._lock:
            pull = self._pulls.get(model_id)
            busy = pull is not None and pull.running
        if busy:
            return PullOutcome(
                await self.describe(model_id),
                started=False,
                message=f"Model {model_id} is already downloading; GET "
                f"/v1/models/{model_id} shows its progress.",
            )
        if entry.status is ModelStatus.READY:
            with self._lock:
                self._pulls.pop(model_id, None)
            return PullOutcome(
                await self.describe(model_id),
                started=False,
                message=f"Model {model_id} is already in the Hugging Face cache "
                f"({self.catalog.hub_cache_dir}): nothing to download.",
            )
        try:
            await self._check_hub()
        except Unavailable as exc:
            message = f"Cannot download model {model_id}: {exc.message}"
            with self._lock:
                self._pulls[model_id] = _Pull(
                    repo=entry.hub_repo, error=message, running=False
                )
            log.warning("%s", message)
            raise Unavailable(message, param="model_id") from None
        with self._lock:
            if (current := self._pulls.get(model_id)) and current.running:
                started = False  # another request started it meanwhile
            else:
                self._pulls[model_id] = _Pull(repo=entry.hub_repo)
                started = True
        if started:
            threading.Thread(
                target=self._download,
                args=(model_id,),
                name=f"pull {model_id}",
                daemon=True,
            ).start()
            log.info("pull of model %s (%s) started", model_id, entry.hub_repo)
        return PullOutcome(
            await self.describe(model_id),
            started=started,
            message=f"Downloading model {model_id} from the Hugging Face hub "
            f"({entry.hub_repo}) into {self.catalog.hub_cache_dir}; GET "
            f"/v1/models/{model_id} shows its progress.",
        )

    async def _check_hub(self) -> None:
        if hub_offline():
            raise Unavailable(
                "HF_HUB_OFFLINE is set: this server does not download models. "
                "Unset it, or copy the model into DALSTON_MODEL_DIRS."
            )
        await probe_hub(hub_endpoint(), self.probe_timeout_s)

    def _download(self, model_id: str) -> None:
        """The pull's thread."""
        error = None
        started = time.monotonic()
        try:
            self.catalog.download(model_id)
        except Exception as exc:
            error = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        with self._lock:
            pull = self._pulls.get(model_id)
            if pull is not None:
                pull.running = False
                pull.error = error
                if error is None:
                    del self._pulls[model_id]
        if error is None:
            log.info(
                "pull of model %s done in %.1f s", model_id, time.monotonic() - started
            )
        else:
            log.warning("pull of model %s failed: %s", model_id, error)

    # --- delete --------------------------------------------------------------------
    async def delete(self, model_id: str) -> None:
        """Remove a hub model's cached weights (nothing there: nothing to do).
        Raises ``NotFound``, or ``Conflict`` for a model that is not the server's
        to remove or is in use."""
        entry = await self._entry(model_id)
        if entry.source is ModelSource.PACKAGE:
            raise Conflict(
                f"Model {model_id} ships in a Python package installed with the "
                "server; it cannot be removed through the API (uninstall the "
                "package instead).",
                param="model_id",
            )
        if entry.source is ModelSource.LOCAL or entry.hub_repo is None:
            raise Conflict(
                f"Model {model_id} is a local folder ({entry.local_path}) from "
                "DALSTON_MODEL_DIRS; remove the folder itself.",
                param="model_id",
            )
        with self._lock:
            pull = self._pulls.get(model_id)
            if pull is not None and pull.running:
                raise Conflict(
                    f"Model {model_id} is downloading; delete it once the pull "
                    "has finished.",
                    param="model_id",
                )
        if model_id in await self.loaded_models():
            raise Conflict(
                f"Model {model_id} is loaded by an engine or realtime worker. A "
                "batch engine unloads it after DALSTON_MODEL_IDLE_TTL_S without "
                "use; a realtime worker keeps it until it restarts.",
                param="model_id",
            )
        jobs = await self.unfinished_jobs(model_id)
        if jobs:
            raise Conflict(
                f"Model {model_id} is used by {jobs} unfinished job(s); delete it "
                "once they have finished.",
                param="model_id",
            )
        removed = await asyncio.to_thread(self.catalog.remove_download, entry.hub_repo)
        with self._lock:
            self._pulls.pop(model_id, None)
        if removed:
            log.info("model %s: cached weights removed", model_id)

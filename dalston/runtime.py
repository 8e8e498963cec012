"""What one Dalston process runs, built from one ``Settings`` and a role.

Embedded mode (``dalston serve``) runs every role in one process on SQLite, the
in-process queue and a local folder. Distributed mode runs the same code split into
processes (``dalston gateway``, ``dalston orchestrator``, ``dalston worker``) over
PostgreSQL, Redis Streams and S3, chosen by the settings (``DATABASE_URL``,
``REDIS_URL``, ``S3_ENDPOINT_URL``), not by code paths.

Engine overrides: ``Runtime.build(..., engine_classes=[SomeEngine])`` serves the given
classes in place of the registered ones with the same ``engine_id`` (the role still
decides which engine ids run). It is the one seam for tests that want jobs to complete
in milliseconds (a fake transcriber where the unit under test is HTTP or dialect
logic); production code never passes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dalston.auth import bootstrap_admin_key
from dalston.catalog import ModelCatalog
from dalston.config import AuthMode, Settings
from dalston.db.instance import InstanceLock, instance_lock
from dalston.db.migrate import upgrade_to_head
from dalston.db.models import utcnow
from dalston.db.session import create_engine, create_session_factory
from dalston.engine_sdk import BatchEngine, EngineRunner
from dalston.engine_sdk.priority import RealtimeGate
from dalston.engine_sdk.registry import ENGINE_CLASSES, default_engines, engine_class
from dalston.engines.faster_whisper.models import (
    WhisperModels,
    pick_stream_batch_size,
)
from dalston.errors import Unavailable
from dalston.loops import LoopHealth
from dalston.orchestrator import Orchestrator
from dalston.queue import InProcessQueue, TaskQueue
from dalston.queue.registry import (
    InProcessRegistry,
    RedisRegistry,
    WorkerInfo,
    WorkerRegistry,
)
from dalston.realtime_sdk.decoder import StreamDecoder, pool_config
from dalston.realtime_sdk.router import RealtimeWorker, SessionRouter
from dalston.services.audit import AuditLog
from dalston.services.jobs import JobService
from dalston.services.limits import Limits
from dalston.services.models import ModelService
from dalston.services.policy import auto_model
from dalston.services.realtime_sessions import SessionRecords
from dalston.services.request import TranscriptionRequest
from dalston.services.webhook_endpoints import DeliveryLoop, WebhookService
from dalston.storage import ArtifactStore, LocalArtifactStore

log = logging.getLogger(__name__)

_SHUTDOWN_GRACE_S = 5.0
_HEARTBEAT_S = 5.0
# How often the heartbeat loop looks for a change worth reporting at once.
_STATE_CHECK_S = 0.5
# Each readiness check answers within this, or counts as failed.
READY_CHECK_TIMEOUT_S = 2.0
REALTIME_ENGINE = "realtime"


def _remote_realtime_workers(registry: WorkerRegistry) -> Any:
    async def source() -> list[RealtimeWorker]:
        me = f"rt:{socket.gethostname()}:{os.getpid()}"
        return [
            RealtimeWorker(
                id=info.id,
                capacity=info.capacity,
                decoder=None,
                host=info.host,
                url=info.url,
                reported_active=info.active,
                models=info.loaded_models,
            )
            for info in await registry.workers()
            if info.engine_id == REALTIME_ENGINE and info.url and info.id != me
        ]

    return source


def _engines_available(
    role: Role, registry: WorkerRegistry
) -> Callable[[], Awaitable[frozenset[str]]]:
    """Engines a job's stages can use: this process's, and live remote workers'."""

    async def available() -> frozenset[str]:
        remote = {w.engine_id for w in await registry.workers()}
        return frozenset(role.engines) | remote

    return available


def _loaded_models(
    runners: list[EngineRunner], router: SessionRouter, registry: WorkerRegistry
) -> Callable[[], Awaitable[frozenset[str]]]:
    """Models held in memory now: this process's engines and realtime decoders
    (asked directly, so an unload shows at once) and the other processes' workers
    (from their heartbeats)."""
    host, pid = socket.gethostname(), os.getpid()

    async def loaded() -> frozenset[str]:
        ids: set[str] = set()
        for runner in runners:
            ids.update(runner.engine.loaded_models())
        for worker in router.workers.values():
            if worker.decoder is not None:
                ids.update(worker.decoder.models.loaded)
        try:
            workers = await registry.workers()
        except Exception as exc:  # Redis away: report what this process knows
            log.warning("loaded models of other workers unknown: %s", exc)
            workers = []
        for info in workers:
            if not (info.host == host and info.pid == pid):
                ids.update(info.loaded_models)
        return frozenset(ids)

    return loaded


@dataclass(frozen=True)
class Role:
    """Which parts this process runs."""

    api: bool = True  # HTTP gateway state: admin key, job service, realtime
    orchestrator: bool = True  # applies task events, recovers unfinished jobs
    # Batch engines served here: those whose optional packages are installed.
    engines: tuple[str, ...] = field(default_factory=default_engines)
    realtime: bool = True
    # A realtime worker announces itself so gateways can place sessions on it.
    announce_realtime: bool = False

    @classmethod
    def embedded(cls, settings: Settings | None = None) -> Role:
        engines = default_engines()
        if settings is not None and settings.engines:
            unknown = [e for e in settings.engines if e not in ENGINE_CLASSES]
            if unknown:
                raise ValueError(
                    f"DALSTON_ENGINES names unknown engine(s) {', '.join(unknown)}; "
                    f"known: {', '.join(ENGINE_CLASSES)}"
                )
            engines = tuple(settings.engines)
        elif settings is not None and settings.diarization_backend == "pyannote":
            engines = (*engines, settings.diarize_engine)
        return cls(engines=engines)

    @classmethod
    def gateway(cls) -> Role:
        return cls(orchestrator=False, engines=())

    @classmethod
    def orchestrator_only(cls) -> Role:
        return cls(api=False, engines=(), realtime=False)

    @classmethod
    def realtime_worker(cls) -> Role:
        return cls(orchestrator=False, engines=(), announce_realtime=True)

    @classmethod
    def worker(cls, engine_id: str) -> Role:
        return cls(api=False, orchestrator=False, engines=(engine_id,), realtime=False)


def build_queue(settings: Settings) -> TaskQueue:
    if settings.redis_url:
        from dalston.queue import RedisStreamsQueue

        queue: TaskQueue = RedisStreamsQueue(
            settings.redis_url,
            prefix=settings.redis_prefix,
            visibility_timeout_s=settings.queue_visibility_s,
            consumer_ttl_s=settings.queue_consumer_ttl_s,
        )
        return queue
    return InProcessQueue(max_size=settings.queue_max_size)


def build_storage(settings: Settings) -> ArtifactStore:
    if settings.s3_endpoint_url or settings.storage == "s3":
        from dalston.storage import S3ArtifactStore

        store: ArtifactStore = S3ArtifactStore(
            settings.s3_bucket, endpoint_url=settings.s3_endpoint_url
        )
        return store
    return LocalArtifactStore(settings.artifacts_dir)


@dataclass
class Runtime:
    settings: Settings
    role: Role
    db: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    storage: ArtifactStore
    queue: TaskQueue
    registry: WorkerRegistry
    catalog: ModelCatalog
    orchestrator: Orchestrator
    jobs: JobService
    models: ModelService
    router: SessionRouter
    realtime_records: SessionRecords
    # Rate limits and quotas (``services.limits``).
    limits: Limits
    audit: AuditLog
    # /v1/webhooks endpoints, and the durable delivery every API or orchestrator
    # process runs (dalston.services.webhook_endpoints).
    webhook_endpoints: WebhookService
    webhook_delivery: DeliveryLoop
    # Classes served instead of the registered ones, by engine id (module docstring).
    engine_overrides: Mapping[str, type[BatchEngine]] = field(default_factory=dict)
    runners: list[EngineRunner] = field(default_factory=list)
    admin_key: str | None = None
    # Live streams and batch engines in one process: batch work lets streams go
    # first (engine_sdk.priority); None where the process does only one of them.
    realtime_gate: RealtimeGate | None = None
    # The embedded server's hold on its database (``db.instance``).
    instance_lock: InstanceLock | None = None
    process_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    _background: list[asyncio.Task[None]] = field(default_factory=list)
    _runner_tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # Background loops other than the orchestrator's and the runners', by name.
    loops: dict[str, LoopHealth] = field(default_factory=dict)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def build(
        cls,
        settings: Settings,
        role: Role | None = None,
        *,
        engine_classes: Iterable[type[BatchEngine]] = (),
    ) -> Runtime:
        role = role or Role.embedded(settings)
        # Only the embedded server runs both the API and the orchestrator.
        distributed_role = not (role.api and role.orchestrator)
        if distributed_role and not settings.redis_url:
            raise Unavailable(
                "Separate gateway / orchestrator / worker processes share work "
                "through Redis: set REDIS_URL (and DATABASE_URL to PostgreSQL)."
            )
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = create_engine(settings.resolved_database_url)
        sessions = create_session_factory(db)
        storage = build_storage(settings)
        queue = build_queue(settings)
        registry: WorkerRegistry = (
            RedisRegistry(settings.redis_url, prefix=settings.redis_prefix)
            if settings.redis_url
            else InProcessRegistry()
        )
        catalog = settings.catalog()
        orchestrator = Orchestrator(
            session_factory=sessions,
            storage=storage,
            queue=queue,
            max_retries=settings.task_max_retries,
            retry_backoff_s=settings.task_retry_backoff_s,
        )
        limits = Limits(settings=settings, sessions=sessions)
        jobs = JobService(
            limits=limits,
            settings=settings,
            sessions=sessions,
            storage=storage,
            orchestrator=orchestrator,
            catalog=catalog,
            engines_available=_engines_available(role, registry),
        )
        router = SessionRouter(
            remote=_remote_realtime_workers(registry) if settings.redis_url else None
        )
        runners: list[EngineRunner] = []
        return cls(
            # Its queue in memory: it re-dispatches whatever the database says is
            # unfinished, so one such server per database (``db.instance``).
            instance_lock=(
                instance_lock(db) if isinstance(queue, InProcessQueue) else None
            ),
            settings=settings,
            role=role,
            db=db,
            sessions=sessions,
            storage=storage,
            queue=queue,
            registry=registry,
            catalog=catalog,
            orchestrator=orchestrator,
            jobs=jobs,
            models=ModelService(
                catalog=catalog,
                loaded_models=_loaded_models(runners, router, registry),
                unfinished_jobs=jobs.unfinished_with_model,
            ),
            router=router,
            runners=runners,
            realtime_records=SessionRecords(
                sessions=sessions,
                storage=storage,
                heartbeat_s=settings.realtime_heartbeat_s,
                abandoned_after_s=5 * settings.realtime_heartbeat_s,
                spool=settings.data_dir / "spool" / "sessions",
                jobs=jobs,
            ),
            limits=limits,
            audit=AuditLog(sessions),
            engine_overrides={cls.engine_id: cls for cls in engine_classes},
            webhook_endpoints=WebhookService(settings=settings, sessions=sessions),
            webhook_delivery=DeliveryLoop(settings=settings, sessions=sessions),
        )

    # --- lifecycle ------------------------------------------------------------------
    async def start(self) -> None:
        if self.instance_lock is not None:
            await self.instance_lock.acquire()  # before anything reads the database
        try:
            await self._start()
        except BaseException:
            if self.instance_lock is not None:
                await self.instance_lock.release()
            raise

    async def _start(self) -> None:
        await upgrade_to_head(self.db)
        if self.role.api and self.settings.auth is AuthMode.API_KEY:
            async with self.sessions() as session, session.begin():
                self.admin_key = await bootstrap_admin_key(
                    session, self.settings.admin_key_file
                )
        config = self.settings.engine_config()
        if self.role.engines and self.role.realtime and self.settings.realtime_capacity:
            self.realtime_gate = RealtimeGate(self.settings.realtime_batch_pause_s)
        for engine_id in self.role.engines:
            engine_cls = self.engine_overrides.get(engine_id) or engine_class(engine_id)
            engine = engine_cls(config)
            runner = EngineRunner(
                engine,
                self.queue,
                self.storage,
                concurrency=engine.task_slots(),
                max_batch_size=config.max_batch_size,
                task_timeout_s=self.settings.task_timeout_s,
                extend_every_s=self.settings.queue_visibility_s / 3,
                thread_nice=self.settings.engine_nice if self.role.api else 0,
                # Streams decoded in this process go first, batch takes what is left.
                thread_idle=self.realtime_gate is not None
                and self.settings.engine_sched_idle,
                idle_unload_s=self.settings.model_idle_ttl_s,
                gate=self.realtime_gate,
            )
            self.runners.append(runner)
            self._runner_tasks.append(
                self._spawn(runner.run(), f"engine {engine_id}", runner.health)
            )
        if self.runners:
            self._spawn(self._heartbeats(), "heartbeats")
        if self.role.orchestrator:
            # A durable queue still holds in-flight tasks; the in-process one lost them.
            await self.orchestrator.recover(
                redispatch_inflight=isinstance(self.queue, InProcessQueue)
            )
            self._spawn(
                self.orchestrator.run(), "orchestrator", self.orchestrator.health
            )
            self._spawn(self._sweep_retention(), "retention")
        if self.role.api or self.role.orchestrator:
            if self.instance_lock is not None:  # the only process there is
                if freed := await self.webhook_delivery.release_leases():
                    log.info(
                        "freed %d webhook delivery lease(s) of the last run", freed
                    )
                if ended := await self.realtime_records.end_abandoned(
                    every_active=True
                ):
                    log.info("ended %d live session(s) of the last run", ended)
                if kept := await self.realtime_records.rescue_spooled(every=True):
                    log.info(
                        "kept the audio of %d of them (stored, or its batch job made)",
                        kept,
                    )
            self._spawn(self._deliver_webhooks(), "webhooks")
        if self.role.api:  # streams are served here: say they still run
            self._spawn(self._stamp_live_sessions(), "live sessions")
        if self.role.realtime and self.settings.realtime_capacity:
            threads = self.settings.realtime_threads
            models = WhisperModels(self.catalog, pool_config(config, threads))
            decoder = StreamDecoder(
                models,
                threads=threads,
                beam_size=self.settings.realtime_beam_size,
                short_partials=self.settings.realtime_short_partials,
                batch_size=pick_stream_batch_size(
                    models.device, self.settings.realtime_batch_size
                ),
                gate=self.realtime_gate,
            )
            # Ready for both of the policy's answers to "auto": a stream with no
            # language (the common case) and an English one.
            warm = list(
                dict.fromkeys(
                    auto_model(self.settings, self.catalog, request)
                    for request in (
                        TranscriptionRequest.build(),
                        TranscriptionRequest.build(language="en"),
                    )
                )
            )
            for model_id in warm:
                await asyncio.to_thread(decoder.load, model_id)
            setting = self.settings.realtime_capacity
            if isinstance(setting, int):
                capacity = setting
            else:  # "auto": what these cores hold at the latency target, timed
                # on the slowest model streams get by default.
                capacity = min(
                    [await asyncio.to_thread(decoder.capacity_for, m) for m in warm]
                )
                log.info("realtime capacity (auto): %d sessions", capacity)
            local = RealtimeWorker(
                id=f"{socket.gethostname()}:{os.getpid()}",
                capacity=capacity,
                decoder=decoder,
                host=socket.gethostname(),
            )
            self.router.register(local)
            if self.role.announce_realtime:
                self._spawn(self._announce(local), "realtime heartbeats")

    async def run_until_stopped(self) -> None:
        """For processes without HTTP: serve until SIGTERM / SIGINT."""
        import signal

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stopping.set)
        await self.start()
        log.info("dalston %s running", self.role)
        await self._stopping.wait()
        await self.stop()

    def _worker_state(self) -> list[tuple[tuple[str, ...], str]]:
        """What a heartbeat reports that can change between beats: each runner's
        loaded models and status."""
        return [
            (tuple(runner.engine.loaded_models()), self._runner_status(index))
            for index, runner in enumerate(self.runners)
        ]

    async def _heartbeats(self) -> None:
        """A heartbeat per runner every ``_HEARTBEAT_S``, and at once (checked
        every ``_STATE_CHECK_S``) when a model is loaded or unloaded or a runner's
        status changes, so ``GET /v1/engines`` and ``/v1/models`` follow within
        a second, not a heartbeat period."""
        health = self._loop_health("heartbeats")
        while not self._stopping.is_set():
            try:
                sent = self._worker_state()
                for index, runner in enumerate(self.runners):
                    caps = runner.engine.capabilities()
                    loaded = sent[index][0]
                    await self.registry.heartbeat(
                        WorkerInfo(
                            id=f"{socket.gethostname()}:{os.getpid()}:{index}",
                            engine_id=runner.engine_id,
                            stage=caps.stage,
                            host=socket.gethostname(),
                            pid=os.getpid(),
                            capacity=runner.concurrency,
                            active=runner.active,
                            status=sent[index][1],
                            loaded_models=loaded,
                            languages=caps.languages,
                            word_timestamps=caps.word_timestamps,
                        )
                    )
            except Exception as exc:
                await health.failed(exc, stopping=self._stopping)
                continue
            health.succeeded()
            due = time.monotonic() + _HEARTBEAT_S
            while not self._stopping.is_set() and self._worker_state() == sent:
                left = due - time.monotonic()
                if left <= 0:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._stopping.wait(), min(left, _STATE_CHECK_S)
                    )

    def _runner_status(self, index: int) -> str:
        """What a worker's heartbeat says: ``ready`` only while its task loop runs
        and works (``failing`` while it cannot reach the queue, ``stopped`` once
        it has ended)."""
        runner, task = self.runners[index], self._runner_tasks[index]
        if task.done():
            return "stopped"
        if not runner.loaded:
            return "loading"
        return "ready" if runner.health.ok else "failing"

    async def _announce(self, worker: RealtimeWorker) -> None:
        url = self.settings.advertise_url or (
            f"ws://{socket.gethostname()}:{self.settings.port}"
        )
        health = self._loop_health("realtime heartbeats")
        while not self._stopping.is_set():
            try:
                await self.registry.heartbeat(
                    WorkerInfo(
                        id=f"rt:{worker.id}",
                        engine_id=REALTIME_ENGINE,
                        stage="realtime",
                        host=worker.host,
                        pid=os.getpid(),
                        capacity=worker.capacity,
                        active=worker.active,
                        status="ready",
                        loaded_models=tuple(
                            worker.decoder.models.loaded if worker.decoder else ()
                        ),
                        url=url,
                        word_timestamps=True,
                        streaming=True,
                    )
                )
            except Exception as exc:
                await health.failed(exc, stopping=self._stopping)
                continue
            health.succeeded()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), 2.0)
        with contextlib.suppress(Exception):
            await self.registry.remove(f"rt:{worker.id}")

    async def _stamp_live_sessions(self) -> None:
        """Stamp the session records this process holds (``SessionRecords``)."""
        records = self.realtime_records
        health = self._loop_health("live sessions")
        while not self._stopping.is_set():
            try:
                await records.heartbeat()
                # The audio of streams a process here never closed (it died).
                await records.rescue_spooled()
            except Exception as exc:
                await health.failed(exc, stopping=self._stopping)
                continue
            health.succeeded()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), records.heartbeat_s)

    async def _purge_webhook_rows(self) -> int:
        keep = timedelta(days=self.settings.webhook_retention_days)
        return await self.webhook_delivery.cleanup(utcnow() - keep)

    async def _sweep_retention(self) -> None:
        """Purge realtime sessions and batch jobs whose retention has run out."""
        sweeps = {
            "realtime sessions": self.realtime_records.purge_expired,
            "abandoned realtime sessions": self.realtime_records.end_abandoned,
            "jobs": self.jobs.purge_expired,
            "webhook deliveries": self._purge_webhook_rows,
        }
        health = self._loop_health("retention")
        while True:
            try:
                for sweep in sweeps.values():
                    await sweep()
            except Exception as exc:
                await health.failed(exc, stopping=self._stopping)
                if self._stopping.is_set():
                    return
                continue
            health.succeeded()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._stopping.wait(), self.settings.retention_sweep_s
                )
            if self._stopping.is_set():
                return

    async def _deliver_webhooks(self) -> None:
        """Send stored webhook deliveries that are due (any live process may)."""
        health = self._loop_health("webhooks")
        delivery = self.webhook_delivery
        try:
            while True:
                try:
                    started = await delivery.start_due()
                except Exception as exc:
                    await health.failed(exc, stopping=self._stopping)
                    if self._stopping.is_set():
                        return
                    continue
                health.succeeded()
                if started:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._stopping.wait(), self.settings.webhook_poll_s
                    )
                if self._stopping.is_set():
                    return
        finally:
            # Sends under way finish within the grace (a hung receiver's is
            # cancelled: leased, it is sent again after the lease).
            await delivery.drain(timeout=_SHUTDOWN_GRACE_S / 2)

    def _loop_health(self, name: str) -> LoopHealth:
        health = self.loops.setdefault(name, LoopHealth(name))
        return health

    def _spawn(
        self, coro: Any, name: str, health: LoopHealth | None = None
    ) -> asyncio.Task[None]:
        """Run a loop for the life of the process. One that ends before ``stop()``
        is a fault: logged, and marked stopped so readiness reports it."""
        task: asyncio.Task[None] = asyncio.create_task(coro, name=name)

        def _done(t: asyncio.Task[None]) -> None:
            exc = None if t.cancelled() else t.exception()
            if exc is not None:
                log.error("%s stopped: %r", name, exc)
            if not self._stopping.is_set():
                if exc is None:
                    log.error("%s stopped", name)
                (health or self._loop_health(name)).mark_stopped(exc)

        task.add_done_callback(_done)
        self._background.append(task)
        return task

    async def ready(self) -> dict[str, bool]:
        """Whether each dependency answers a real round trip (each within
        ``READY_CHECK_TIMEOUT_S``, concurrently) and each of this process's loops
        is working. ``/ready`` is 503 unless every value is True."""
        probes = {
            "database": self._probe_database(),
            "storage": self.storage.probe(),
            "queue": self.queue.is_job_cancelled("ready-probe"),
        }
        results = await asyncio.gather(
            *(
                asyncio.wait_for(probe, READY_CHECK_TIMEOUT_S)
                for probe in probes.values()
            ),
            return_exceptions=True,
        )
        checks: dict[str, bool] = {}
        for name, result in zip(probes, results, strict=True):
            checks[name] = not isinstance(result, BaseException)
            if isinstance(result, BaseException):
                log.warning("readiness: %s failed: %r", name, result)
        if self.role.orchestrator:
            checks["orchestrator"] = self.orchestrator.health.ok
        if self.runners:
            checks["engines"] = all(
                self._runner_status(index) == "ready"
                for index in range(len(self.runners))
            )
        for name, health in self.loops.items():
            checks[name] = health.ok
        return checks

    async def _probe_database(self) -> None:
        async with self.sessions() as session:
            await session.execute(text("SELECT 1"))

    async def stop(self) -> None:
        """Stop quickly: running tasks are abandoned and re-run after restart."""
        self._stopping.set()
        self.orchestrator.stop()
        for runner in self.runners:
            runner.stop(abandon=True)
        if self._background:
            _, pending = await asyncio.wait(self._background, timeout=_SHUTDOWN_GRACE_S)
            for task in pending:
                task.cancel()
        for runner in self.runners:
            runner.engine.close()
        # Each worker's registration removed side by side, within one timeout: a
        # hung Redis costs READY_CHECK_TIMEOUT_S once, not once per runner.
        await _within(
            READY_CHECK_TIMEOUT_S,
            *(
                self.registry.remove(f"{socket.gethostname()}:{os.getpid()}:{index}")
                for index in range(len(self.runners))
            ),
        )
        for worker in list(self.router.workers.values()):
            if worker.decoder is not None:
                worker.decoder.close()
            self.router.unregister(worker.id)
        await _within(
            READY_CHECK_TIMEOUT_S,
            *(
                aclose()
                for closable in (self.queue, self.registry, self.limits)
                if (aclose := getattr(closable, "aclose", None)) is not None
            ),
        )
        if self.instance_lock is not None:
            await self.instance_lock.release()
        await self.db.dispose()


async def _within(timeout: float, *calls: Awaitable[object]) -> None:
    """Run ``calls`` side by side for at most ``timeout`` seconds, their errors
    ignored (shutdown's best-effort clean-ups)."""
    if not calls:
        return
    with contextlib.suppress(Exception):
        await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), timeout)

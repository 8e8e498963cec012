"""Everything one embedded Dalston process runs, built from one ``Settings``:
database, storage, queue, orchestrator and in-process engine runners."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dalston.auth import bootstrap_admin_key
from dalston.catalog import ModelCatalog
from dalston.config import AuthMode, Settings
from dalston.db.migrate import upgrade_to_head
from dalston.db.session import create_engine, create_session_factory
from dalston.engine_sdk import EngineRunner
from dalston.engine_sdk.registry import ENGINE_CLASSES, engine_class
from dalston.orchestrator import Orchestrator
from dalston.queue import InProcessQueue, TaskQueue
from dalston.realtime_sdk.decoder import StreamDecoder
from dalston.realtime_sdk.router import RealtimeWorker, SessionRouter
from dalston.services.jobs import JobService
from dalston.services.realtime_sessions import SessionRecords
from dalston.storage import ArtifactStore, LocalArtifactStore

log = logging.getLogger(__name__)

_SHUTDOWN_GRACE_S = 5.0
_RETENTION_SWEEP_S = 60.0


@dataclass
class Runtime:
    settings: Settings
    db: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    storage: ArtifactStore
    queue: TaskQueue
    catalog: ModelCatalog
    orchestrator: Orchestrator
    jobs: JobService
    router: SessionRouter
    realtime_records: SessionRecords
    runners: list[EngineRunner] = field(default_factory=list)
    admin_key: str | None = None
    _background: list[asyncio.Task[None]] = field(default_factory=list)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = create_engine(settings.resolved_database_url)
        sessions = create_session_factory(db)
        storage = LocalArtifactStore(settings.artifacts_dir)
        queue = InProcessQueue(max_size=settings.queue_max_size)
        catalog = settings.catalog()
        orchestrator = Orchestrator(
            session_factory=sessions,
            storage=storage,
            queue=queue,
            max_retries=settings.task_max_retries,
            retry_backoff_s=settings.task_retry_backoff_s,
        )
        jobs = JobService(
            settings=settings,
            sessions=sessions,
            storage=storage,
            orchestrator=orchestrator,
            catalog=catalog,
        )
        return cls(
            settings=settings,
            db=db,
            sessions=sessions,
            storage=storage,
            queue=queue,
            catalog=catalog,
            orchestrator=orchestrator,
            jobs=jobs,
            router=SessionRouter(),
            realtime_records=SessionRecords(sessions=sessions, storage=storage),
        )

    async def start(self) -> None:
        await upgrade_to_head(self.db)
        if self.settings.auth is AuthMode.API_KEY:
            async with self.sessions() as session, session.begin():
                self.admin_key = await bootstrap_admin_key(
                    session, self.settings.admin_key_file
                )
        config = self.settings.engine_config()
        for engine_id in ENGINE_CLASSES:
            engine = engine_class(engine_id)(config)
            runner = EngineRunner(
                engine,
                self.queue,
                self.storage,
                concurrency=config.concurrency,
                max_batch_size=config.max_batch_size,
                task_timeout_s=self.settings.task_timeout_s,
            )
            self.runners.append(runner)
            self._spawn(runner.run(), f"engine {engine_id}")
        await self.orchestrator.recover()
        self._spawn(self.orchestrator.run(), "orchestrator")
        if self.settings.realtime_capacity:
            decoder = StreamDecoder(
                config,
                self.catalog,
                threads=self.settings.realtime_threads,
                beam_size=self.settings.realtime_beam_size,
            )
            await asyncio.to_thread(decoder.load, self.settings.default_model)
            self.router.register(
                RealtimeWorker(
                    id="embedded",
                    capacity=self.settings.realtime_capacity,
                    decoder=decoder,
                )
            )
        self._spawn(self._sweep_retention(), "retention")

    async def _sweep_retention(self) -> None:
        while True:
            try:
                await self.realtime_records.purge_expired()
            except Exception:
                log.warning("retention sweep failed", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), _RETENTION_SWEEP_S)
            if self._stopping.is_set():
                return

    def _spawn(self, coro: object, name: str) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro, name=name)  # type: ignore[arg-type]

        def _done(t: asyncio.Task[None]) -> None:
            if not t.cancelled() and t.exception() is not None:
                log.error("%s stopped: %r", name, t.exception())

        task.add_done_callback(_done)
        self._background.append(task)

    async def ready(self) -> dict[str, bool]:
        checks = {"database": False, "storage": False, "engines": False}
        try:
            async with self.sessions() as session:
                await session.execute(text("SELECT 1"))
            checks["database"] = True
        except Exception:
            log.warning("database not reachable", exc_info=True)
        try:
            checks["storage"] = (await self.storage.exists("ready-probe")) in (
                True,
                False,
            )
        except Exception:
            log.warning("storage not reachable", exc_info=True)
        checks["engines"] = bool(self.runners) and all(
            r.loaded and not t.done()
            for r, t in zip(self.runners, self._background, strict=False)
        )
        return checks

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
        for worker in list(self.router.workers.values()):
            worker.decoder.close()
            self.router.unregister(worker.id)
        await self.db.dispose()

"""``Dalston``: the synchronous client.

``async_client.py`` is the same client with ``await``: keep the two in step (the
test ``test_sdk_unit.py::test_clients_have_the_same_methods`` checks it).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import httpx

from dalston_sdk._base import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    JOBS,
    BaseClient,
    ExportFormat,
    FileInput,
    JobWaiter,
    PiiRedactionMode,
    ProgressCallback,
    Request,
    SpeakerDetection,
    TimestampsGranularity,
    create_job_request,
    network_error,
    open_upload,
    raise_for_response,
    transcription_form,
    webhooks_of,
)
from dalston_sdk.models import (
    ApiKey,
    ApiKeyCreated,
    Delivery,
    DeliveryPage,
    Engine,
    Job,
    JobPage,
    JobStats,
    JobSummary,
    Me,
    Model,
    RealtimeStatus,
    Session,
    SessionPage,
    Token,
    Transcript,
    Webhook,
    WebhookCreated,
)
from dalston_sdk.realtime import RealtimeSession, realtime_params

DEFAULT_WAIT_TIMEOUT = 900.0


class Dalston(BaseClient):
    """A client of a Dalston server.

    ``base_url`` defaults to ``$DALSTON_SERVER`` (else ``http://127.0.0.1:8000``),
    ``api_key`` to ``$DALSTON_API_KEY``. Use it as a context manager, or ``close()``.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url, api_key, timeout=timeout, max_retries=max_retries, headers=headers
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            timeout=timeout, transport=transport, follow_redirects=True
        )

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Dalston:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- sending ---------------------------------------------------------------
    def _sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def request(self, req: Request) -> httpx.Response:
        """Send ``req`` with the retry policy; an error status raises."""
        attempt = 0
        while True:
            if req.before_send is not None:
                req.before_send()
            kwargs = req.kwargs()
            kwargs["headers"] = {**self.default_headers(), **req.headers}
            try:
                response = self._http.request(
                    req.method, self.base_url + req.path, **kwargs
                )
            except httpx.TransportError as exc:
                delay = self.retry.delay_for_error(req, attempt)
                if delay is None:
                    raise network_error(exc) from exc
            else:
                delay = self.retry.delay_for_response(response, attempt)
                if delay is None:
                    raise_for_response(response)
                    return response
                response.close()
            self._sleep(delay)
            attempt += 1

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.request(Request(method, path, **kwargs)).json()

    # --- jobs ----------------------------------------------------------------
    def transcribe(
        self,
        file: FileInput | None = None,
        *,
        audio_url: str | None = None,
        filename: str | None = None,
        wait: bool = True,
        wait_timeout: float | None = DEFAULT_WAIT_TIMEOUT,
        model: str | None = None,
        language: str | None = None,
        name: str | None = None,
        vocabulary: Iterable[str] | None = None,
        timestamps_granularity: TimestampsGranularity | None = None,
        speaker_detection: SpeakerDetection | None = None,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        pii_detection: bool | None = None,
        pii_entity_types: Iterable[str] | None = None,
        redact_pii_audio: bool | None = None,
        pii_redaction_mode: PiiRedactionMode | None = None,
        retention: int | None = None,
        webhook_url: str | None = None,
        webhook_metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        on_upload_progress: ProgressCallback | None = None,
        extra_fields: Mapping[str, Any] | None = None,
    ) -> Job:
        """Submit a job from ``file`` (a path, bytes or a binary file object) or
        ``audio_url``; with ``wait`` (the default), return it once finished
        (``job.status`` says whether it completed), else as created (pending).

        ``on_upload_progress(sent_bytes, total_bytes_or_None)`` is called as the
        file is read for upload. Unset fields are not sent: the server's defaults
        apply."""
        if (file is None) == (audio_url is None):
            raise ValueError("Pass exactly one of file= or audio_url=.")
        form = transcription_form(
            audio_url=audio_url,
            model=model,
            language=language,
            name=name,
            vocabulary=vocabulary,
            timestamps_granularity=timestamps_granularity,
            speaker_detection=speaker_detection,
            num_speakers=num_speakers,
            min_speakers=min_speakers,
            max_speakers=max_speakers,
            pii_detection=pii_detection,
            pii_entity_types=pii_entity_types,
            redact_pii_audio=redact_pii_audio,
            pii_redaction_mode=pii_redaction_mode,
            retention=retention,
            webhook_url=webhook_url,
            webhook_metadata=webhook_metadata,
            extra=extra_fields,
        )
        upload = (
            open_upload(file, filename, on_upload_progress)
            if file is not None
            else None
        )
        try:
            created = self.request(
                create_job_request(form, upload, idempotency_key)
            ).json()
        finally:
            if upload is not None:
                upload.close()
        job = Job.model_validate(created)
        if not wait:
            return job
        return self.wait(job.id, timeout=wait_timeout)

    def get_job(self, job_id: str, *, wait: float | None = None) -> Job:
        """The job; with ``wait`` (seconds, at most 50), the server may hold the
        request that long for the job to finish and answers as soon as it has
        (a server that does not hold answers at once)."""
        params = {"wait": wait} if wait else None
        return Job.model_validate(self._json("GET", f"{JOBS}/{job_id}", params=params))

    def update_job(self, job_id: str, *, display_name: str) -> Job:
        body = {"display_name": display_name}
        return Job.model_validate(self._json("PATCH", f"{JOBS}/{job_id}", json=body))

    def list_jobs(
        self,
        *,
        status: str | None = None,
        since: datetime | str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> JobPage:
        """One page of jobs, newest first; ``page.cursor`` fetches the next."""
        req = self.list_jobs_request(status, since, limit, cursor)
        return JobPage.model_validate(self.request(req).json())

    def iter_jobs(
        self,
        *,
        status: str | None = None,
        since: datetime | str | None = None,
        page_size: int = 100,
    ) -> Iterator[JobSummary]:
        """Every job, page after page (the cursors followed)."""
        cursor: str | None = None
        while True:
            page = self.list_jobs(
                status=status, since=since, limit=page_size, cursor=cursor
            )
            yield from page.jobs
            if not page.has_more or not page.cursor:
                return
            cursor = page.cursor

    def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
        poll_interval: float = 0.25,
        max_poll_interval: float = 2.0,
    ) -> Job:
        """Wait until the job is completed, failed or cancelled and return it;
        ``TimeoutError`` after ``timeout`` seconds (``None``: no limit).

        Each request asks the server to answer as soon as the job is finished (a
        long poll, ``LONG_POLL_S`` at most); a server that does not hold requests
        is polled with backoff from ``poll_interval`` to ``max_poll_interval``."""
        waiter = JobWaiter(
            job_id, timeout, self.timeout, poll_interval, max_poll_interval
        )
        while True:
            started = time.monotonic()
            job = self.get_job(job_id, wait=waiter.next_wait())
            if job.done:
                return job
            delay = waiter.delay(job.status, time.monotonic() - started)
            if delay > 0:
                self._sleep(delay)

    def cancel(self, job_id: str) -> Job:
        return Job.model_validate(self._json("POST", f"{JOBS}/{job_id}/cancel"))

    def delete(self, job_id: str) -> None:
        self.request(Request("DELETE", f"{JOBS}/{job_id}"))

    def delete_audio(self, job_id: str) -> None:
        """Delete the job's audio, keeping its transcript."""
        self.request(Request("DELETE", f"{JOBS}/{job_id}/audio"))

    def download_audio(self, job_id: str, *, redacted: bool = False) -> bytes:
        path = f"{JOBS}/{job_id}/audio" + ("/redacted" if redacted else "")
        return self.request(Request("GET", path, headers={"Accept": "*/*"})).content

    def export(
        self,
        job_id: str,
        fmt: ExportFormat = "txt",
        *,
        include_speakers: bool | None = None,
        max_line_length: int | None = None,
        max_lines: int | None = None,
    ) -> str:
        """The transcript as ``srt``, ``vtt``, ``txt`` or ``json`` text."""
        req = self.export_request(
            job_id, fmt, include_speakers, max_line_length, max_lines
        )
        return self.request(req).text

    def job_stats(self, days: int = 14) -> JobStats:
        """Running and queued jobs, today's totals, and ``days`` UTC days of
        usage (``daily``, oldest first)."""
        body = self._json("GET", "/v1/jobs/stats", params={"days": days})
        return JobStats.model_validate(body)

    # --- models, engines, system -------------------------------------------------
    def list_models(self) -> list[Model]:
        body = self._json("GET", "/v1/models")
        return [Model.model_validate(m) for m in body.get("data", [])]

    def get_model(self, model_id: str) -> Model:
        return Model.model_validate(self._json("GET", f"/v1/models/{model_id}"))

    def pull_model(self, model_id: str) -> Model:
        """Ask the server to download a model (``POST /v1/models/{id}/pull``)."""
        return Model.model_validate(self._json("POST", f"/v1/models/{model_id}/pull"))

    def delete_model(self, model_id: str) -> None:
        self.request(Request("DELETE", f"/v1/models/{model_id}"))

    def list_engines(self) -> list[Engine]:
        body = self._json("GET", "/v1/engines")
        return [Engine.model_validate(e) for e in body.get("engines", [])]

    def realtime_status(self) -> RealtimeStatus:
        return RealtimeStatus.model_validate(self._json("GET", "/v1/realtime/status"))

    def health(self) -> dict[str, Any]:
        body: dict[str, Any] = self._json("GET", "/health")
        return body

    # --- realtime sessions (records) ---------------------------------------------
    def list_sessions(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> SessionPage:
        params = {"limit": limit, "cursor": cursor}
        body = self._json("GET", "/v1/realtime/sessions", params=params)
        return SessionPage.model_validate(body)

    def iter_sessions(self, *, page_size: int = 100) -> Iterator[Session]:
        cursor: str | None = None
        while True:
            page = self.list_sessions(limit=page_size, cursor=cursor)
            yield from page.sessions
            if not page.has_more or not page.cursor:
                return
            cursor = page.cursor

    def get_session(self, session_id: str) -> Session:
        body = self._json("GET", f"/v1/realtime/sessions/{session_id}")
        return Session.model_validate(body)

    def delete_session(self, session_id: str) -> None:
        self.request(Request("DELETE", f"/v1/realtime/sessions/{session_id}"))

    def session_transcript(self, session_id: str) -> Transcript:
        body = self._json("GET", f"/v1/realtime/sessions/{session_id}/transcript")
        return Transcript.model_validate(body)

    def export_session(
        self,
        session_id: str,
        fmt: ExportFormat = "txt",
        *,
        include_speakers: bool | None = None,
        max_line_length: int | None = None,
        max_lines: int | None = None,
    ) -> str:
        req = self.export_request(
            session_id,
            fmt,
            include_speakers,
            max_line_length,
            max_lines,
            prefix="/v1/realtime/sessions",
        )
        return self.request(req).text

    # --- auth ------------------------------------------------------------------
    def create_token(
        self, *, ttl: int | None = None, scopes: Iterable[str] | None = None
    ) -> Token:
        """A single-use token (``tk_...``) for a WebSocket URL."""
        body: dict[str, Any] = {}
        if ttl is not None:
            body["ttl"] = ttl
        if scopes is not None:
            body["scopes"] = list(scopes)
        return Token.model_validate(self._json("POST", "/auth/tokens", json=body))

    def me(self) -> Me:
        return Me.model_validate(self._json("GET", "/auth/me"))

    def create_key(
        self,
        name: str,
        scopes: Iterable[str] | None = None,
        rate_limit: int | None = None,
        expires_at: datetime | str | None = None,
        *,
        tenant_id: str | None = None,
    ) -> ApiKeyCreated:
        """A new API key (admin); ``.key`` is shown this once."""
        body = self.create_key_body(name, scopes, rate_limit, expires_at, tenant_id)
        return ApiKeyCreated.model_validate(self._json("POST", "/auth/keys", json=body))

    def list_keys(self) -> list[ApiKey]:
        body = self._json("GET", "/auth/keys")
        return [ApiKey.model_validate(k) for k in body.get("keys", [])]

    def revoke_key(self, key_id: str) -> None:
        self.request(Request("DELETE", f"/auth/keys/{key_id}"))

    # --- webhooks --------------------------------------------------------------
    def create_webhook(
        self,
        url: str,
        events: Iterable[str] = ("*",),
        *,
        description: str | None = None,
    ) -> WebhookCreated:
        body = self.webhook_body(url, events, description, None)
        return WebhookCreated.model_validate(
            self._json("POST", "/v1/webhooks", json=body)
        )

    def list_webhooks(self) -> list[Webhook]:
        body = self._json("GET", "/v1/webhooks")
        return [Webhook.model_validate(w) for w in webhooks_of(body)]

    def get_webhook(self, webhook_id: str) -> Webhook:
        return Webhook.model_validate(self._json("GET", f"/v1/webhooks/{webhook_id}"))

    def update_webhook(
        self,
        webhook_id: str,
        *,
        url: str | None = None,
        events: Iterable[str] | None = None,
        description: str | None = None,
        enabled: bool | None = None,
    ) -> Webhook:
        body = self.webhook_body(url, events, description, enabled)
        return Webhook.model_validate(
            self._json("PATCH", f"/v1/webhooks/{webhook_id}", json=body)
        )

    def delete_webhook(self, webhook_id: str) -> None:
        self.request(Request("DELETE", f"/v1/webhooks/{webhook_id}"))

    def rotate_webhook_secret(self, webhook_id: str) -> WebhookCreated:
        body = self._json("POST", f"/v1/webhooks/{webhook_id}/rotate-secret")
        return WebhookCreated.model_validate(body)

    def list_deliveries(
        self,
        webhook_id: str,
        *,
        status: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> DeliveryPage:
        params = {"status": status, "limit": limit, "cursor": cursor}
        body = self._json("GET", f"/v1/webhooks/{webhook_id}/deliveries", params=params)
        return DeliveryPage.model_validate(body)

    def retry_delivery(self, webhook_id: str, delivery_id: str) -> Delivery:
        path = f"/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry"
        return Delivery.model_validate(self._json("POST", path))

    # --- realtime --------------------------------------------------------------
    def _realtime_token(self) -> str:
        return (self.create_token(scopes=["realtime"])).token

    def realtime(
        self,
        *,
        model: str | None = None,
        language: str | None = None,
        sample_rate: int = 16000,
        encoding: str = "pcm_s16le",
        enable_vad: bool | None = None,
        interim_results: bool | None = None,
        word_timestamps: bool | None = None,
        vocabulary: Iterable[str] | None = None,
        retention: int | None = None,
        store_audio: bool | None = None,
        use_token: bool = False,
        extra_params: Mapping[str, Any] | None = None,
        open_timeout: float | None = 30.0,
    ) -> RealtimeSession:
        """A realtime session (``WS /v1/audio/transcriptions/stream``); use it as
        a context manager. The API key goes in the ``Authorization`` header;
        with ``use_token``, a single-use token is minted and sent in the URL
        instead."""
        params = realtime_params(
            model=model,
            language=language,
            sample_rate=sample_rate,
            encoding=encoding,
            enable_vad=enable_vad,
            interim_results=interim_results,
            word_timestamps=word_timestamps,
            vocabulary=vocabulary,
            retention=retention,
            store_audio=store_audio,
            extra=extra_params,
        )
        headers = self.default_headers()
        headers.pop("Accept", None)
        if use_token:
            headers.pop("Authorization", None)
        return RealtimeSession(
            self.ws_url(f"{JOBS}/stream", params),
            headers=headers,
            sample_rate=sample_rate,
            encoding=encoding,
            open_timeout=open_timeout,
            token_source=self._realtime_token if use_token else None,
        )

"""A real Dalston server in a child process, driven over real HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
_TERMINAL = {"completed", "failed", "cancelled"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    def __init__(
        self,
        data_dir: Path,
        env: dict[str, str] | None = None,
        command: tuple[str, ...] = ("serve",),
        repo: Path = REPO,
        prefix: tuple[str, ...] = (),
    ) -> None:
        """``repo``: the checkout whose code the server runs (a bench compares
        another commit's worktree with this one); ``prefix``: what runs it
        (``ip netns exec NAME``: a process on another "host")."""
        self.data_dir = data_dir
        self.repo = repo
        self.prefix = prefix
        self.command = command
        self.port = free_port()
        self.env = {
            **os.environ,
            "DALSTON_DATA_DIR": str(data_dir),
            "DALSTON_ALLOW_PRIVATE_URLS": "true",
            "DALSTON_TASK_RETRY_BACKOFF_S": "0.2",
            # No model hub here: fail at once instead of waiting on the network.
            "HF_HUB_OFFLINE": "1",
            # Model packages joined once for all test servers.
            "DALSTON_MODEL_CACHE_DIR": str(REPO / ".dalston" / "models"),
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / f"{'-'.join(command)}-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                *self.prefix,
                sys.executable,
                "-m",
                "dalston",
                *self.command,
                *self._port_args(),
            ],
            cwd=self.repo,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        if not self.serves_http:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready in {timeout} s:\n{self.log()}")

    @property
    def serves_http(self) -> bool:
        return self.command[0] in ("serve", "gateway", "realtime-worker")

    def _port_args(self) -> list[str]:
        return ["--port", str(self.port)] if self.serves_http else []

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def stored_keys(self, prefix: str) -> list[str]:
        """Artifact keys under ``prefix``, from the local folder or the S3 bucket."""
        endpoint = self.env.get("S3_ENDPOINT_URL")
        if not endpoint:
            root = self.data_dir / "artifacts"
            base = root / prefix
            if not base.exists():
                return []
            return sorted(
                str(p.relative_to(root)) for p in base.rglob("*") if p.is_file()
            )
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
            region_name=self.env.get("AWS_DEFAULT_REGION", "us-east-1"),
        )
        bucket = self.env.get("DALSTON_S3_BUCKET", "dalston")
        listed = client.list_objects_v2(Bucket=bucket, Prefix=prefix)
        return sorted(obj["Key"] for obj in listed.get("Contents", []))

    @property
    def admin_key(self) -> str:
        return (self.data_dir / "admin_key").read_text().strip()

    def client(self, key: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key or self.admin_key}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kwargs)


def submit(client: httpx.Client, path: Path, **data: str) -> str:
    """A native job for an English clip: ``language=en`` unless told otherwise
    (with no language the policy picks the multilingual model and detects)."""
    data.setdefault("language", "en")
    with path.open("rb") as audio:
        response = client.post(
            "/v1/audio/transcriptions", files={"file": (path.name, audio)}, data=data
        )
    assert response.status_code == 201, response.text
    job_id: str = response.json()["id"]
    return job_id


def wait_for_job(
    client: httpx.Client, job_id: str, timeout: float = 180
) -> dict[str, Any]:
    """The job once finished: each ``GET`` held by the server until then (a long
    poll of up to 10 s); a server that answers sooner, the job still running (an
    older commit's, in a bench), is polled every 0.2 s."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        asked = round(min(10.0, left), 1)
        sent = time.monotonic()
        response = client.get(
            f"/v1/audio/transcriptions/{job_id}", params={"wait": asked}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in _TERMINAL:
            return body
        if time.monotonic() - sent < asked / 2:
            time.sleep(0.2)
    raise AssertionError(f"job {job_id} not finished after {timeout} s")


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants alive now (Linux /proc)."""
    found = [pid]
    for current in found:
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            found.extend(int(child) for child in children if int(child) not in found)
    return found


def status_mb(pid: int, field: str, *, tree: bool = True) -> float:
    """A memory field of /proc/PID/status (``VmRSS``, ``VmHWM``...) in MB, plus
    its live descendants' with ``tree`` (helpers such as the aligner's processes
    count as the server's memory; for ``VmHWM`` the sum of peaks bounds the peak
    of the sum from above). A process gone meanwhile counts 0."""
    total = 0.0
    for member in process_tree(pid) if tree else [pid]:
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith(field + ":"):
                total += int(line.split()[1]) / 1024
    return round(total, 1)


def peak_rss_mb(pid: int, *, tree: bool = True) -> float:
    """Peak resident memory (VmHWM) of ``pid`` and, with ``tree``, its children."""
    return status_mb(pid, "VmHWM", tree=tree)


class TreePeak:
    """The peak of a process tree's resident memory, all its processes at once:
    every ``interval`` s each live member's peak since the last look (``VmHWM``,
    then reset to its current RSS by writing 5 to ``/proc/PID/clear_refs``) is
    added up. Within an interval the sum of peaks is at least the peak of the
    sum, so the largest sum bounds the tree's true peak from above, as tightly
    as the interval allows; unlike the sum of whole-run peaks it does not add
    a helper's peak to the server's when they came at different times. Where
    the peaks cannot be reset (another user's process), the sum of whole-run
    peaks (``exact`` is False). A member that ends between two looks loses its
    last interval; the tree's helpers here live as long as the server."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_mb = 0.0
        self.exact = True
        self.by_process: dict[int, float] = {}  # each member's own peak
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreePeak:
        self._look()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._look()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._look()

    def _look(self) -> None:
        total = 0.0
        for member in process_tree(self.pid):
            peak = status_mb(member, "VmHWM", tree=False)
            try:
                Path(f"/proc/{member}/clear_refs").write_text("5")
            except OSError:
                self.exact = False
            total += peak
            self.by_process[member] = max(self.by_process.get(member, 0.0), peak)
        if not self.exact:
            total = sum(self.by_process.values())
        self.peak_mb = max(self.peak_mb, round(total, 1))

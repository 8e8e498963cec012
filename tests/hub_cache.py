"""A Hugging Face cache faked on disk: what tests of hub models need without a hub."""

from __future__ import annotations

from pathlib import Path

HUB_MODEL = "whisper-small"  # a hub entry of known size (483 546 902 bytes)
HUB_REPO = "Systran/faster-whisper-small"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def fake_cached_model(hub: Path, repo: str, model_bytes: int = 4096) -> Path:
    """A hub repository as ``huggingface_hub`` leaves it in its cache: blobs,
    ``refs/main`` naming a commit, and the snapshot's files linked to the blobs."""
    folder = hub / ("models--" + repo.replace("/", "--"))
    (folder / "refs").mkdir(parents=True, exist_ok=True)
    (folder / "refs" / "main").write_text(COMMIT)
    snapshot = folder / "snapshots" / COMMIT
    snapshot.mkdir(parents=True, exist_ok=True)
    blobs = folder / "blobs"
    blobs.mkdir(exist_ok=True)
    for name, size in (("config.json", 16), ("model.bin", model_bytes)):
        blob = blobs / f"{name.replace('.', '')}{'0' * 32}"
        blob.write_bytes(b"x" * size)
        (snapshot / name).symlink_to(blob)
    return folder

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dalston.storage.base import ArtifactStore, job_prefix
from dalston.storage.local import LocalArtifactStore

if TYPE_CHECKING:
    from dalston.storage.s3 import S3ArtifactStore

__all__ = ["ArtifactStore", "LocalArtifactStore", "S3ArtifactStore", "job_prefix"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so embedded mode does not load boto3.
    if name == "S3ArtifactStore":
        from dalston.storage.s3 import S3ArtifactStore

        return S3ArtifactStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

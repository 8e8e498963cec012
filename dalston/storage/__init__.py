from dalston.storage.base import ArtifactStore, job_prefix
from dalston.storage.local import LocalArtifactStore

__all__ = ["ArtifactStore", "LocalArtifactStore", "job_prefix"]

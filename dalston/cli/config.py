"""Where the client commands find their server and key.

Each value is taken from the first place that has it: the command-line option,
the environment (``DALSTON_SERVER``, ``DALSTON_API_KEY``), the config file, then
the default (``http://127.0.0.1:8000``, and for a server on this machine the
admin key an embedded server wrote into its data folder).

The config file is ``$DALSTON_CONFIG``, else ``$XDG_CONFIG_HOME/dalston/config.toml``,
else ``~/.config/dalston/config.toml``::

    server = "https://dalston.example.com"
    api_key = "dk_..."
    # A profile, chosen with --profile NAME or DALSTON_PROFILE:
    [profiles.staging]
    server = "https://staging.example.com"
    api_key = "dk_..."
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_SERVER = "http://127.0.0.1:8000"
_LOCAL = ("http://127.0.0.1", "http://localhost", "http://[::1]")


class ConfigError(Exception):
    """The config file cannot be read, or names a profile it lacks."""


def config_path() -> Path:
    if explicit := os.environ.get("DALSTON_CONFIG"):
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "dalston" / "config.toml"


def _load(path: Path, profile: str | None) -> dict[str, Any]:
    if not path.is_file():
        if profile:
            raise ConfigError(
                f"Profile {profile!r} asked for, but {path} does not exist."
            )
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"Cannot read {path}: {exc}") from exc
    if not profile:
        return data
    profiles = data.get("profiles") or {}
    if profile not in profiles:
        known = ", ".join(profiles) or "none"
        raise ConfigError(f"No profile {profile!r} in {path} (profiles: {known}).")
    return {**data, **profiles[profile]}


@dataclass(frozen=True)
class Target:
    server: str
    api_key: str | None
    key_source: str  # where the key came from, for error hints


def resolve(
    server: str | None, api_key: str | None, profile: str | None = None
) -> Target:
    """The server and key for a command (options already merged with the
    environment by Typer's ``envvar``)."""
    profile = profile or os.environ.get("DALSTON_PROFILE") or None
    path = config_path()
    data = _load(path, profile)
    url = (server or str(data.get("server") or "") or DEFAULT_SERVER).rstrip("/")
    if api_key:
        return Target(url, api_key, "--api-key / DALSTON_API_KEY")
    if data.get("api_key"):
        return Target(url, str(data["api_key"]), str(path))
    if url.startswith(_LOCAL):
        key_file = _local_admin_key()
        if key_file is not None and key_file.is_file():
            return Target(url, key_file.read_text().strip(), str(key_file))
    return Target(url, None, "nowhere")


def _local_admin_key() -> Path | None:
    """The admin key file of an embedded server on this machine (its data
    folder, ``DALSTON_DATA_DIR`` or ``.dalston``)."""
    try:
        from dalston.config import Settings
    except ImportError:  # pragma: no cover - the CLI ships with the server
        return None
    return Settings().admin_key_file

"""Deployment settings: environment variables over an optional TOML file.

The file is `$IC_CONFIG`, else `interactive-classification.toml` in the
project folder. Every key has an environment variable that wins over it:

    [history]
    mode = "visitor"        # IC_HISTORY_MODE: "visitor" (each visitor sees only their own) or "team"
    max_per_visitor = 500   # IC_HISTORY_MAX_PER_VISITOR: oldest experiments beyond this are pruned
    max_age_days = 0        # IC_HISTORY_MAX_AGE_DAYS: 0 keeps experiments forever
    database_url = ""       # IC_DATABASE_URL: postgresql://user:password@host/db; empty keeps SQLite in the data folder

    [public]
    enabled = false         # IC_PUBLIC=1: a public demo (allow-listed models, bounded history, busy notice)
    models = ["tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2"]   # IC_PUBLIC_MODELS, comma-separated
    max_queue = 4           # IC_PUBLIC_MAX_QUEUE: removals waiting for the CPU before new ones are turned away

    [sweeps]
    root = ""               # IC_SWEEP_ROOT: in team mode, the Sweeps page may read dataset folders under it

    [signin]                # used where the app's secrets have an [auth] section (Streamlit's st.login)
    allowed_domains = []    # IC_ALLOWED_DOMAINS, comma-separated: e-mail domains that may enter (empty: any)
    allowed_emails = []     # IC_ALLOWED_EMAILS, comma-separated: addresses that may enter besides those
    share_links = "signed-in"  # IC_SHARE_LINKS: "public" (anyone with a link), "signed-in" or "off"
"""

from __future__ import annotations

import os
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ic.errors import ICError
from ic.paths import PROJECT_ROOT

HISTORY_MODES = ("visitor", "team")


def _config_file() -> Path:
    return Path(os.environ.get("IC_CONFIG") or PROJECT_ROOT / "interactive-classification.toml")


_read: dict = {}  # the settings file as last read: {"key": (path, mtime, size), "values": {...}}
_read_lock = threading.Lock()


def _file_settings() -> dict:
    """The settings file, read once per process and again only when it changes (its path, time or size):
    a removal asks for about a dozen settings, which re-reading the file for each of them made a dozen reads."""
    path = _config_file()
    try:
        info = path.stat()
    except OSError:
        return {}
    if not path.is_file():
        return {}
    key = (str(path), info.st_mtime_ns, info.st_size)
    with _read_lock:
        if _read.get("key") == key:
            return _read["values"]
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ICError(f"The settings file {path} cannot be read ({exc}); fix or remove it.") from None
        _read.update(key=key, values=values)
        return values


def _setting(section: str, key: str, env: str, default, cast):
    raw = os.environ.get(env)
    if raw is None or raw == "":
        raw = _file_settings().get(section, {}).get(key, default)
    try:
        return cast(raw)
    except (TypeError, ValueError):
        raise ICError(f"The setting {section}.{key} ({env}) is {raw!r}, which is not a valid value.") from None


@dataclass(frozen=True)
class HistorySettings:
    mode: str
    max_per_visitor: int
    max_age_days: int

    @property
    def shared(self) -> bool:
        return self.mode == "team"


def _flag(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _names(value) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(str(item).strip() for item in items if str(item).strip())


@dataclass(frozen=True)
class PublicSettings:
    enabled: bool
    models: tuple[str, ...]
    max_queue: int


def public_settings() -> PublicSettings:
    return PublicSettings(
        enabled=_setting("public", "enabled", "IC_PUBLIC", False, _flag),
        models=_setting("public", "models", "IC_PUBLIC_MODELS",
                        "tf_efficientnet_lite0,tf_efficientnet_lite1,tf_efficientnet_lite2", _names),
        max_queue=_setting("public", "max_queue", "IC_PUBLIC_MAX_QUEUE", 4, int),
    )


def history_settings() -> HistorySettings:
    mode = _setting("history", "mode", "IC_HISTORY_MODE", "visitor", str).strip().lower()
    if mode not in HISTORY_MODES:
        raise ICError(f"History mode {mode!r} is unknown; set IC_HISTORY_MODE to visitor or team.")
    public = public_settings().enabled  # a public demo keeps less, for less time, unless told otherwise
    return HistorySettings(
        mode=mode,
        max_per_visitor=_setting("history", "max_per_visitor", "IC_HISTORY_MAX_PER_VISITOR", 100 if public else 500, int),
        max_age_days=_setting("history", "max_age_days", "IC_HISTORY_MAX_AGE_DAYS", 7 if public else 0, int),
    )


def sweep_root() -> Path | None:
    """The server folder under which the Sweeps page may read datasets (team mode only), or None."""
    value = _setting("sweeps", "root", "IC_SWEEP_ROOT", "", str).strip()
    if not value:
        return None
    root = Path(value).expanduser()
    if not root.is_dir():
        raise ICError(f"The sweeps root {root} (IC_SWEEP_ROOT) is not a folder; create it or unset the setting.")
    return root


def database_url() -> str | None:
    """The history's PostgreSQL URL (IC_DATABASE_URL, else `database_url` under [history]), or None for SQLite in
    the data folder. The Streamlit pages may also find one in their secrets ([connections.history] url)."""
    value = _setting("history", "database_url", "IC_DATABASE_URL", "", str).strip()
    return value or None


SHARE_LINKS = ("public", "signed-in", "off")


@dataclass(frozen=True)
class SignInSettings:
    allowed_domains: tuple[str, ...]  # lower case, without "@"
    allowed_emails: tuple[str, ...]  # lower case
    share_links: str


def signin_settings() -> SignInSettings:
    """Who may enter and what share links do, where sign-in is configured."""
    share_links = _setting("signin", "share_links", "IC_SHARE_LINKS", "signed-in", str).strip().lower()
    if share_links not in SHARE_LINKS:
        raise ICError(f"share_links is {share_links!r}; set IC_SHARE_LINKS to public, signed-in or off.")
    lowered = lambda value: tuple(name.lower().lstrip("@") for name in _names(value))  # noqa: E731
    return SignInSettings(allowed_domains=_setting("signin", "allowed_domains", "IC_ALLOWED_DOMAINS", "", lowered),
                          allowed_emails=_setting("signin", "allowed_emails", "IC_ALLOWED_EMAILS", "", lowered),
                          share_links=share_links)

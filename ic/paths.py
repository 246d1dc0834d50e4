"""Folders the engine reads and writes, each overridable by an environment variable."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from platformdirs import user_data_dir

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def models_dir() -> Path:
    """User-supplied checkpoints: IC_MODELS_DIR, else the project's models/ folder."""
    return Path(os.environ.get("IC_MODELS_DIR") or PROJECT_ROOT / "models")


def torch_hub_checkpoints() -> Path:
    """Where torch hub, lama-cleaner and IOPaint keep downloaded checkpoints (honours TORCH_HOME).

    torch.hub's own answer once torch is loaded (torch.hub.set_dir may have moved it); before, the same rule
    computed without importing torch: asking whether LaMa's weights are there cost a restarted server's first
    page 2 s of importing torch."""
    if "torch" in sys.modules:
        import torch

        return Path(torch.hub.get_dir()) / "checkpoints"
    cache = os.getenv("XDG_CACHE_HOME", "~/.cache")
    return Path(os.path.expanduser(os.getenv("TORCH_HOME", os.path.join(cache, "torch")))) / "hub" / "checkpoints"


def samples_dir() -> Path:
    return PROJECT_ROOT / "assets" / "samples"


def data_dir() -> Path:
    """Where history is kept: IC_DATA_DIR, else the per-user data directory."""
    if os.environ.get("IC_DATA_DIR"):
        return Path(os.environ["IC_DATA_DIR"])

    return Path(user_data_dir("interactive-classification", appauthor=False))

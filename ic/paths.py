"""Folders the engine reads and writes, each overridable by an environment variable."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def models_dir() -> Path:
    """User-supplied checkpoints: IC_MODELS_DIR, else the project's models/ folder."""
    return Path(os.environ.get("IC_MODELS_DIR") or PROJECT_ROOT / "models")


def torch_hub_checkpoints() -> Path:
    """Where torch hub, lama-cleaner and IOPaint keep downloaded checkpoints (honours TORCH_HOME)."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints"


def samples_dir() -> Path:
    return PROJECT_ROOT / "assets" / "samples"


def data_dir() -> Path:
    """Where history is kept: IC_DATA_DIR, else the per-user data directory."""
    if os.environ.get("IC_DATA_DIR"):
        return Path(os.environ["IC_DATA_DIR"])

    return Path(user_data_dir("interactive-classification", appauthor=False))

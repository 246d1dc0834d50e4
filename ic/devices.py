"""Where models run: CUDA or Apple MPS when present, else the CPU; IC_DEVICE forces one."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

from ic.errors import ICError


@functools.cache
def pick_device(forced: str | None = None):
    import torch

    forced = forced or os.environ.get("IC_DEVICE", "").strip() or None
    if forced:
        try:
            device = torch.device(forced)
        except RuntimeError:
            raise ICError(f"IC_DEVICE={forced!r} is not a device name; use cpu, cuda, cuda:1 or mps.") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ICError(f"IC_DEVICE={forced!r} asks for CUDA, but no CUDA GPU is visible; unset it or use cpu.")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise ICError(f"IC_DEVICE={forced!r} asks for Apple MPS, which this machine lacks; unset it or use cpu.")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


# Device nodes of NVIDIA (CUDA), AMD (ROCm) and WSL GPUs.
ACCELERATOR_NODES = ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd", "/dev/dxg")


def certainly_cpu() -> bool:
    """Whether pick_device() is bound to answer the CPU, decided without importing torch (seconds): IC_DEVICE
    says so, or a Linux machine has no GPU device node. False means "ask torch", not "there is a GPU"."""
    forced = os.environ.get("IC_DEVICE", "").strip().lower()
    if forced:
        return forced == "cpu"
    return sys.platform.startswith("linux") and not any(Path(node).exists() for node in ACCELERATOR_NODES)


def lama_device() -> tuple[object, str | None]:
    """Where LaMa runs, and why not where the classifiers do: its FFT convolutions are not supported on Apple
    MPS (IOPaint keeps it off MPS for the same reason), so there it runs on the CPU."""
    import torch

    device = pick_device()
    if device.type == "mps":
        return torch.device("cpu"), "LaMa runs on the CPU here: Apple MPS lacks the FFT operations it needs."
    return device, None

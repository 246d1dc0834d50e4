"""LaMa (Suvorov et al. 2022): the TorchScript `big-lama.pt` that lama-cleaner and IOPaint publish.

We load it ourselves rather than depend on those packages (see docs/using-the-app.md, LaMa).
Weights are looked for in a fixed list of places and, failing that, downloaded
into the torch hub checkpoints folder, verified by MD5 before first use.
TorchScript is only ever loaded from these places, never from an upload.
"""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
import threading
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ic.compute import slot
from ic.devices import lama_device
from ic.errors import Unavailable
from ic.inpaint.base import Inpainter, register
from ic.paths import models_dir, torch_hub_checkpoints

FILENAME = "big-lama.pt"
DEFAULT_URL = "https://github.com/Sanster/models/releases/download/add_big_lama/big-lama.pt"
DEFAULT_MD5 = "e3aa4aaa15225a33ec84f9f4bc47e500"
APPROX_SIZE_MB = 196
CHUNK = 1 << 20

Progress = Callable[[int, int], None]


def lama_url() -> str:
    return os.environ.get("IC_LAMA_URL") or DEFAULT_URL


def lama_md5() -> str:
    return (os.environ.get("IC_LAMA_MD5") or DEFAULT_MD5).lower()


def candidate_paths(explicit: str | Path | None = None) -> list[Path]:
    """Where the weights are looked for, in order."""
    places = []
    if explicit:
        places.append(Path(explicit))
    if os.environ.get("IC_LAMA_MODEL"):
        places.append(Path(os.environ["IC_LAMA_MODEL"]))
    places.append(models_dir() / FILENAME)
    places.append(torch_hub_checkpoints() / FILENAME)
    return places


def find_weights(explicit: str | Path | None = None) -> Path | None:
    return next((path for path in candidate_paths(explicit) if path.is_file()), None)


def _plain_reason(exc: Exception) -> str:
    """Why a download failed, in words: no errno, no server path."""
    reason = getattr(exc, "reason", None) or exc
    if isinstance(exc, urllib.error.HTTPError):
        return f"the download site answered {exc.code} {exc.reason}"
    if isinstance(reason, socket.gaierror):
        return "the download site could not be found (is this machine offline?)"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "the download site did not answer in time"
    if isinstance(reason, ConnectionRefusedError):
        return "the download site refused the connection"
    if isinstance(reason, ConnectionError):
        return "the connection to the download site broke off"
    return "the download site could not be reached"


def download_weights(
    url: str | None = None,
    md5: str | None = None,
    destination: Path | None = None,
    progress: Progress | None = None,
    timeout: float = 30.0,
) -> Path:
    """Download into a temporary file beside `destination`, verify the MD5, then rename into place.

    A cut-off or corrupt download is deleted and never renamed, so a partial
    file is never loaded.
    """
    url = url or lama_url()
    md5 = (md5 or lama_md5()).lower()
    destination = destination or torch_hub_checkpoints() / FILENAME
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(dir=destination.parent, prefix=f".{FILENAME}.", suffix=".part", delete=False)
    except OSError as exc:
        raise Unavailable(
            f"LaMa's weights cannot be saved on this server ({(exc.strerror or 'not writable').lower()} in its "
            "download folder); copy big-lama.pt into the app's models folder yourself."
        ) from None
    part = Path(handle.name)
    digest = hashlib.md5()
    received = 0
    try:
        with handle, urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0)
            while chunk := response.read(CHUNK):
                handle.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                if progress:
                    progress(received, total)
        if total and received != total:
            raise Unavailable(
                f"The LaMa download stopped after {received} of {total} bytes; try again, "
                f"or download {url} yourself and put it at {models_dir() / FILENAME}."
            )
        if digest.hexdigest() != md5:
            raise Unavailable(
                f"The downloaded LaMa weights fail their MD5 check (got {digest.hexdigest()}, expected {md5}); "
                "the file was discarded. Try again later, or check IC_LAMA_URL and IC_LAMA_MD5."
            )
        os.replace(part, destination)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise Unavailable(
            f"LaMa's weights could not be downloaded: {_plain_reason(exc)}. Try again when online, or copy "
            "big-lama.pt into the app's models folder (or set IC_LAMA_MODEL to its path)."
        ) from None
    finally:
        part.unlink(missing_ok=True)
    return destination


@register
class LaMa(Inpainter):
    name = "lama"
    rank = 0
    title = "LaMa (deep)"
    description = "Large-mask inpainting network (Suvorov 2022): plausible structure, needs 196 MB of weights."
    slow = True
    crop_margin = 128
    pad_multiple = 8
    weights_mb = APPROX_SIZE_MB

    def __init__(self, model_path: str | Path | None = None):
        self.model_path = model_path
        self._model = None
        self._loaded_from: Path | None = None
        self._load_lock = threading.Lock()

    def weights(self) -> Path | None:
        return find_weights(self.model_path)

    def available(self) -> tuple[bool, str]:
        path = self.weights()
        if path:
            _, note = lama_device()
            return True, f"ready ({path})" + (f"; {note[0].lower()}{note[1:]}" if note else "")
        return False, (
            f"LaMa's weights (big-lama.pt, about {APPROX_SIZE_MB} MB) are not on this machine; "
            "they download on first use when online, or copy the file into the app's models folder."
        )

    def ensure_weights(self, progress: Progress | None = None) -> Path:
        return self.weights() or download_weights(progress=progress)

    def prepare(self, progress: Progress | None = None) -> None:
        self.load(progress)

    def load(self, progress: Progress | None = None):
        """The TorchScript module, loaded once per weights file; downloads the weights first if they are missing."""
        with self._load_lock:
            path = self.ensure_weights(progress)
            if self._model is None or self._loaded_from != path:
                import torch

                try:
                    with warnings.catch_warnings():  # TorchScript is deprecated, but it is the format LaMa ships in
                        warnings.simplefilter("ignore", FutureWarning)
                        model = torch.jit.load(str(path), map_location=lama_device()[0])
                except (RuntimeError, ValueError) as exc:
                    raise Unavailable(
                        f"{path} is not a loadable LaMa TorchScript file ({str(exc).splitlines()[0]}); "
                        "replace it with big-lama.pt."
                    ) from None
                self._model, self._loaded_from = model.eval(), path
            return self._model

    def forward(self, image: np.ndarray, mask: np.ndarray, seed: int) -> np.ndarray:
        import torch

        model = self.load()
        device = lama_device()[0]
        pixels = torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].to(device, torch.float32) / 255.0  # a writable copy
        holes = torch.from_numpy(mask)[None, None].to(device, torch.float32)
        with slot(), torch.inference_mode():  # the heaviest work there is: queue with the rest
            result = model(pixels, holes)
        result = result[0].permute(1, 2, 0).clamp(0, 1).mul(255).round().to(torch.uint8)
        return result.cpu().numpy()

"""Fast CPU inference: each classifier exported once to ONNX and run by ONNX Runtime.

The exported graph takes the resized uint8 pixels and does the rest of timm's
preprocessing (scale, normalise) and the softmax itself, with the same float32
operations in the same order, so its probabilities match timm eager within
1e-4 (tests/test_fastpath.py). The resize is timm's, done with PIL alone
(`pil_preprocess`, checked pixel for pixel against timm's transform). The export
is cached by model name, weights hash and input size in IC_CACHE_DIR. A failed
export falls back to eager PyTorch, never silently: the classifier carries the
reason (the page shows it in the sidebar) and it is logged as a warning (the CLI
prints it on stderr). Nothing here prints on stdout.

Beside each export, a manifest keyed by the weights file's fingerprint keeps
what a classifier needs besides the model (labels, data config, weights hash),
so that a later process can classify without importing torch or timm at all:
about 4 s less to the first answer on a 2-core CPU.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import sys
import tempfile
import threading
import warnings
from pathlib import Path

import numpy as np
from PIL import Image
from platformdirs import user_cache_dir

log = logging.getLogger(__name__)
_export_lock = threading.Lock()


def cache_dir() -> Path:
    """IC_CACHE_DIR, else the per-user cache folder (separate from the history's data folder)."""
    if os.environ.get("IC_CACHE_DIR"):
        return Path(os.environ["IC_CACHE_DIR"])

    return Path(user_cache_dir("interactive-classification", appauthor=False))


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)


def enabled() -> bool:
    """IC_ONNX=0 turns the fast path off (eager PyTorch everywhere)."""
    return os.environ.get("IC_ONNX", "1").strip().lower() not in ("0", "false", "no", "off")


def split_transform(transform):
    """timm's eval transform as (PIL steps, mean, std), or None when it is not the usual ToTensor + Normalize tail."""
    steps = list(getattr(transform, "transforms", []))
    if len(steps) < 2:
        return None
    to_tensor, normalize = steps[-2], steps[-1]
    if type(to_tensor).__name__ not in ("MaybeToTensor", "ToTensor") or type(normalize).__name__ != "Normalize":
        return None
    mean = np.asarray(normalize.mean, np.float32).reshape(-1)
    std = np.asarray(normalize.std, np.float32).reshape(-1)
    return steps[:-2], mean, std


def pil_preprocess(data_config: dict, mode: str):
    """timm's eval resize and crop for `mode` ("squash" or "center") as a PIL-only function from an RGB uint8
    array to the classifier's uint8 input; None where timm does something else (non-square input, borders)."""
    _, height, width = data_config["input_size"]
    filters = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC,
               "lanczos": Image.LANCZOS, "box": Image.BOX, "hamming": Image.HAMMING}
    resample = filters.get(data_config.get("interpolation", "bilinear"))
    if resample is None or height != width or mode not in ("squash", "center"):
        return None
    short_side = height if mode == "squash" else math.floor(height / data_config["crop_pct"])

    def run(image: np.ndarray) -> np.ndarray:
        picture = Image.fromarray(image)
        if mode == "squash":
            size = (width, height)
        else:  # torchvision's Resize(int): the short side to `short_side`, the long one truncated
            short, long = sorted(picture.size)
            scaled_long = int(short_side * long / short)
            size = (short_side, scaled_long) if picture.width <= picture.height else (scaled_long, short_side)
        if picture.size != size:
            picture = picture.resize(size, resample)
        if picture.size != (width, height):  # torchvision's CenterCrop
            top, left = int(round((picture.height - height) / 2.0)), int(round((picture.width - width) / 2.0))
            picture = picture.crop((left, top, left + width, top + height))
        return np.asarray(picture, dtype=np.uint8)

    return run


def fingerprint(*files: Path) -> str:
    """Names, sizes and modification times of the files a classifier is built from."""
    digest = hashlib.sha256()
    for path in files:
        stat = path.stat()
        digest.update(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _manifest_path(name: str, source: str) -> Path:
    return cache_dir() / "onnx" / f"{_safe(name)}-{source}.json"


def write_manifest(name: str, source: str, runner: OnnxRunner, facts: dict) -> None:
    """Remember, for weights with this fingerprint, the export and what the classifier needs besides the model."""
    target = _manifest_path(name, source)
    part = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        part.write_text(json.dumps({**facts, "onnx": runner.path.name}))
        os.replace(part, target)
    except OSError as exc:  # only a later start gets slower
        log.warning("Could not write %s (%s).", target, exc)
        part.unlink(missing_ok=True)


def has_manifest(name: str, source: str) -> bool:
    """Whether weights with this fingerprint were exported before (their manifest is there; read_manifest checks
    the rest)."""
    return _manifest_path(name, source).is_file()


def read_manifest(name: str, source: str) -> tuple[dict, OnnxRunner] | None:
    """(facts, runner) for weights with this fingerprint, exported before; None when anything is missing."""
    path = _manifest_path(name, source)
    try:
        facts = json.loads(path.read_text())
        graph = path.with_name(facts.pop("onnx"))
        if not graph.is_file():
            return None
        return facts, OnnxRunner(graph)
    except FileNotFoundError:
        return None
    except Exception as exc:  # a damaged manifest or graph: the full load rebuilds both
        log.warning("Ignoring %s (%s: %s).", path, type(exc).__name__, exc)
        return None


class _Graph:
    """The module exported: uint8 NHWC pixels -> probabilities."""

    def __new__(cls, model, mean: np.ndarray, std: np.ndarray):
        import torch

        class Graph(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model
                self.register_buffer("mean", torch.from_numpy(mean).view(1, -1, 1, 1))
                self.register_buffer("std", torch.from_numpy(std).view(1, -1, 1, 1))

            def forward(self, pixels):
                x = pixels.permute(0, 3, 1, 2).float().div(255)  # as torchvision's ToTensor
                return self.model((x - self.mean) / self.std).softmax(-1)

        return Graph().eval()


def export(model, mean: np.ndarray, std: np.ndarray, input_size: tuple[int, int], target: Path) -> Path:
    """Export a batch-of-one graph once into `target` (temporary file, then rename); stdout stays clean."""
    import onnx  # noqa: F401  (torch.onnx.export needs it; importing it first names it when it is missing)
    import torch

    target.parent.mkdir(parents=True, exist_ok=True)
    height, width = input_size
    dummy = torch.zeros(1, height, width, 3, dtype=torch.uint8)
    handle = tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", suffix=".part", delete=False)
    handle.close()
    part = Path(handle.name)
    try:
        with _export_lock, contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(_Graph(model, mean, std), (dummy,), str(part), dynamo=False, opset_version=17,
                              input_names=["pixels"], output_names=["probs"])
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    return target


def _session(path: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    # every core (torch idles meanwhile: the compute slot is shared), or IC_THREADS where several processes
    # share the machine (a sweep's Ray actors take one thread each)
    options.intra_op_num_threads = int(os.environ.get("IC_THREADS") or 0) or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    # Workers spin within a run (fast) but stop when it ends: left spinning, they took the cores from
    # the torch work that follows (activation maps, LaMa), which ran 2x slower measured here.
    options.add_session_config_entry("session.force_spinning_stop", "1")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxRunner:
    """An ONNX Runtime session for one classifier; thread-safe (ORT sessions are).

    The graph has a fixed batch of one, and a batch runs image by image: measured
    here, that was faster per image (4.7-5.7 ms) than a batch-free graph at any
    batch size from 2 to 16 (6.9-8.4 ms), and holds less memory.
    """

    def __init__(self, path: Path):
        self.session = _session(path)
        self.path = path

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        return np.concatenate([self.session.run(None, {"pixels": pixels[i:i + 1]})[0] for i in range(len(pixels))])


def slow_path_reason(name: str, cause: str, missing_package: bool = False) -> str:
    """The sentence shown when a classifier runs on eager PyTorch although the fast path was wanted."""
    fix = ("Install what is missing with: python -m pip install -r requirements.txt." if missing_package
           else "IC_ONNX=0 chooses eager PyTorch without this notice.")
    return f"{name} classifies on the slower path, eager PyTorch (about 3x slower): {cause}. {fix}"


def runner_for(name: str, weights_hash: str, model, transform,
               input_size: tuple[int, int]) -> tuple[OnnxRunner | None, str | None]:
    """(the runner for a classifier, exporting on first use, None) where the fast path serves it; else
    (None, why not), with why None only where eager PyTorch is what was asked for (IC_ONNX=0)."""
    if not enabled():
        return None, None
    parts = split_transform(transform)
    if parts is None:
        return None, slow_path_reason(name, "its preprocessing is not timm's usual resize, ToTensor and Normalize, "
                                            "which the ONNX graph reproduces")
    _, mean, std = parts
    target = cache_dir() / "onnx" / f"{_safe(name)}-{weights_hash}-{input_size[0]}x{input_size[1]}-b1.onnx"
    try:
        if not target.is_file():
            export(model, mean, std, input_size, target)
        return OnnxRunner(target), None
    except Exception as exc:  # any export or runtime failure: eager PyTorch still gives the right answer
        detail = str(exc).splitlines()[0][:200] if str(exc) else ""
        reason = slow_path_reason(name, f"the ONNX export or runtime failed ({type(exc).__name__}: {detail})",
                                  missing_package=isinstance(exc, ImportError))
        log.warning(reason)
        return None, reason

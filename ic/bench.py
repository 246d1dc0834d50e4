"""`python -m ic bench`: warm-up, then the median of repeated runs on the sample photos.

Each row with a baseline measures it in the same run, on the same input.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable

import cv2
import numpy as np

from ic.images import decode_image, working_copy
from ic.paths import samples_dir
from ic.samples import list_samples


def _rss_mb() -> float:
    """The current resident set, from /proc where it exists."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return _peak_rss_mb()


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def _median_ms(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 2)


def _paired_ms(baseline: Callable[[], object], fast: Callable[[], object], repeats: int,
               rounds: int = 4) -> tuple[float, float]:
    """Medians of a baseline and its fast path, timed in alternating blocks so that both see the
    same machine (a shared VM's speed drifts by 30% within a minute) rather than one after the other."""
    times: tuple[list, list] = ([], [])
    for _ in range(rounds):
        for fn, out in ((baseline, times[0]), (fast, times[1])):
            fn()  # one untimed call after switching: the other library's threads settle
            for _ in range(max(1, repeats // rounds)):
                start = time.perf_counter()
                fn()
                out.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times[0]), 2), round(statistics.median(times[1]), 2)


def _row(name: str, median_ms: float, baseline_ms: float | None = None) -> dict:
    speedup = round(baseline_ms / median_ms, 2) if baseline_ms and median_ms else None
    return {"name": name, "median_ms": median_ms, "baseline_ms": baseline_ms, "speedup": speedup}


def blob_mask(shape: tuple[int, int], fraction: float = 0.10, size_of: tuple[int, int] | None = None) -> np.ndarray:
    """An elliptical blob covering `fraction` of an image of `size_of` (default `shape`), centred in `shape`."""
    ref_h, ref_w = size_of or shape
    area = fraction * ref_h * ref_w
    axes = (int(np.sqrt(area / np.pi) * 1.25), int(np.sqrt(area / np.pi) / 1.25))
    mask = np.zeros(shape, np.uint8)
    cv2.ellipse(mask, (shape[1] // 2, shape[0] // 2), axes, 20, 0, 360, 1, -1)
    return mask.astype(bool)


def machine_info() -> dict:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    versions = {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
                "opencv": cv2.__version__}
    for module in ("timm", "onnxruntime"):
        try:
            versions[module] = __import__(module).__version__
        except ImportError:
            pass
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(), "versions": versions}


EXPORT_ONCE = """
import sys, tempfile, time
from pathlib import Path
from ic.classifiers import fastpath
from ic.classifiers import DEFAULT_MODEL, load_classifier
import os
os.environ["IC_ONNX"] = "0"  # load eagerly; the export below is the one being timed
classifier = load_classifier(DEFAULT_MODEL)
steps, mean, std = fastpath.split_transform(classifier.transform("squash"))
with tempfile.TemporaryDirectory() as scratch:
    start = time.perf_counter()
    fastpath.export(classifier.model, mean, std, tuple(classifier.data_config["input_size"][1:]),
                    Path(scratch) / "b1.onnx")
    sys.stdout.write(str((time.perf_counter() - start) * 1000))
"""


def _export_once_ms() -> float:
    """The one-time export of the default classifier, in a scratch process and folder:
    the real cache stays untouched and the exporter's memory does not count against this process."""
    import subprocess

    from ic.paths import PROJECT_ROOT

    done = subprocess.run([sys.executable, "-c", EXPORT_ONCE], cwd=PROJECT_ROOT, check=True, capture_output=True,
                          text=True)
    return round(float(done.stdout.strip()), 1)


COLD_START = ("import ic.classifiers, ic.images, ic.paths; "
              "c = ic.classifiers.get_classifier(); "
              "c.predict([ic.images.decode_image(ic.paths.samples_dir() / 'camera.png')])")


def _cold_start_ms(quick: bool) -> float:
    """A fresh process: import the engine, load the default classifier (export cache already built), classify."""
    import subprocess

    from ic.paths import PROJECT_ROOT

    times = []
    for _ in range(1 if quick else 3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", COLD_START], cwd=PROJECT_ROOT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 1)


def run(quick: bool = False) -> dict:
    import captum.attr  # noqa: F401  (the libraries ic.explain loads: counted as imports, not working memory)
    import onnxruntime  # noqa: F401
    import pytorch_grad_cam  # noqa: F401
    import torch
    from PIL import Image
    from timm.data import create_transform

    from ic.classifiers import DEFAULT_MODEL, get_classifier
    from ic.experiment import EditSession
    from ic.inpaint import REGISTRY, get_inpainter

    rss_imports = _rss_mb()  # the engine and every library it uses imported, no model loaded yet

    repeats = 3 if quick else 10
    rows = []
    photo = decode_image(samples_dir() / "camera.png")
    image_512 = working_copy(photo, 512)
    image_1024 = cv2.resize(image_512, (1024, 1024), interpolation=cv2.INTER_CUBIC)

    classifier = get_classifier(DEFAULT_MODEL)
    baseline_transform = create_transform(**{**classifier.data_config, "crop_mode": "squash", "crop_pct": 1.0})

    def baseline_single():
        with torch.inference_mode():
            return classifier.model(baseline_transform(Image.fromarray(image_512))[None]).softmax(-1).numpy()

    baseline_ms, fast_ms = _paired_ms(baseline_single, lambda: classifier.predict([image_512]), repeats * 3)
    rows.append(_row("classify_single", fast_ms, baseline_ms))

    batch = [working_copy(decode_image(sample.path), 512) for sample in list_samples()]
    batch = (batch * 3)[:16]

    def baseline_batch():
        with torch.inference_mode():
            tensors = torch.stack([baseline_transform(Image.fromarray(image)) for image in batch])
            return classifier.model(tensors).softmax(-1).numpy()

    baseline_batch_ms, fast_batch_ms = _paired_ms(baseline_batch, lambda: classifier.predict(batch), repeats)
    rows.append(_row("classify_batch16_per_image", round(fast_batch_ms / 16, 2), round(baseline_batch_ms / 16, 2)))
    if classifier.fast is not None:
        rows.append(_row("onnx_export", _export_once_ms()))

    mask_512 = blob_mask(image_512.shape[:2])
    mask_1024 = blob_mask(image_1024.shape[:2], size_of=image_512.shape[:2])
    available = [name for name in REGISTRY if get_inpainter(name).available()[0]]
    for name in available:
        method = get_inpainter(name)
        slow_repeats = max(1, repeats // 3) if method.slow else repeats
        rows.append(_row(f"inpaint_{name}_512", _median_ms(lambda m=method: m(image_512, mask_512), slow_repeats)))
        rows.append(_row(f"inpaint_{name}_1024", _median_ms(lambda m=method: m(image_1024, mask_1024), slow_repeats)))

    for name in available:
        session = EditSession(image_512, "camera.png")
        session.original_probs(classifier)  # the original's result is cached, as in the app

        def roundtrip(session=session, method=get_inpainter(name)):
            session.apply(mask_512, method, classifier)
            session.undo()

        rows.append(_row(f"edit_roundtrip_{name}_512", _median_ms(roundtrip, repeats)))

    from ic import explain

    small = explain.explain_copy(photo)
    rows.append(_row("gradcam", _median_ms(lambda: explain.activation_map(classifier, small, 872), repeats)))
    occlusion_repeats = max(1, repeats // 3)
    rows.append(_row("occlusion_8x8", _median_ms(lambda: explain.occlusion_map(
        classifier, small, 872, grid=8, infill=get_inpainter(explain.DEFAULT_INFILL)), occlusion_repeats)))
    order = explain.importance_order(explain.activation_map(classifier, small, 872), 8)
    rows.append(_row("deletion_and_insertion_curves", _median_ms(lambda: (
        explain.deletion_curve(classifier, small, 872, order, 8), explain.insertion_curve(classifier, small, 872, order, 8)),
        occlusion_repeats)))
    rows.append(_row("smallest_removal_gradcam_order_telea", _median_ms(lambda: explain.search_in_order(
        classifier, small, order, 8, get_inpainter("telea")), occlusion_repeats)))

    rows.append(_row("cold_start", _cold_start_ms(quick)))
    classify_path = "ONNX Runtime" if classifier.fast is not None else (
        classifier.slow_path or "eager PyTorch (IC_ONNX=0 or an accelerator)")
    return {"machine": machine_info(), "classify_path": classify_path, "rows": rows, "peak_rss_mb": _peak_rss_mb(),
            "rss_imports_mb": rss_imports}


def format_table(result: dict) -> str:
    machine = result["machine"]
    lines = [f"{machine['cpu']}, {machine['cores']} cores, torch threads {machine['torch_threads']}",
             f"classify_* rows run on: {result['classify_path']}",
             f"{'row':34} {'median ms':>10} {'baseline ms':>12} {'speedup':>8}"]
    for row in result["rows"]:
        baseline = "" if row["baseline_ms"] is None else f"{row['baseline_ms']:.1f}"
        speedup = "" if row["speedup"] is None else f"{row['speedup']:.2f}x"
        lines.append(f"{row['name']:34} {row['median_ms']:>10.1f} {baseline:>12} {speedup:>8}")
    lines.append(f"peak RSS {result['peak_rss_mb']} MB (after imports {result['rss_imports_mb']} MB)")
    return "\n".join(lines)

"""What a long piece of map work will take here, said before it runs.

Estimates are built from rates measured on this machine, on the paths the work itself takes, once per process:
a classification as `Classifier.predict` makes it (ONNX Runtime or eager PyTorch, whichever this classifier
uses), an eager forward pass of a batch of masked inputs (Score-CAM's), and each inpainter's fill of a hole of a
given share of a map-sized copy (PatchMatch's cost grows with the hole, Telea's hardly). The estimate then counts
the work the action does:

- occlusion fills every cell once and classifies each, with what Captum's loop adds to each, per image;
- deletion and insertion classify grid x grid + 1 images each, per map method (RISE's: 226 each);
- Score-CAM runs one forward pass per channel of its layer, in batches, per image;
- a search for the smallest removal fills and classifies one more cell at a time and stops at the first change,
  so what is said of it is the time a step takes and the time its whole budget (half the image) takes.

An earlier version multiplied counts by an eager PyTorch forward pass measured once, when classification ran in
ONNX Runtime; under load it said "about 2927 s" for a search that took 28 s.
"""

from __future__ import annotations

import atexit
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

import cv2
import numpy as np

from ic.classifiers import Classifier
from ic.explain.flip import BUDGET
from ic.explain.grid import EXPLAIN_SIDE, cell_ids, check_grid
from ic.explain.maps import BATCH, target_layer
from ic.explain.registry import map_method
from ic.inpaint import get_inpainter
from ic.models import models

FILL_SHARES = (1 / 64, 1 / 8, 1 / 2)  # the hole sizes a fill's time is measured at; between them it is interpolated
RISE_IMAGES = 2 * 225  # RISE's deletion and insertion at 224 x 224, 224 pixels a step (224 steps, 225 points)


def curve_images(grid: int) -> int:
    """Classifications of one map's deletion and insertion curves, a cell a step (grid x grid + 1 images each)."""
    return 2 * (grid * grid + 1)


def rise_s(classifier: Classifier) -> float:
    """RISE's curves of one map: RISE_IMAGES frames in normalised floats, by the eager PyTorch model in batches
    (Classifier.predict_normalised), not at the fast path's rate."""
    return RISE_IMAGES / BATCH * eager_batch_s(classifier)
CAM_CLASSIFICATIONS = 6  # Grad-CAM's eager forward and backward pass, in classifications on the fast path



@dataclass
class Estimate:
    seconds: float  # the whole of the work; for a search, its whole budget (it stops at the first change)
    step_s: float | None = None  # a search's time per step, on average over its budget
    steps: int | None = None  # a search's budget in steps

    def sentence(self) -> str:
        if self.steps is None:
            return f"about {duration(self.seconds)} here"
        return (f"each step takes about {duration(self.step_s)} here; it stops at the first change, and all "
                f"{self.steps} steps (half the image) would take about {duration(self.seconds)}")


def duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds:.1f} s"
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


class NotMeasured(Exception):
    """Inside `known_only()`: an estimate needs a rate not measured yet."""


_known_only = threading.local()


@contextmanager
def known_only():
    """Estimates from rates already measured, or NotMeasured: a page says its estimate without waiting for a
    measurement (which `measure_in_background` then makes)."""
    _known_only.on = True
    try:
        yield
    finally:
        _known_only.on = False


def _measured(key, measure):
    """A rate measured once per process (its key names the classifier or inpainter and what is timed)."""
    rates = models().rates
    if getattr(_known_only, "on", False):  # no wait for the lock a measurement holds while it runs
        if key not in rates:
            raise NotMeasured(key)
        return rates[key]
    with models().rates_lock:
        if key not in rates:
            rates[key] = measure()
        return rates[key]


def at_once(estimate, wait_s: float = 1.0):
    """`estimate()` if every rate it needs is measured, or gets measured within `wait_s`; else None, with the
    measurement going on in the background (the next look finds it)."""
    global _measuring
    try:
        with known_only():
            return estimate()
    except NotMeasured:
        # Not the rates' lock: a measurement holds that while it runs, and a second look waited out the whole
        # measurement (seconds on a page's run) instead of wait_s.
        with _measuring_lock:
            if _measuring is None or not _measuring.is_alive():  # one measurement at a time
                _measuring = threading.Thread(target=estimate, name="measure-rates", daemon=True)
                _measuring.start()
            running = _measuring
    running.join(wait_s)
    try:
        with known_only():
            return estimate()
    except NotMeasured:
        return None


_measuring: threading.Thread | None = None
_measuring_lock = threading.Lock()
EXIT_WAIT_S = 30.0


@atexit.register
def _finish_measuring(timeout_s: float = EXIT_WAIT_S) -> None:
    """At exit, let a measurement in progress end: a daemon thread stopped inside torch as the interpreter
    finalizes aborted the process ("terminate called without an active exception", exit -6, once in CI)."""
    running = _measuring
    if running is not None and running.is_alive():
        running.join(timeout_s)


def _texture(side: int = EXPLAIN_SIDE, seed: int = 0) -> np.ndarray:
    """A map-sized image with texture everywhere (PatchMatch's time depends on what it matches)."""
    noise = np.random.default_rng(seed).integers(0, 256, (side // 8, side // 8, 3), dtype=np.uint8)
    return cv2.resize(noise, (side, side), interpolation=cv2.INTER_LINEAR)


def _best_of(run, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)  # the machine's speed; a passing stall is not the rate


def classify_s(classifier: Classifier) -> float:
    """Seconds per image of `Classifier.predict` on map-sized images, in batches as maps send them."""
    def measure() -> float:
        images = [_texture(seed=i) for i in range(BATCH)]
        classifier.predict(images[:1])  # warm
        return _best_of(lambda: classifier.predict(images)) / BATCH

    return _measured(("classify", classifier.name, classifier.weights_hash), measure)


def eager_batch_s(classifier: Classifier) -> float:
    """Seconds of one eager PyTorch forward pass of a batch of BATCH inputs (Score-CAM's unit of work)."""
    def measure() -> float:
        import torch

        model = classifier.model
        device = next(model.parameters()).device
        batch = classifier.input_tensor([_texture(seed=i) for i in range(BATCH)]).to(device)
        with torch.inference_mode():
            model(batch[:1])  # warm
            return _best_of(lambda: model(batch), repeats=2)

    return _measured(("eager", classifier.name, classifier.weights_hash), measure)


def fill_s(infill, share: float) -> float:
    """Seconds the inpainter takes to fill a hole of `share` of a map-sized image."""
    def measure() -> tuple:
        image = _texture()
        infill.prepare()
        times = []
        for number, part in enumerate(FILL_SHARES):
            side = round(EXPLAIN_SIDE * part ** 0.5)
            mask = np.zeros(image.shape[:2], bool)
            start = (EXPLAIN_SIDE - side) // 2
            mask[start:start + side, start:start + side] = True
            if number == 0:
                infill(image, mask, seed=0)  # warm: PatchMatch's first call loads its library
            times.append(_best_of(lambda mask=mask: infill(image, mask, seed=0), repeats=2 if number == 0 else 1))
        return tuple(times)

    times = _measured(("fill", infill.name), measure)
    return float(np.interp(share, FILL_SHARES, times))


def ablation_s(classifier: Classifier) -> float:
    """What Captum's loop adds to each classification of an occlusion map (building the ablated inputs as
    tensors, and back to images): measured on a 4x4 map, less its fills and classifications."""
    def measure() -> float:

        mean = get_inpainter("mean")
        image = _texture()
        fills = 16 * fill_s(mean, 1 / 16)
        occlusion = map_method("occlusion")  # registered by ic/explain/methods.py, which reads this module
        taken = _best_of(lambda: occlusion.compute(classifier, image, 0, grid=4, infill=mean), repeats=2)
        return max(0.0, (taken - fills) / 17 - classify_s(classifier))

    return _measured(("ablation", classifier.name, classifier.weights_hash), measure)


def occlusion_s(classifier: Classifier, infill, grid: int) -> float:
    """One occlusion map: every cell filled on its own, then the image and each cell's removal classified."""
    cells = check_grid(grid) ** 2
    return cells * fill_s(infill, 1 / cells) + (cells + 1) * (classify_s(classifier) + ablation_s(classifier))


def cam_s(classifier: Classifier, method: str) -> float:
    """One class activation map. Score-CAM: one eager forward pass per channel of its layer, in batches.
    Grad-CAM(++): a forward and a backward pass, under a second here; counted as CAM_CLASSIFICATIONS
    classifications rather than measured, which would load the eager model just to say so."""
    if method == "scorecam":
        _, channels = target_layer(classifier.model)
        return -(-channels // BATCH) * eager_batch_s(classifier) + classify_s(classifier)
    return CAM_CLASSIFICATIONS * classify_s(classifier)


@dataclass
class Cost:
    channels: int
    seconds: float

    def sentence(self) -> str:
        return (f"Score-CAM runs one forward pass per channel of the target layer: {self.channels} passes, "
                f"about {duration(self.seconds)} an image here.")


def scorecam_cost(classifier: Classifier) -> Cost:
    """What Score-CAM costs with this classifier on one image, before running it."""
    _, channels = target_layer(classifier.model)
    return Cost(channels, cam_s(classifier, "scorecam"))


def maps_estimate(classifier: Classifier, methods: list[str], grid: int, infill, images: int = 1,
                  scores: bool = True, rise: bool = False) -> Estimate:
    """The page's Compute maps: each method on each image (the original, and the edited one when there is a
    removal), and with `scores` the curves of each method's map of the original."""
    seconds = 0.0
    for method in methods:
        seconds += images * map_method(method).seconds(classifier, grid, infill)
        if scores:
            seconds += curve_images(grid) * classify_s(classifier) + (rise_s(classifier) if rise else 0.0)
    return Estimate(seconds)


def flip_estimate(classifier: Classifier, grid: int, infill, order: str, ordered_by: str = "gradcam",
                  steps: int | None = None) -> Estimate:
    """A search for the smallest removal: its time per step, and its whole budget's (ic.explain.flip); with
    `steps`, what that many steps take (the benchmark checks the rates against a search that stopped there)."""
    n = check_grid(grid)
    cells = n * n
    share = np.bincount(cell_ids((EXPLAIN_SIDE, EXPLAIN_SIDE), n).ravel()).max() / EXPLAIN_SIDE ** 2
    steps = steps or max(1, int(BUDGET / share + 1e-9))
    one = classify_s(classifier)
    fills = sum(fill_s(infill, (k + 1) / cells) for k in range(steps))
    if order == "adaptive":
        telea = get_inpainter("telea")  # each candidate is drawn with Telea's fill of its cell
        setup = cells * fill_s(telea, 1 / cells) + one
        work = sum((cells - k) * one for k in range(steps)) + fills + steps * one
    else:
        map_s = map_method(ordered_by).seconds(classifier, n, get_inpainter("telea"))
        setup = map_s + one
        work = fills + steps * one
    finish = 2 * fill_s(infill, BUDGET / 2) + 2 * one  # the removal found, made at working resolution
    return Estimate(setup + work + finish, step_s=work / steps, steps=steps)


def prepare(classifier: Classifier, infill) -> None:
    """Measure what the page's default estimates need (the server does it in the background at start)."""
    occlusion_s(classifier, infill, 8)

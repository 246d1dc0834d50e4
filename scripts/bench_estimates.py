"""Estimates against actual times (not a test): what the Explore page says a long action will take, and what it
then takes, each measured in this run on the same image and model.

    python scripts/bench_estimates.py [--image assets/samples/camera.png] [--model tf_efficientnet_lite0] [--page]

Rows: an 8x8 occlusion map and a Score-CAM map (each on the original, with its scores, as Compute maps does);
the smallest removal in Grad-CAM's order and adaptively (Telea), and in the occlusion map's order, which on
camera.png never flips within half the image, so its whole budget runs. A search stops at the first change: the
page says what a step takes and what the whole budget takes, so for a search that stopped early the row also
gives what the estimate says for the steps it took. With --page, the same occlusion map computed on the Explore
page in Chromium (click to maps on screen) beside the workbench call the command line makes.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ic import explain  # noqa: E402
from ic.app import Workbench  # noqa: E402
from ic.classifiers import get_classifier  # noqa: E402
from ic.explain import MapOptions  # noqa: E402
from ic.explain.cost import flip_estimate  # noqa: E402
from ic.images import decode_image  # noqa: E402
from ic.inpaint import get_inpainter  # noqa: E402


def timed(run) -> tuple[float, object]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def row(name: str, estimate: float, actual: float, note: str = "") -> None:
    print(f"{name:44} estimate {estimate:7.1f} s   actual {actual:7.1f} s   ratio {estimate / actual:5.2f}  {note}",
          flush=True)


def maps(bench, classifier, image, index: int) -> None:
    telea = get_inpainter("telea")
    for method in ("occlusion", "scorecam"):
        estimate = explain.maps_estimate(classifier, [method], 8, telea, images=1).seconds
        actual, _ = timed(lambda method=method: bench.actions.explain(classifier, explain.Images(image), index, [method],
                                                                          options=MapOptions()))
        row(f"{explain.METHODS[method]} (8x8, Telea)" if method == "occlusion" else explain.METHODS[method],
            estimate, actual)


def flips(bench, classifier, image) -> None:
    telea = get_inpainter("telea")
    for order, map_method in (("map", "gradcam"), ("adaptive", "gradcam"), ("map", "occlusion")):
        said = flip_estimate(classifier, 8, telea, order, map_method)
        actual, found = timed(lambda order=order, map_method=map_method: bench.actions.flip(
            classifier, image, "image", order=order, options=MapOptions(), map_method=map_method))
        best = found["best"]
        name = f"smallest removal, {explain.ORDERS[order]}" + (f" ({explain.METHODS[map_method]})" if order == "map" else "")
        if best is None:
            row(name, said.seconds, actual, f"no change within half the image: the whole budget ({said.steps} steps) ran")
            continue
        steps = len(best.cells) if order == "adaptive" else -(-len(best.cells) // explain.maps.BATCH) * explain.maps.BATCH
        taken = flip_estimate(classifier, 8, telea, order, map_method, steps=steps)
        row(name, said.seconds, actual, f"budget; it changed after {len(best.cells)} cells")
        row(f"  the same, for the {steps} steps it took", taken.seconds, actual,
            f"step estimated {said.step_s:.2f} s")


def page_against_cli(image_path: str) -> None:
    """The occlusion map of the original on the page (Chromium), beside the workbench call the CLI makes."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from browser_support import act, browser_page, running_app, settled
    from tour import drop_option

    bench, classifier = Workbench(None), get_classifier("tf_efficientnet_lite0")
    image = decode_image(image_path)
    with running_app({"IC_DATA_DIR": tempfile.mkdtemp() + "/data"}) as url, browser_page(url, 1440, 900) as page:
        act(page, page.get_by_role("button", name="camera", exact=True).click)
        settled(page)
        drop_option(page, "Maps", "Grad-CAM")
        on_page = []
        for _ in range(3):
            settled(page)
            start = time.perf_counter()
            page.get_by_role("button", name="Compute maps").click()
            page.get_by_text("Occlusion by inpainting on the original image").first.wait_for(timeout=300_000)
            on_page.append(time.perf_counter() - start)
            page.reload()
            page.locator("canvas.upper-canvas").wait_for(timeout=90_000)
            settled(page)
            drop_option(page, "Maps", "Grad-CAM")
        direct = [timed(lambda: bench.actions.explain(classifier, explain.Images(image), 872, ["occlusion"],
                                                        options=MapOptions()))[0]
                  for _ in range(3)]
    best_page, best_cli = min(on_page), min(direct)
    print(f"occlusion 8x8 on camera.png: page {best_page:.2f} s (click to maps on screen, best of 3), workbench "
          f"{best_cli:.2f} s (the CLI's call, best of 3): page / CLI = {best_page / best_cli:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--image", default="assets/samples/camera.png")
    parser.add_argument("--model", default="tf_efficientnet_lite0")
    parser.add_argument("--page", action="store_true", help="also the page against the command line")
    args = parser.parse_args()
    bench, classifier = Workbench(None), get_classifier(args.model)
    image = decode_image(args.image)
    index = int(classifier.predict([image])[0].argmax())
    bench.actions.explain(classifier, explain.Images(image), index, ["gradcam"])  # warm: the eager model, grad-cam's imports
    maps(bench, classifier, image, index)
    flips(bench, classifier, image)
    if args.page:
        page_against_cli(args.image)


if __name__ == "__main__":
    main()

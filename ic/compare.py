"""One edit across several classifiers and several inpainters.

Each inpainter removes the whole region (the union of the user's removals)
from the original in one go, so every classifier judges the same edited
images; each classifier sees the original and all edited images in one batch.
A model that cannot be loaded gets rows that say why, and the others run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ic.classifiers import PREPROCESS_MODES, Classifier, get_classifier
from ic.errors import ICError
from ic.experiment import ExperimentRecord, Scoring, make_record
from ic.images import check_mask
from ic.inpaint import get_inpainter
from ic.watch import UNWATCHED, Watch


@dataclass
class Comparison:
    edited: dict[str, np.ndarray]  # inpainter -> edited image
    records: list[ExperimentRecord] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)  # one per (model, inpainter): the edit JSON plus "error"


def _failed_row(image_name: str, model: str, inpainter: str, reason: str) -> dict:
    return {"image": image_name, "model": model, "inpainter": inpainter, "original": {"top": []},
            "edited": {"top": []}, "changes": [], "top1_changed": None, "timings_ms": {}, "error": reason}


def compare(image_name: str, original: np.ndarray, mask: np.ndarray, models: list[str], inpainters: list[str], *,
            scoring: Scoring = Scoring(), load: Callable[[str], Classifier] = get_classifier,
            watch: Watch = UNWATCHED) -> Comparison:
    """`load` turns a model name into a classifier or refuses it with an ICError (the workbench passes its
    own, which applies the deployment's allow-list); `watch` hears (share, message) and is asked between steps
    whether to stop. `scoring.preprocess` may name several modes (what the classifiers see is another axis:
    each inpainter's image is made once and judged in each mode); every row names its mode."""
    modes = scoring.modes()
    if not models or not inpainters or not modes:
        raise ICError("Choose at least one classifier, one inpainter and what the classifiers see to compare.")
    unknown = [mode for mode in modes if mode not in PREPROCESS_MODES]
    if unknown:
        raise ICError(f"What the classifier sees is one of {', '.join(PREPROCESS_MODES)}, not {unknown[0]!r}.")
    mask = check_mask(mask)
    steps = len(inpainters) + len(models)
    done = 0

    def step(message: str) -> None:
        nonlocal done
        done += 1
        watch.report(done / steps, message)
        watch.check()

    edited, inpaint_ms = {}, {}
    for name in inpainters:
        method = get_inpainter(name)
        method.prepare()
        start = time.perf_counter()
        edited[name] = method(original, mask, seed=scoring.seed)
        inpaint_ms[name] = round((time.perf_counter() - start) * 1000, 1)
        step(f"removed with {method.title}")

    result = Comparison(edited)
    for model in models:
        try:
            classifier = load(model)
        except ICError as exc:
            result.rows += [_failed_row(image_name, model, name, str(exc)) for name in inpainters]
            step(f"{model} unavailable")
            continue
        for mode in modes:
            start = time.perf_counter()
            probs = classifier.predict([original, *edited.values()], mode)
            classify_ms = round((time.perf_counter() - start) * 1000 / len(probs), 1)
            for name, after in zip(inpainters, probs[1:]):
                record = make_record(image_name, (original, edited[name], mask, mask), classifier, (probs[0], after),
                                     inpainter=name, scoring=scoring.seeing(mode),
                                     timings_ms={"inpaint": inpaint_ms[name], "classify": classify_ms})
                result.records.append(record)
                result.rows.append({**record.summary(), "error": None})
        step(f"classified with {model}")
    return result


def summary_table(rows: list[dict]) -> list[dict]:
    """One flat row per (model, inpainter): the verdicts a person compares."""
    table = []
    for row in rows:
        if row["error"]:
            table.append({"classifier": row["model"], "inpainter": row["inpainter"], "sees": None, "error": row["error"]})
            continue
        before, after = row["original"]["top"][0], row["edited"]["top"][0]
        original_class = next(c for c in row["changes"] if c["index"] == before["index"])
        table.append({
            "classifier": row["model"], "inpainter": row["inpainter"], "sees": row.get("preprocess", "squash"),
            "original top-1": before["label"], "original p": before["prob"],
            "edited top-1": after["label"], "edited p": after["prob"],
            "change of original class (pt)": original_class["delta"] * 100,
            "top-1 changed": row["top1_changed"], "error": None,
        })
    return table

"""What a visitor does to a photo: remove a region, select an object, re-run an experiment with another
classifier, compare classifiers and inpainters, explain with maps, and find the smallest removal that flips the
answer. Each action checks the policy, runs the pipeline, and saves what it made, in one call."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ic import explain, select
from ic.app.history import Saved
from ic.app.jobs import Task, watching
from ic.compare import compare
from ic.compute import slot
from ic.errors import ICError
from ic.experiment import EditSession, ExperimentRecord, Scoring, make_record, reclassify
from ic.explain import cost
from ic.images import check_mask, decode_mask
from ic.inpaint import get_inpainter


@dataclass
class Removal:
    """What one removal did: the record, its number on the edit stack, and where it was saved."""

    record: ExperimentRecord
    number: int
    experiment_id: str | None  # None when the history cannot keep it (the reason is in `problem`)
    problem: str | None = None


class Actions:
    def __init__(self, policy, history, desk):
        self._policy, self._history, self._desk = policy, history, desk

    def remove(self, edit: EditSession, mask: np.ndarray, *, owner: str, model: str, inpainter: str,
               scoring: Scoring = Scoring(), background: bool = False) -> Removal:
        """Remove the masked region from the edit, classify, and queue it for the history (and the edit for a
        reload), in one call. With `background`, keep only the masked region: everything else is replaced by
        a baseline (an inpainter whose `baseline` is set), which is what makes that question meaningful."""
        baselines = self._policy.baselines()
        if background and inpainter not in baselines:
            raise ICError(f"Only {' or '.join(baselines)} can replace a whole background; inpainting most of "
                          "a photo would invent a new one.")
        self._policy.admit()
        classifier = self._policy.classifier(model)
        method, _ = self._policy.inpainter(inpainter)
        record = edit.apply(mask, method, classifier, scoring=scoring, background=background)
        saved = self._history.saving.save([record], owner)
        self._desk.sync(edit, owner, {edit.serial: saved.ids[0]} if saved.ids else None)
        return Removal(record, edit.removals, saved.ids[0] if saved.ids else None, saved.problem)

    @staticmethod
    def read_mask(data: bytes, edit: EditSession) -> np.ndarray:
        """A mask file (white, or opaque, where to remove) over the edit's working copy, refused as any removal's
        mask would be (empty, over 90%, another shape), with a sentence."""
        return check_mask(decode_mask(data, edit.shape))

    def select(self, image: np.ndarray, box, clicks=()):
        """A proposed mask of the object in `box`, corrected by `clicks` (see ic.select)."""

        self._policy.admit()
        with slot():  # seconds of CPU: queued with the rest of the heavy work
            return select.propose(image, box, clicks)

    def rerun(self, experiment, model: str, *, owner: str):
        """A stored experiment's edit judged by another classifier, saved as a new row: (record, Saved)."""
        self._policy.admit()
        summary, images = experiment.summary, experiment.images
        record = reclassify(experiment.image_name, images["original"], images["edited"], images["mask"],
                            self._policy.classifier(model), inpainter=summary["inpainter"],
                            scoring=Scoring(summary.get("preprocess", "squash"), len(summary["original"]["top"])))
        return record, self._history.saving.save([record], owner)

    def compare(self, name: str, original: np.ndarray, mask: np.ndarray, models: list[str], inpainters: list[str],
                *, owner: str, scoring: Scoring = Scoring(), task: Task | None = None):
        """One edit across classifiers and inpainters (and ways of seeing, when `scoring.preprocess` lists
        several), saved as one group. Models this deployment does not allow get rows that say why, as unavailable
        ones do."""
        self._policy.admit()
        result = compare(name, original, mask, models, inpainters, scoring=scoring, load=self._policy.classifier,
                         watch=watching(task))
        return result, self._history.saving.save(result.records, owner, group=True)

    def explain(self, classifier, pictures: explain.Images, class_index: int, methods: list[str], *, options=None,
                task: Task | None = None, save_with: tuple[str, str] | None = None) -> dict:
        """Maps of what the classifier relies on in `pictures` (an ic.explain.Images), with their scores
        (`options`: an ic.explain.MapOptions); saved with the experiment `save_with` ((experiment id, owner)) when
        given."""
        options = options or explain.MapOptions()
        explain.check_grid(options.grid)  # before anything is allocated: a grid of 100000 asked for 74.5 GiB
        self._policy.admit()
        if "scorecam" in methods:
            self._policy.check_scorecam(classifier)
        result = explain.explain_edit(classifier, pictures, class_index, methods, options=options,
                                      watch=watching(task))
        if save_with and not self._history.problem:
            experiment_id, owner = save_with
            self._history.saving.save_maps(experiment_id, owner, explain.stored_maps(result, options.grid, options.infill))
        return result

    @staticmethod
    def estimate_maps(classifier, methods: list[str], grid: int, infill: str, images: int = 1, *,
                      wait: bool = True, rise: bool = False):
        """What `explain` will take here with these maps on `images` images (ic.explain.cost.Estimate); without
        `wait`, None while a rate it needs is still being measured (in the background)."""
        estimate = lambda: cost.maps_estimate(classifier, methods, grid, get_inpainter(infill), images, rise=rise)
        return estimate() if wait else cost.at_once(estimate)

    @staticmethod
    def estimate_flip(classifier, grid: int, infill: str, order: str, map_method: str = "gradcam",
                      *, wait: bool = True):
        """What a search for the smallest removal takes here: a step, and its whole budget (ic.explain.cost);
        without `wait`, None while a rate it needs is still being measured."""
        estimate = lambda: cost.flip_estimate(classifier, grid, get_inpainter(infill), order, map_method)
        return estimate() if wait else cost.at_once(estimate)

    def flip(self, classifier, edit_original: np.ndarray, name: str, *, order: str, options=None,
             map_method: str = "gradcam", owner: str | None = None, task: Task | None = None) -> dict:
        """The smallest removal that changes the top-1: searched on the map-sized copy in the map's order
        (`map_method`), adaptively, or both ("both"); the smaller one found is then made at working resolution
        with `options.infill` and saved as an experiment. Returns {"flips": {order: Flip | None}, "best",
        "record", "saved"}; "record" is None when no removal within the budget changes the answer."""

        options = options or explain.MapOptions()
        self._policy.admit()
        small = explain.explain_copy(edit_original)
        method, _ = self._policy.inpainter(options.infill)
        orders = ["map", "adaptive"] if order == "both" else [order]
        flips = {}
        for step, chosen in enumerate(orders):
            flips[chosen] = explain.find_flip(classifier, small, chosen, options.grid, method,
                                              preprocess=options.preprocess, map_method=map_method,
                                              watch=watching(task, task and task.part(step, len(orders))))
        found = [flip for flip in flips.values() if flip is not None]
        best = min(found, key=lambda flip: (flip.share, flip.order != "map")) if found else None
        record, saved = None, Saved()
        if best is not None:
            record = self._flip_record(classifier, edit_original, name, best, method, options)
            saved = self._history.saving.save([record], owner) if owner else Saved()
        return {"flips": flips, "best": best, "record": record, "saved": saved}

    @staticmethod
    def _flip_record(classifier, edit_original, name, best, method, options) -> ExperimentRecord:

        mask = explain.cells_mask(best.cells, edit_original.shape[:2], options.grid)
        edited = method(edit_original, mask, seed=0)
        before, after = classifier.predict([edit_original, edited], options.preprocess)
        return make_record(name, (edit_original, edited, mask, mask), classifier, (before, after),
                           inpainter=method.name, scoring=Scoring(options.preprocess),
                           timings_ms={"inpaint": 0.0, "classify": 0.0})

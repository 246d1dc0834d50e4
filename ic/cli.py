"""`python -m ic`: the command line, kept stable because scripts depend on it.

With --json, stdout holds exactly one JSON document: everything else the
engine or its libraries print goes to stderr. Exit codes: 0 done, 2 bad input
or arguments, 3 a resource that is unavailable, 1 an internal error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import traceback

import numpy as np

from ic.explain.registry import METHODS
from ic.inpaint import baselines
from ic.numbers import p_value, percent

EXIT_INTERNAL = 1


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    common.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")

    model = argparse.ArgumentParser(add_help=False)
    model.add_argument("--model", default=None, help="classifier registry name (default: tf_efficientnet_lite0)")
    model.add_argument("--top-k", type=int, default=5, help="how many top classes to report (default 5)")
    model.add_argument("--preprocess", choices=("squash", "center"), default="squash",
                       help="what the classifier sees: the whole image (squash, default) or its center crop")

    parser = argparse.ArgumentParser(prog="python -m ic", description="Interactive Classification engine.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("models", parents=[common], help="list classifiers and whether each is available")
    sub.add_parser("inpainters", parents=[common], help="list inpainting methods and whether each is available")
    classify = sub.add_parser("classify", parents=[common, model], help="classify an image")
    classify.add_argument("image")
    edit = sub.add_parser("edit", parents=[common, model], help="remove a masked region, classify before and after")
    edit.add_argument("image")
    edit.add_argument("--mask", required=True, help="mask image: white (or opaque) marks what to remove")
    edit.add_argument("--inpainter", default=None, help="inpainting method (default: lama if present, else patchmatch)")
    edit.add_argument("--out", default=None, help="write the edited image here, at full resolution")
    edit.add_argument("--seed", type=int, default=0, help="seed of randomised inpainters (default 0)")
    person = argparse.ArgumentParser(add_help=False)
    person.add_argument("--as", dest="as_email", default=None, metavar="EMAIL",
                        help="team mode: keep the results in the app's History as this person (who has signed in "
                             "to the app once), named as its author")
    compare = sub.add_parser("compare", parents=[common, person], help="one edit across several classifiers and inpainters")
    compare.add_argument("image")
    compare.add_argument("--mask", required=True, help="mask image: white (or opaque) marks what to remove")
    compare.add_argument("--models", required=True, help="comma-separated classifier names")
    compare.add_argument("--inpainters", default=None, help="comma-separated inpainters (default: the default one)")
    compare.add_argument("--top-k", type=int, default=5)
    compare.add_argument("--preprocess", choices=("squash", "center"), default="squash")
    explain = sub.add_parser("explain", parents=[common, model], help="a map of what the classifier relies on")
    explain.add_argument("image")
    explain.add_argument("--method", choices=tuple(METHODS), default="gradcam")
    explain.add_argument("--class", dest="class_", default=None, help="label or class index (default: the top-1)")
    explain.add_argument("--grid", type=int, default=8, help="occlusion grid, cells a side (4-16, default 8)")
    explain.add_argument("--infill", default="telea", help="inpainter that removes each occlusion cell")
    explain.add_argument("--out", default=None, help="write the map over the image here")
    explain.add_argument("--mask", default=None, help="your region (a mask image): report its IoU with the map's "
                                                      "top region, and the IoU a random region would get")
    explain.add_argument("--rise", action="store_true", help="also the deletion and insertion AUCs as RISE's "
                         "evaluation code defines them (input pixels 224 a step; slower)")
    explain.add_argument("--flip", action="store_true", help="find the smallest removal, in the map's order of "
                                                             "--grid cells, that changes the top-1 (with --infill)")
    sweep = sub.add_parser("sweep", parents=[common, person], help="a dataset of images with object masks, across "
                                                          "classifiers and inpainters, with flip rates and tests")
    sweep.add_argument("dataset", help="a folder (or ZIP): photos with masks (NAME_mask.png or masks/NAME.png), class "
                       "folders, COCO instances (COCO's download; CVAT, Datumaro, labelme2coco and Roboflow exports), "
                       "Pascal VOC (the devkit; CVAT, Datumaro, labelme and LabelImg exports, with or without "
                       "SegmentationObject masks), or a box CSV")
    sweep.add_argument("--models", required=True, help="comma-separated classifier names")
    sweep.add_argument("--inpainters", default=None, help="comma-separated inpainters (default: the default one)")
    sweep.add_argument("--format", dest="fmt", choices=("auto", "masks", "folders", "coco", "voc", "boxes"),
                       default="auto", help="what the dataset holds (default: found from its files): masks "
                       "(NAME_mask.png), folders (CLASS/NAME.jpg), coco (annotations/instances_*.json), voc "
                       "(Annotations/*.xml, photo.xml beside photo.jpg, or SegmentationObject/*.png), boxes (a CSV of "
                       "image,label,x0,y0,x1,y1)")
    sweep.add_argument("--categories", default=None, help="comma-separated category names to sweep (COCO, VOC, boxes; "
                                                          "default: all)")
    sweep.add_argument("--min-area", type=float, default=0.0, help="the least share of the image an object covers "
                                                                  "(0.01 is 1%%; default 0: all)")
    sweep.add_argument("--no-crowds", dest="crowds", action="store_false",
                       help="leave out COCO's iscrowd regions (by default they are swept, marked crowd in the rows and "
                            "sliced apart; CVAT and Datumaro export every brush mask as one)")
    sweep.add_argument("--box-to-mask", choices=("box", "grabcut"), default="box",
                       help="a box without a mask is removed as the box itself, or as the object GrabCut finds in it "
                            "(Explore's object selection)")
    sweep.add_argument("--labels", default=None, help="CSV of expected labels, image,label (default: labels.csv "
                                                      "in the dataset, if there)")
    sweep.add_argument("--context", action="store_true", help="also keep only the object, everything else replaced "
                                                              "by --context-fill (object against context)")
    sweep.add_argument("--context-fill", choices=baselines(), default=baselines()[0])
    sweep.add_argument("--flip", action="store_true", help="also find the smallest share of 8x8 cells whose removal "
                                                           "changes the top-1 (slow: tens of classifications an image)")
    sweep.add_argument("--flip-order", choices=("map", "adaptive"), default="map",
                       help="cells in Grad-CAM's order (map, default) or chosen one at a time (adaptive)")
    sweep.add_argument("--preprocess", default="squash", help="what the classifier sees: squash, center, or "
                       "squash,center for both as another axis (default squash)")
    sweep.add_argument("--seed", type=int, default=0, help="seed of randomised inpainters (default 0)")
    sweep.add_argument("--out", default=None, help="rows in Parquet here (a CSV beside it); run again to resume")
    sweep.add_argument("--engine", choices=("local", "ray"), default="local")
    sweep.add_argument("--ray-address", default=None, help="a running cluster: auto, or ray://HOST:10001 "
                                                           "(default: a local one for this run)")
    sweep.add_argument("--workers", type=int, default=None, help="Ray actors (default: one per CPU of the cluster)")
    history = sub.add_parser("history", help="the experiment history: copy it to another database")
    actions = history.add_subparsers(dest="action", required=True)
    copy = actions.add_parser("copy", parents=[common], help="copy every experiment (images, maps, notes, stars, "
                              "groups), share link and sweep from one history to another; running it again copies "
                              "nothing twice")
    copy.add_argument("--from", dest="source", required=True,
                      help="postgresql://user:password@host/db, or a data folder (SQLite)")
    copy.add_argument("--to", dest="target", required=True, help="the same forms; created if it is new")

    bench = sub.add_parser("bench", parents=[common], help="measure speed against baselines")
    bench.add_argument("--quick", action="store_true", help="fewer repetitions, for smoke runs")
    return parser


def _check_top_k(value: int) -> int:
    from ic.errors import ICError

    if value < 1:
        raise ICError(f"--top-k must be at least 1 (got {value}).")
    return value


def _check_seed(value: int) -> int:
    from ic.errors import ICError
    from ic.sweeps.run import MAX_SEED

    if not 0 <= value <= MAX_SEED:
        raise ICError(f"--seed must be from 0 to 2**63 - 1 (got {value}); the seed is kept as a 64-bit integer.")
    return value


def _cmd_models(args) -> tuple[object, str]:
    from ic.classifiers import list_choices

    rows = [choice.as_dict() for choice in list_choices()]
    text = "\n".join(f"{'yes' if r['available'] else 'no ':4} {r['group']:8} {r['name']:45} {r['reason']}" for r in rows)
    return rows, text


def _cmd_inpainters(args) -> tuple[object, str]:
    from ic.inpaint import default_inpainter_name, list_inpainters

    default = default_inpainter_name()
    rows = [{**row, "default": row["name"] == default} for row in list_inpainters()]
    text = "\n".join(f"{'yes' if r['available'] else 'no ':4} {r['name']:11} {r['reason']}" for r in rows)
    return rows, text


def _format_top(top: list[dict]) -> str:
    return "\n".join(f"  {row['prob']:7.2%}  {row['label']} (#{row['index']})" for row in top)


def _workbench():
    """The command line's workbench: the deployment's policy, no history (the CLI keeps none)."""
    from ic.app import Workbench

    return Workbench(data_folder=None)


def _acting(args):
    """(workbench, owner): with --as, the app's own history (team mode only) and the owner id of the person
    who signed in with that address, so what the command makes is kept as theirs; else no history at all."""
    if not getattr(args, "as_email", None):
        return _workbench(), "cli"
    from ic.app import get_workbench
    from ic.errors import ICError
    from ic.paths import data_dir
    from ic.settings import database_url

    bench = get_workbench(data_dir(), database_url=database_url())
    if not bench.history.shared:
        raise ICError("--as keeps results as a person in team mode (IC_HISTORY_MODE=team), where History names "
                      "each experiment's author; in visitor mode a history belongs to a link, not a person.")
    if not bench.history.kept or bench.history.read_only:
        raise ICError(bench.history.problem or "The app's history cannot be written here.")
    return bench, bench.history.people.person_by_email(args.as_email)


def _cmd_classify(args) -> tuple[object, str]:
    from ic.classifiers import DEFAULT_MODEL
    from ic.images import decode_image

    top_k = _check_top_k(args.top_k)
    image = decode_image(args.image)
    classifier = _workbench().policy.classifier(args.model or DEFAULT_MODEL)
    probs = classifier.predict([image], args.preprocess)[0]
    top = classifier.top_k(probs, top_k)
    result = {"image": args.image, "model": classifier.name, "preprocess": args.preprocess, "top": top}
    return result, f"{args.image} with {classifier.name}:\n{_format_top(top)}"


def _cmd_edit(args) -> tuple[object, str]:
    from ic.classifiers import DEFAULT_MODEL
    from ic.experiment import EditSession, Scoring
    from ic.images import decode_image, decode_mask, save_image
    from ic.inpaint import default_inpainter_name, get_inpainter

    top_k, _ = _check_top_k(args.top_k), _check_seed(args.seed)
    image = decode_image(args.image)
    session = EditSession(image, name=args.image)
    mask = decode_mask(args.mask, session.shape)
    inpainter = get_inpainter(args.inpainter or default_inpainter_name())
    classifier = _workbench().policy.classifier(args.model or DEFAULT_MODEL)
    # The CLI runs the named method itself (prepare() downloads LaMa's weights when asked for by name).
    record = session.apply(mask, inpainter, classifier, scoring=Scoring(args.preprocess, top_k, args.seed))
    result = record.summary()
    if args.out:
        save_image(session.export(), args.out)
        result["out"] = args.out
    lines = [f"{args.image}: removed {result['removed_fraction']:.1%} with {inpainter.name}, classified by {classifier.name}",
             f"{'class':32} {'before':>8} {'after':>8} {'change':>8}"]
    lines += [f"{c['label'][:32]:32} {c['before']:7.1%} {c['after']:7.1%} {c['delta'] * 100:+7.1f}pt" for c in record.changes]
    if record.top1_changed:
        lines.append(f"top-1 changed: {record.before[0]['label']} -> {record.after[0]['label']}")
    if args.out:
        lines.append(f"wrote {args.out}")
    return result, "\n".join(lines)


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _cmd_compare(args) -> tuple[object, str]:
    from ic.compare import summary_table
    from ic.experiment import EditSession, Scoring
    from ic.images import decode_image, decode_mask
    from ic.inpaint import default_inpainter_name

    top_k = _check_top_k(args.top_k)
    session = EditSession(decode_image(args.image), name=args.image)
    mask = decode_mask(args.mask, session.shape)
    inpainters = _names(args.inpainters) if args.inpainters else [default_inpainter_name()]
    bench, owner = _acting(args)
    result, _ = bench.actions.compare(args.image, session.original, mask, _names(args.models), inpainters,
                                      owner=owner, scoring=Scoring(args.preprocess, top_k))
    lines = [] if owner == "cli" else [f"kept in History as {args.as_email}"]
    if owner != "cli":
        bench.history.saving.flush(60)
    for row in summary_table(result.rows):
        if row["error"]:
            lines.append(f"{row['classifier']:28} {row['inpainter']:11} unavailable: {row['error']}")
        else:
            lines.append(f"{row['classifier']:28} {row['inpainter']:11} {row['original top-1']} "
                         f"{row['original p']:.1%} -> {row['edited top-1']} {row['edited p']:.1%} "
                         f"({row['change of original class (pt)']:+.1f}pt)")
    return result.rows, "\n".join(lines)


def _cmd_explain(args) -> tuple[object, str]:
    from ic import explain
    from ic.classifiers import DEFAULT_MODEL
    from ic.images import decode_image, decode_mask, save_image

    explain.check_grid(args.grid)  # 4-16, before any work
    bench = _workbench()
    image = decode_image(args.image)
    classifier = bench.policy.classifier(args.model or DEFAULT_MODEL)
    small = explain.explain_copy(image)
    probs = classifier.predict([image], args.preprocess)[0]  # the file, as `classify` judges it
    class_index = int(probs.argmax()) if args.class_ is None else classifier.class_index(args.class_)
    on_copy = float(classifier.predict([small], args.preprocess)[0][class_index])  # what the map was made on
    mask = decode_mask(args.mask, image.shape[:2]) if args.mask else None
    options = explain.MapOptions(grid=args.grid, infill=args.infill, preprocess=args.preprocess, rise=args.rise)
    found = bench.actions.explain(classifier, explain.Images(image, removed=mask), class_index, [args.method],
                                  options=options)
    result, scores = found["maps"][args.method]["original"], found["scores"][args.method]
    cells = explain.map_cells(result)
    peak = explain.cells_peak(cells, image.shape[:2])  # the cell centre in the file's own pixels
    if args.out:
        save_image(explain.overlay_heatmap(image, result.heatmap, scale=result.scale(), signed=result.signed), args.out)
    payload = {"method": args.method,
               "class": {"index": class_index, "label": classifier.labels[class_index], "prob": float(probs[class_index])},
               **({"prob_map_copy": on_copy} if abs(on_copy - float(probs[class_index])) > 1e-4 else {}),
               "map": np.round(cells, 4).tolist(), "peak": list(peak), "deletion_auc": round(scores["deletion_auc"], 4),
               "insertion_auc": round(scores["insertion_auc"], 4), "auc_definition": scores["auc_definition"],
               **({"rise_deletion_auc": round(scores["rise_deletion_auc"], 4),
                   "rise_insertion_auc": round(scores["rise_insertion_auc"], 4)} if args.rise else {}),
               "image": args.image, "model": classifier.name}
    lines = [f"{args.image}: {explain.METHODS[args.method]} for {classifier.labels[class_index]} (#{class_index}, "
             f"{probs[class_index]:.1%}) with {classifier.name}; strongest at x={peak[0]}, y={peak[1]}; deletion AUC "
             f"{scores['deletion_auc']:.3f} (lower is more faithful), insertion AUC {scores['insertion_auc']:.3f} "
             f"(higher is), by this app's definition ({explain.DEFINITIONS['cells']})"
             + (f"; by RISE's ({explain.DEFINITIONS['rise']}): deletion {scores['rise_deletion_auc']:.3f}, insertion "
                f"{scores['rise_insertion_auc']:.3f}" if args.rise else "")
             + (f"; wrote {args.out}" if args.out else "")]
    if probs[class_index] < explain.FAINT:
        lines.append(f"The model gives {classifier.labels[class_index]} only {percent(probs[class_index])}: the map explains "
                     "a class the model does not see.")
    if mask is not None:
        payload["iou"], payload["iou_chance"] = round(scores["iou"] or 0.0, 4), round(scores["iou_chance"] or 0.0, 4)
        payload.update({key: scores.get(key) for key in ("iou_p", "iou_placements", "iou_placement_mean")})
        lines.append(f"IoU of your region with the map's top region: {payload['iou']:.2f}; the same region at each "
                     f"of {payload['iou_placements']:,} other places: {payload['iou_placement_mean']:.2f} on average, "
                     f"at least as high at {payload['iou_p']:.1%} of them (p = {p_value(payload['iou_p'])}); two random "
                     f"scattered regions of these areas: {payload['iou_chance']:.2f}")
    if args.flip:
        order = explain.importance_order(result, args.grid)
        method, _ = bench.policy.inpainter(args.infill)
        flip = explain.search_in_order(classifier, small, order, args.grid, method,
                                       preprocess=args.preprocess)
        payload["flip"] = None if flip is None else {
            "share": round(flip.share, 4), "cells": flip.rows_cols(), "to": flip.to, "margin": round(flip.to["margin"], 4),
            "fragile": explain.is_fragile(flip.to["margin"])}
        lines.append("No removal of up to half the image, in the map's order, changes the top-1." if flip is None else
                     f"Removing {len(flip.cells)} cells ({flip.share:.1%} of the image) changes the top-1 to "
                     f"{flip.to['label']} ({percent(flip.to['prob'])}), {flip.to['margin'] * 100:.1f} points ahead of "
                     f"{flip.to['runner_up']['label']}" + (": a fragile flip (under 5 points), a near tie."
                                                          if explain.is_fragile(flip.to["margin"]) else "."))
    return payload, "\n".join(lines)


def _cmd_sweep(args) -> tuple[object, str]:
    import time

    from ic import sweeps
    from ic.inpaint import default_inpainter_name

    seen = _names(args.preprocess) or ["squash"]
    plan = sweeps.Plan(tuple(_names(args.models)), tuple(_names(args.inpainters) if args.inpainters else
                                                         [default_inpainter_name()]),
                       context=args.context, context_fill=args.context_fill, flip=args.flip, flip_order=args.flip_order,
                       preprocess=seen[0], modes=tuple(seen) if len(seen) > 1 else (),
                       seed=_check_seed(args.seed)).check()
    if args.workers is not None and args.workers < 1:
        from ic.errors import ICError

        raise ICError(f"--workers must be at least 1 (got {args.workers}).")
    options = sweeps.ReadOptions(tuple(_names(args.categories or "")), args.min_area, args.box_to_mask,
                                 args.crowds).check()
    bench, owner = _acting(args)  # --as names someone who signed in: checked before any work
    # a labels file that is a folder or a device, a dataset too large: a sentence, before any work
    dataset = sweeps.load(args.dataset, args.labels, fmt=args.fmt, options=options)
    from ic.app import Task

    said = [0.0]

    def progress(share: float, what: str) -> None:
        if time.monotonic() - said[0] >= 1 or share >= 1:
            said[0] = time.monotonic()
            print(f"sweep: {task.done}/{task.total} rows ({share:.0%}) {what}", file=sys.stderr, flush=True)

    task = Task(on_report=progress)
    result = bench.jobs.sweep(dataset, plan, owner=owner, out=args.out, task=task,
                              engine=sweeps.Engine(args.engine, args.ray_address, args.workers))
    text = sweeps.describe(result)
    if owner != "cli":
        bench.history.saving.flush(60)
        text += f"\nkept in History as {args.as_email}"
    return result.document(), text


def _cmd_bench(args) -> tuple[object, str]:
    from ic import bench

    result = bench.run(quick=args.quick)
    return result, bench.format_table(result)


def _cmd_history(args) -> tuple[object, str]:
    from ic.app.history import copy_history

    def progress(done: int, total: int) -> None:
        if done == total or done % 50 == 0:
            print(f"{done}/{total} experiments", file=sys.stderr, flush=True)

    result = copy_history(args.source, args.target, progress=progress)
    text = (f"Copied {result['experiments']} experiments ({result['maps']} maps), {result['links']} share links and "
            f"{result['sweeps']} sweeps from {result['from']} to {result['to']}; {result['skipped']} experiments were "
            "there already.")
    return result, text


COMMANDS = {"models": _cmd_models, "inpainters": _cmd_inpainters, "classify": _cmd_classify,
            "edit": _cmd_edit, "compare": _cmd_compare, "explain": _cmd_explain, "sweep": _cmd_sweep,
            "bench": _cmd_bench, "history": _cmd_history}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    from ic.errors import ICError

    stdout = sys.stdout
    try:
        # Libraries that print (progress bars, warnings) must never reach stdout.
        with contextlib.redirect_stdout(sys.stderr):
            result, text = COMMANDS[args.command](args)
    except ICError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an internal error: one sentence unless --debug
        if args.debug:
            traceback.print_exc()
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        print(f"internal error: {type(exc).__name__}{': ' + first if first else ''} "
              "(run again with --debug for the traceback).", file=sys.stderr)
        return EXIT_INTERNAL
    stdout.write((json.dumps(result, indent=2) if args.json else text) + "\n")
    stdout.flush()
    return 0

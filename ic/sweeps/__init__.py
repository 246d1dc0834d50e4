"""Sweeps: the same question asked of a whole dataset, per image x model x inpainter, with numbers to trust.

- dataset.py: images with their object masks (a folder or a ZIP) and expected labels; bad files skipped;
- formats.py: COCO instances, Pascal VOC, class folders and box CSVs, one item per object;
- run.py: the rows one image gives (the same code in this process and in a Ray actor);
- results.py: rows in Parquet and CSV, resuming from them, and the summary;
- stats.py: exact (Clopper-Pearson) intervals of flip rates, bootstrap intervals of mean drops, and exact
  McNemar tests between models;
- engines: `local` (this process, through the compute slot) or `ray` (Ray Data, actors that load each model
  once; a running cluster by address, with the code and the images shipped to it).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ic.classifiers import get_classifier
from ic.errors import ICError, Unavailable
from ic.images import square_thumbnail
from ic.sweeps.dataset import Dataset, Item
from ic.sweeps.formats import BOX_TO_MASK, FORMATS, ReadOptions, load, load_folder, load_zip
from ic.sweeps.results import (
    COLUMNS,
    ROW_FIELDS,
    SIZES,
    csv_bytes,
    csv_path,
    parquet_bytes,
    read_rows,
    row_key,
    row_uid,
    rows_from_parquet,
    slice_value,
    slices,
    summarise,
    write_rows,
)
from ic.sweeps.run import CONTEXT_FILLS, FLIP_ORDERS, KEY, Plan, judge, remake
from ic.sweeps.stats import MIN_BOOTSTRAP, TOO_FEW
from ic.watch import UNWATCHED, Watch

ENGINES = ("local", "ray")
SAVE_EVERY_S = 5.0  # a long sweep writes its rows this often: an interrupted one resumes from there


@dataclass(frozen=True)
class Engine:
    """Where a sweep runs: in this process ("local"), or on Ray ("ray"), at `address` (a cluster: auto, or
    ray://HOST:10001; None starts one of this machine alone) with `workers` actors (None: one per CPU)."""

    name: str = "local"
    address: str | None = None
    workers: int | None = None

    def check(self) -> Engine:
        if self.name not in ENGINES:
            raise ICError(f"There is no engine {self.name!r}; choose {' or '.join(ENGINES)}.")
        return self


@dataclass(frozen=True)
class _Run:
    """What an engine needs of the sweep it runs: the plan, the rows already there (by key), where skipped
    files and new rows go, how it reports and stops, and the rows in all."""

    plan: Plan
    done: set
    skipped: list
    keep: Callable[[list[dict]], None]
    watch: Watch
    total: int


@dataclass
class SweepResult:
    images: int
    skipped: list[dict]
    rows: list[dict]  # the plan's rows for this dataset: resumed and computed
    summary: list[dict]
    paired: list[dict]
    out: Path | None = None
    computed: int = 0
    resumed: int = 0
    timings: dict = field(default_factory=dict)  # seconds: "total", and for Ray "startup" (to its first row)
    id: str | None = None  # as kept in History
    slices: list[dict] = field(default_factory=list)  # flip rates by category and by object size (results.slices)
    unmatched: list[dict] = field(default_factory=list)  # expected labels a model has no class for
    format: str = "masks"
    objects: int = 0  # items swept: objects, where an image holds several

    def document(self, with_results: bool = True) -> dict:
        """The --json document: the summary, the slices, and (`with_results`) every row's main fields."""
        return {"images": self.images, "objects": self.objects, "format": self.format, "skipped": self.skipped,
                "summary": self.summary, "paired": self.paired, "slices": self.slices, "unmatched": self.unmatched,
                "out": str(self.out) if self.out else None, "csv": str(csv_path(self.out)) if self.out else None,
                "id": self.id, "rows": len(self.rows), "computed": self.computed, "resumed": self.resumed,
                "timings_s": {k: round(v, 3) for k, v in self.timings.items()},
                **({"results": [{name: row.get(name) for name in ROW_FIELDS} for row in self.rows]}
                   if with_results else {})}


def sweep(dataset: Dataset, plan: Plan, *, out: str | Path | None = None, engine: Engine = Engine(),
          watch: Watch = UNWATCHED, load_model: Callable | None = None) -> SweepResult:
    """Run `plan` over `dataset`, resuming from `out` when it holds rows already; every row is written to `out`
    (and its CSV) as it goes. `load_model` turns a model name into a classifier or refuses it with an ICError
    (the workbench passes its own, with the deployment's allow-list); every model is checked before the first
    image. `watch` hears (rows done, rows in all, what is happening), and the sweep stops between images once it
    says so (Cancelled): the rows so far are kept. A plan that judges
    with several ways of seeing (`plan.modes`) runs once for each, into the same `out`; every summary entry and
    paired test names its mode."""
    if len(plan.seen()) > 1:
        return _each_way_of_seeing(dataset, plan, watch=watch, out=out, engine=engine, load_model=load_model)

    plan.check()
    engine.check()
    load_model = load_model or get_classifier
    if engine.name == "local":
        for model in plan.models:
            load_model(model)  # an unknown or refused model stops the sweep before any image, with its sentence
    started = time.perf_counter()
    previous = read_rows(out) if out else []
    done = {row_key(row) for row in previous}
    skipped = list(dataset.skipped)
    total = len(dataset.items) * len(plan.tasks())
    missing = {item.uid: sum(plan.key(item.uid, *task) not in done for task in plan.tasks()) for item in dataset.items}
    todo = [item for item in dataset.items if missing[item.uid]]
    new_rows: list[dict] = []
    last_write = [time.perf_counter()]

    def keep(rows: list[dict], force: bool = False) -> None:
        new_rows.extend(rows)
        if out and (force or time.perf_counter() - last_write[0] > SAVE_EVERY_S):
            write_rows(out, previous + new_rows)
            last_write[0] = time.perf_counter()

    resumed_here = total - sum(missing.values())
    watch.report(resumed_here, total, f"{resumed_here} rows already in {out}" if resumed_here and out else "starting")
    run = _Run(plan, done, skipped, keep, watch, total)
    timings = {}
    try:
        if engine.name == "local":
            _local(todo, run, missing, load_model, resumed_here)
        else:
            timings.update(_ray(todo, run, engine, resumed_here))
    finally:
        if out:
            keep([], force=True)
    timings["total"] = time.perf_counter() - started
    wanted = {plan.key(item.uid, *task) for item in dataset.items for task in plan.tasks()}
    rows = [row for row in previous + new_rows if row_key(row) in wanted]
    summary, paired = summarise(rows, plan)
    return SweepResult(len({item.sha for item in dataset.items}), skipped, rows, summary, paired,
                       Path(out) if out else None, computed=len(new_rows), resumed=len(rows) - len(new_rows),
                       timings=timings, slices=slices(rows, plan), unmatched=unmatched(rows), format=dataset.format,
                       objects=len(dataset.items))


def unmatched(rows: list[dict]) -> list[dict]:
    """The expected labels (a class folder's name, a category) that a model has no class for, by name or by
    WordNet id: {"label", "model", "objects"}; their rows count in the flip rates, not in the accuracy."""
    found: dict[tuple[str, str], set] = {}
    for row in rows:
        if row.get("expected_label") and row.get("expected_index") is None:
            found.setdefault((row["expected_label"], row["model"]), set()).add(row_uid(row))
    return [{"label": label, "model": model, "objects": len(objects)} for (label, model), objects in sorted(found.items())]


def _each_way_of_seeing(dataset: Dataset, plan: Plan, *, watch: Watch, **options) -> SweepResult:
    modes = plan.seen()
    parts, offset, each = [], 0, len(dataset.items) * len(plan.tasks())
    for mode in modes:
        shifted = lambda done, total, what, offset=offset: watch.report(offset + done, each * len(modes), what)
        parts.append(sweep(dataset, replace(plan, preprocess=mode, modes=()), watch=watch.with_progress(shifted),
                           **options))
        offset += each
    first = parts[0]
    return SweepResult(first.images, first.skipped, [row for part in parts for row in part.rows],
                       [entry for part in parts for entry in part.summary],
                       [test for part in parts for test in part.paired], first.out,
                       computed=sum(part.computed for part in parts), resumed=sum(part.resumed for part in parts),
                       timings={"total": sum(part.timings.get("total", 0.0) for part in parts)},
                       slices=[entry for part in parts for entry in part.slices], unmatched=first.unmatched,
                       format=first.format, objects=first.objects)


def _local(items: list[Item], run: _Run, missing: dict, load_model: Callable, count: int) -> None:
    for item in items:
        run.watch.check()
        try:
            rows = judge(item, run.plan, load_model, run.done)
        except ICError as exc:
            run.skipped.append({"file": item.name, "reason": str(exc)})
            rows = []
            count += missing[item.uid]
        run.keep(rows)
        count += len(rows)
        run.watch.report(count, run.total, item.name)


def flipped_edits(items: list[Item], rows: list[dict], plan: Plan, limit: int = 24, side: int = 180) -> dict:
    """{(image, object, model, inpainter): a square thumbnail of the edited image the row was judged on} for the first
    `limit` object rows whose top-1 changed; each edit made again once however many models judged it."""
    by_uid = {item.uid: item for item in items}
    made, shown = {}, {}
    for row in [r for r in rows if r["changed"] and r["mode"] == "object"][:limit]:
        item = by_uid.get(row_uid(row))
        if item is None:
            continue
        key = (*item.uid, row["inpainter"])
        if key not in made:
            try:
                made[key] = square_thumbnail(remake(item, plan, row["inpainter"], "object"), side)
            except ICError:
                continue
        shown[row["image"], item.object, row["model"], row["inpainter"]] = made[key]
    return shown


def describe(result: SweepResult) -> str:
    """The summary as lines of text, for the command line."""
    said = f"; {notes_phrase(result.skipped)} below" if result.skipped else ""
    objects = f", {result.objects} objects ({result.format})" if result.objects != result.images else ""
    lines = [f"{result.images} images{objects}, {len(result.rows)} rows ({result.computed} computed, "
             f"{result.resumed} resumed)" + said]
    for entry in result.summary:
        low, high = entry["flip_ci"]
        lines.append(f"  {entry['model']:28} {entry['inpainter']:11} {entry['mode']:7} "
                     f"{entry.get('preprocess', 'squash'):6} n={entry['n']:<4} flip rate "
                     f"{entry['flip_rate']:.1%} ({entry.get('flipped', '?')} of {entry['n']}; 95% CI {low:.1%}-{high:.1%}, "
                     f"Clopper-Pearson), mean drop {entry['mean_drop'] * 100:+.1f} pt" + (
                         " (95% CI {:+.1f} to {:+.1f}, bootstrap)".format(*(v * 100 for v in entry["mean_drop_ci"]))
                         if entry.get("mean_drop_ci") else f" ({TOO_FEW})")
                     + (f"; smallest removal found for {entry['flip_found']}, {entry['fragile_flips']} of them fragile "
                        "(a lead under 5 points)" if entry.get("fragile_flips") is not None else ""))
    for test in result.paired:
        verdict = "differ beyond chance" if test["differ"] else "no difference beyond chance"
        lines.append(f"  {test['a']} vs {test['b']} ({test['inpainter']}, {test['mode']}, "
                     f"{test.get('preprocess', 'squash')}): only A flipped "
                     f"{test['only_a']}, only B {test['only_b']} of {test['n']}; exact McNemar p={test['p_value']:.3g}: "
                     f"{verdict}")
    lines += slice_lines(result.slices)
    for entry in result.unmatched:
        lines.append(f"  {entry['model']} has no class {entry['label']!r} ({entry['objects']} object"
                     f"{'s' if entry['objects'] != 1 else ''}): their rows count in the flip rates, not in the accuracy")
    for skip in result.skipped:
        lines.append(f"  skipped {skip['file']}: {skip['reason']}")
    if result.out:
        lines.append(f"wrote {result.out} and {csv_path(result.out)}")
    return "\n".join(lines)


def notes_phrase(skipped: list[dict]) -> str:
    """What was skipped or noted, counted by file ("2 files skipped or noted (3 notes)"): a line names a file, or an
    entry inside one (FILE: annotation 7, FILE:12 for a CSV row)."""
    files = len({entry["file"].split(": ")[0].rsplit(":", 1)[0] for entry in skipped})
    notes = f" ({len(skipped)} notes)" if len(skipped) != files else ""
    return f"{files} file{'s' if files != 1 else ''} skipped or noted{notes}"


def slice_lines(found: list[dict]) -> list[str]:
    """The slices as a table: by category, then by object size, each row with its interval."""
    lines = []
    for by, title in (("category", "By category"), ("size", "By object size (share of the image)"),
                      ("crowd", "Single objects and crowd regions (COCO's iscrowd)")):
        entries = [entry for entry in found if entry["by"] == by]
        if not entries:
            continue
        lines.append(f"{title}; flip rates with exact 95% (Clopper-Pearson) intervals, mean drops with 95% bootstrap "
                     "intervals:")
        for entry in entries:
            low, high = entry["flip_ci"]
            drop = ("({:+.1f} to {:+.1f})".format(*(v * 100 for v in entry["mean_drop_ci"])) if entry["mean_drop_ci"]
                    else f"(no interval: n < {MIN_BOOTSTRAP})")
            lines.append(f"  {str(entry['value'])[:24]:24} {entry['model']:24} {entry['inpainter']:9} {entry['mode']:7} "
                         f"n={entry['n']:<4} flip rate {entry['flip_rate']:6.1%} ({low:.1%}-{high:.1%}) "
                         f"mean drop {entry['mean_drop'] * 100:+5.1f} pt {drop}")
    return lines


# --- Ray -------------------------------------------------------------------------------------------

PASSED_ENV = ("IC_MODELS_DIR", "TORCH_HOME", "HF_HOME", "HF_HUB_OFFLINE", "IC_DATA_DIR")


def runtime_env() -> dict:
    """What a Ray worker needs that a cluster lacks: the `ic` package itself (shipped as a module), one
    thread each for torch and ONNX Runtime (actors share the cores), and where this machine keeps weights."""
    package = Path(__file__).resolve().parent.parent
    env = {"IC_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env.update({name: os.environ[name] for name in PASSED_ENV if os.environ.get(name)})
    return {"py_modules": [str(package)], "env_vars": env}


class _Judge:
    """A Ray actor: loads each model once, then turns batches of images into rows."""

    def __init__(self, plan: dict, skip: list):
        import torch

        torch.set_num_threads(1)

        self.plan, self.skip = Plan.from_dict(plan), {tuple(key) for key in skip}
        self.models = {name: get_classifier(name) for name in self.plan.models}

    def __call__(self, batch: dict) -> dict:
        import pyarrow as pa

        rows, problems = [], []
        for i in range(len(batch["sha"])):
            box = batch["box"][i]
            item = Item(str(batch["name"][i]), str(batch["sha"][i]), bytes(batch["image"][i]),
                        bytes(batch["mask"][i]) or None, batch["label"][i] or None, category=batch["category"][i] or None,
                        object=str(batch["object"][i]), box=tuple(float(v) for v in box) if len(box) else None,
                        mask_from=str(batch["mask_from"][i]), crowd=bool(batch["crowd"][i]))
            try:
                rows.extend(judge(item, self.plan, self.models.__getitem__, self.skip))
            except ICError as exc:
                problems.append({"file": item.name, "reason": str(exc)})
        table = {name: [row.get(name) for row in rows] for name in COLUMNS}
        table["skip_file"] = [None] * len(rows) + [p["file"] for p in problems]
        table["skip_reason"] = [None] * len(rows) + [p["reason"] for p in problems]
        for name in COLUMNS:
            table[name] += [None] * len(problems)
        return pa.table(table)


def _ray(items: list[Item], run: _Run, engine: Engine, count: int) -> dict:
    try:
        import ray
    except ImportError:
        raise Unavailable("The ray engine needs Ray: pip install -r requirements-ray.txt (or use --engine local).") from None
    plan, address = run.plan, engine.address
    started = time.perf_counter()
    ours = not ray.is_initialized()
    if ours:
        try:
            ray.init(address=address, runtime_env=runtime_env(), include_dashboard=False, log_to_driver=False,
                     # a cluster of this machine alone: on the loopback, nothing exposed
                     **({} if address else {"num_cpus": os.cpu_count(), "_node_ip_address": "127.0.0.1"}))
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise Unavailable(f"Cannot reach the Ray cluster at {address}: {exc}. Check the address (auto, or "
                              "ray://HOST:10001), or run with --engine local.") from None
    timings = {}
    try:
        if not items:
            return timings
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        actors = max(1, min(engine.workers or cpus, len(items)))
        records = [{"name": i.name, "sha": i.sha, "image": i.image, "mask": i.mask or b"", "label": i.label or "",
                    "category": i.category or "", "object": i.object, "box": list(i.box or ()), "mask_from": i.mask_from,
                    "crowd": i.crowd} for i in items]
        data = ray.data.from_items(records, override_num_blocks=min(len(records), actors * 4))
        # Half a CPU an actor: Ray Data's own tasks keep room on a two-core machine, and one thread an actor
        # (runtime_env) keeps two actors from fighting over the cores.
        judged = data.map_batches(_Judge, fn_constructor_kwargs={"plan": plan.as_dict(), "skip": [list(k) for k in run.done]},
                                  batch_size=1, batch_format="numpy", concurrency=actors, num_cpus=0.5)
        first = True
        for batch in judged.iter_batches(batch_size=None, batch_format="pyarrow"):
            if first:  # the cluster, its actors and their models are up: what follows is steady throughput
                timings["startup"] = time.perf_counter() - started
            else:
                timings["steady_images"] = timings.get("steady_images", 0) + len({r for r in batch.column("image_sha").to_pylist() if r})
            first = False
            rows = []
            for row in batch.to_pylist():
                file, reason = row.pop("skip_file"), row.pop("skip_reason")
                if file is not None:
                    run.skipped.append({"file": file, "reason": reason})
                    count += len(plan.tasks())
                else:
                    rows.append(row)
            run.keep(rows)
            count += len(rows)
            run.watch.report(count, run.total, "ray")
            run.watch.check()
        timings["steady"] = time.perf_counter() - started - timings.get("startup", 0.0)
        return timings
    finally:
        if ours:
            ray.shutdown()


__all__ = ["BOX_TO_MASK", "CONTEXT_FILLS", "ENGINES", "Engine", "FLIP_ORDERS", "FORMATS", "KEY", "SIZES", "Dataset", "Item", "Plan",
           "ReadOptions", "SweepResult", "csv_bytes", "notes_phrase", "slice_lines", "slice_value", "slices", "unmatched",
           "csv_path", "describe", "flipped_edits", "load", "load_folder", "load_zip", "parquet_bytes", "read_rows",
           "row_uid", "rows_from_parquet",
           "runtime_env", "summarise", "sweep", "write_rows"]

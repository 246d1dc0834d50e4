"""A sweep's rows on disk (Parquet, and a CSV beside it with the same stem) and the summary made from them.

Re-running with the same file resumes: rows whose key (image hash, model, inpainter, mode, preprocessing,
seed) is already there are not computed again.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

from ic.errors import ICError
from ic.explain.flip import FRAGILE_MARGIN
from ic.exports import neutral
from ic.sweeps.run import KEY, Plan
from ic.sweeps.stats import RESAMPLES, drop_interval, mcnemar_exact, paired_flips, proportion_interval

COLUMNS = ["image", "image_sha", "object", "category", "object_share", "mask_from", "crowd", "model", "inpainter", "mode",
           "preprocess", "seed", "top1_before_index",
           "top1_before_label", "top1_before_prob", "top1_after_index", "top1_after_label", "top1_after_prob",
           "changed", "drop", "expected_label", "expected_index", "match_before", "match_after", "flip_share", "flip_margin",
           "seconds"]
# Besides the key, what every row has: a resumed file with empty cells here is refused before anything is written
# (the summary read them as numbers, after the file had been rewritten).
FILLED = ("changed", "drop", "top1_before_index", "top1_after_index", "top1_before_prob", "top1_after_prob")
# What --json gives of each row (the Parquet and CSV files hold every column).
ROW_FIELDS = ("image", "object", "category", "object_share", "mask_from", "crowd", "model", "inpainter", "mode", "preprocess",
              "top1_before_label", "top1_before_prob", "top1_after_label", "top1_after_prob", "changed", "drop",
              "expected_label", "match_before", "match_after", "flip_share")
# Object size as its share of the image (COCO's small/medium/large count pixels, 32² and 96², which mean
# little once photos differ in size); the upper bound of each bucket is exclusive.
SIZES = (("under 5%", 0.05), ("5-15%", 0.15), ("15-35%", 0.35), ("35% and more", 1.01))


def _schema():
    import pyarrow as pa

    types = {"seed": pa.int64(), "top1_before_index": pa.int64(), "top1_after_index": pa.int64(),
             "top1_before_prob": pa.float64(), "top1_after_prob": pa.float64(), "changed": pa.bool_(),
             "drop": pa.float64(), "object_share": pa.float64(), "expected_index": pa.int64(),
             "match_before": pa.bool_(), "match_after": pa.bool_(), "crowd": pa.bool_(),
             "flip_share": pa.float64(), "flip_margin": pa.float64(), "seconds": pa.float64()}
    return pa.schema([(name, types.get(name, pa.string())) for name in COLUMNS])


def csv_path(out: str | Path) -> Path:
    return Path(out).with_suffix(".csv")


def read_rows(out: str | Path) -> list[dict]:
    """The rows already in `out` ([] when it does not exist yet), checked against the sweep's schema: a file
    that is not a sweep's (another table, text where numbers go, a struct, nulls in a key) is refused with a
    sentence rather than resumed from."""
    path = Path(out)
    if not path.exists():
        return []
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return checked_rows(pq.read_table(path), str(path))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ICError(f"{path} is not a sweep's Parquet file ({str(exc)[:200]}); give another --out, or move it "
                      "away.") from None


def checked_rows(found, where: str) -> list[dict]:
    """A table's rows, cast to the sweep's schema; ICError naming the first column that does not fit."""
    import pyarrow as pa

    schema = _schema()
    missing = set(KEY) - set(found.column_names)
    if missing:
        raise ICError(f"{where} lacks the columns {', '.join(sorted(missing))}: not a sweep's results. Give another --out.")
    columns = {}
    for field_ in schema:
        if field_.name == "object" and field_.name not in found.column_names:  # rows from before objects: one an image
            columns[field_.name] = pa.array([""] * found.num_rows, pa.string())
            continue
        if field_.name not in found.column_names:
            columns[field_.name] = pa.nulls(found.num_rows, field_.type)
            continue
        column = found.column(field_.name)
        try:
            columns[field_.name] = column.cast(field_.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise ICError(f"{where}'s column {field_.name} holds {column.type}, where a sweep writes "
                          f"{field_.type}: not a sweep's results. Give another --out.") from None
        if field_.name in (*KEY, *FILLED) and columns[field_.name].null_count:
            raise ICError(f"{where}'s column {field_.name} has empty cells, where a sweep writes every one: "
                          "not a sweep's results. Give another --out.")
    return pa.table(columns, schema=schema).to_pylist()


def rows_from_parquet(data: bytes) -> list[dict]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    return checked_rows(pq.read_table(pa.BufferReader(data)), "the kept sweep")


def table(rows: list[dict]):
    import pyarrow as pa

    return pa.Table.from_pylist([{name: row.get(name) for name in COLUMNS} for row in rows], schema=_schema())


def _csv_table(rows: list[dict]):
    """The rows for a CSV: text cells a spreadsheet would run as formulas (a file name or label that starts
    with =, +, -, @) neutralised as History's CSV does (ic/exports.py)."""
    return table([{name: neutral(row.get(name)) for name in COLUMNS} for row in rows])


def parquet_bytes(rows: list[dict]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table(rows), sink)
    return sink.getvalue().to_pybytes()


def csv_bytes(rows: list[dict]) -> bytes:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    sink = pa.BufferOutputStream()
    pacsv.write_csv(_csv_table(rows), sink)
    return sink.getvalue().to_pybytes()


def write_rows(out: str | Path, rows: list[dict]) -> None:
    """All rows to `out` (Parquet) and its CSV, each through a temporary file: a crash never leaves half a file."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    table_now = table(rows)
    for target, write in ((path, lambda tmp: pq.write_table(table_now, tmp)),
                          (csv_path(path), lambda tmp: pacsv.write_csv(_csv_table(rows), tmp))):
        temporary = target.with_name(target.name + ".part")
        write(temporary)
        temporary.replace(target)


def row_uid(row: dict) -> tuple[str, str]:
    """The object a row was judged on, as `Item.uid` names it: (image hash, object; "" where an image has one)."""
    return row.get("image_sha"), row.get("object") or ""


def row_key(row: dict) -> tuple:
    return tuple(row[name] for name in KEY)


def _rates(by_object: dict) -> dict:
    """n, flips and mean drop of a group of rows, each with its interval."""
    in_order = [by_object[key] for key in sorted(by_object)]  # by object: the same rows give the same numbers
    flips = [bool(r["changed"]) for r in in_order]          # whichever engine wrote them in whatever order
    drops = [float(r["drop"]) for r in in_order]
    low, high = proportion_interval(sum(flips), len(flips))
    return {"n": len(flips), "flipped": sum(flips), "flip_rate": sum(flips) / len(flips), "flip_ci": [low, high],
            "flip_ci_method": "clopper-pearson", "mean_drop": sum(drops) / len(drops),
            "mean_drop_ci": drop_interval(drops), "resamples": RESAMPLES}


def size_of(share: float | None) -> str:
    """The SIZES bucket of an object's share of the image."""
    if share is None:
        return "unknown"
    return next(name for name, upper in SIZES if share < upper)


CROWD_VALUES = ("single objects", "crowd regions")  # the crowd axis: COCO's iscrowd 0 and 1


def slice_value(row: dict, by: str) -> str:
    """A row's value on a slicing axis: its category (or expected label), its object's size, or whether it is a
    crowd region (COCO's iscrowd; CVAT and Datumaro mark every brush mask so)."""
    if by == "size":
        return size_of(row.get("object_share"))
    if by == "crowd":
        return CROWD_VALUES[bool(row.get("crowd"))]
    return row.get("category") or row.get("expected_label") or "(none)"


def slices(rows: list[dict], plan: Plan) -> list[dict]:
    """Flip rate and mean drop per model x inpainter x mode, sliced by category and by object size, each
    with its interval: {"by", "value", "model", "inpainter", "mode", "preprocess", "n", "flip_rate", ...}.
    Within one model x inpainter x mode, a slicing's n add up to the summary's n."""
    found = []
    for by in ("category", "size", "crowd"):
        groups: dict[tuple, dict] = {}
        for row in rows:
            if row["preprocess"] != plan.preprocess or int(row["seed"]) != int(plan.seed) or row["model"] not in plan.models:
                continue
            key = (row["model"], row["inpainter"], row["mode"], slice_value(row, by))
            groups.setdefault(key, {})[row_uid(row)] = row
        if by == "category" and {key[3] for key in groups} == {"(none)"}:
            continue  # no object has a category or an expected label: nothing to slice by
        if by == "crowd" and {key[3] for key in groups} <= {CROWD_VALUES[0]}:
            continue  # no crowd region: one slice, the whole
        order = {"size": [name for name, _ in SIZES] + ["unknown"], "crowd": list(CROWD_VALUES)}.get(by)
        for (model, inpainter, mode, value), by_object in sorted(
                groups.items(), key=lambda g: (g[0][:3], order.index(g[0][3]) if order else g[0][3])):
            found.append({"by": by, "value": value, "model": model, "inpainter": inpainter, "mode": mode,
                          "preprocess": plan.preprocess, **_rates(by_object)})
    return found


def summarise(rows: list[dict], plan: Plan) -> tuple[list[dict], list[dict]]:
    """(summary per model x inpainter x mode, paired McNemar tests between models) over the plan's rows."""
    groups: dict[tuple, dict[str, dict]] = {}
    for row in rows:
        if row["preprocess"] != plan.preprocess or int(row["seed"]) != int(plan.seed):
            continue
        groups.setdefault((row["model"], row["inpainter"], row["mode"]), {})[row_uid(row)] = row
    summary = []
    for (model, inpainter, mode), by_image in sorted(groups.items()):
        if model not in plan.models:
            continue
        entry = {"model": model, "inpainter": inpainter, "mode": mode, "preprocess": plan.preprocess,
                 **_rates(by_image)}
        shares = [r["flip_share"] for r in by_image.values() if r.get("flip_share") is not None]
        if plan.flip and mode == "object":
            entry["flip_found"] = len(shares)
            entry["median_flip_share"] = sorted(shares)[len(shares) // 2] if shares else None

            margins = [r["flip_margin"] for r in by_image.values() if r.get("flip_margin") is not None]
            entry["fragile_flips"] = sum(1 for margin in margins if margin < FRAGILE_MARGIN)  # leads under 5 points
        summary.append(entry)
    paired = []
    settings = sorted({(inpainter, mode) for (_, inpainter, mode) in groups})
    for inpainter, mode in settings:
        for a, b in combinations([m for m in plan.models if (m, inpainter, mode) in groups], 2):
            n, a_only, b_only = paired_flips({k: bool(r["changed"]) for k, r in groups[(a, inpainter, mode)].items()},
                                             {k: bool(r["changed"]) for k, r in groups[(b, inpainter, mode)].items()})
            p = mcnemar_exact(a_only, b_only)
            paired.append({"a": a, "b": b, "inpainter": inpainter, "mode": mode, "preprocess": plan.preprocess,
                           "n": n, "only_a": a_only,
                           "only_b": b_only, "p_value": p, "differ": p < 0.05})
    return summary, paired

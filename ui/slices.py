"""A sweep's results to look at, on the Sweeps page and in History: the flip rate and mean drop sliced by
category, by object size or by model x inpainter, each with its interval, as a chart whose bars filter the
rows below (a click, or the list beside it from the keyboard); the rows themselves, sortable and filterable;
and a row opened on Explore, where the person can go on probing that image."""

import pandas as pd
import streamlit as st

from ic.errors import ICError
from ic.numbers import PERCENT, POINTS, percent_range
from ic.sweeps import SIZES, slice_value
from ic.sweeps.stats import MIN_BOOTSTRAP
from ui import editing, names, visiting
from ui.results import answer_first
from ui.text import error_text, plain

AXES = {"category": "Category (or expected label)", "size": "Object size (share of the image)",
        "crowd": "Crowd regions", "setting": "Classifier × inpainter"}
SIZE_NOTE = ("Sizes are the object's share of the image: " + ", ".join(name for name, _ in SIZES) + " (COCO's "
             "small, medium and large count pixels, which mean little across photo sizes).")


def _setting(entry: dict) -> str:
    return names.setting(entry["model"], entry["inpainter"]) + ("" if entry["mode"] == "object" else f" · {entry['mode']}")


def slice_frame(summary: list[dict], slices: list[dict], by: str) -> pd.DataFrame:
    """One line per slice value and setting: n, flip rate with its exact interval, mean drop with its bootstrap
    interval (none under MIN_BOOTSTRAP objects)."""
    entries = ([{**entry, "value": _setting(entry)} for entry in summary] if by == "setting"
               else [entry for entry in slices if entry["by"] == by])
    return pd.DataFrame([{
        "value": str(entry["value"]), "setting": _setting(entry), "objects": entry["n"], "flipped": entry["flipped"],
        "flip rate": entry["flip_rate"], "low": entry["flip_ci"][0], "high": entry["flip_ci"][1],
        "mean drop (pt)": entry["mean_drop"] * 100,
        "drop 95% CI (pt)": ("{:+.1f} to {:+.1f}".format(*(v * 100 for v in entry["mean_drop_ci"]))
                             if entry.get("mean_drop_ci") else f"none: under {MIN_BOOTSTRAP}")} for entry in entries],
        columns=["value", "setting", "objects", "flipped", "flip rate", "low", "high", "mean drop (pt)",
                 "drop 95% CI (pt)"])


def _chart(frame: pd.DataFrame, key: str, on_select):
    import altair as alt  # half a second to import: only once there is a chart to draw

    pick = alt.selection_point(name="pick", fields=["value"])
    settings = list(dict.fromkeys(frame["setting"]))
    base = alt.Chart(frame).encode(y=alt.Y("value:N", title=None, sort=list(dict.fromkeys(frame["value"])),
                                           axis=alt.Axis(labelLimit=140)),
                                   yOffset=alt.YOffset("setting:N", sort=settings))
    rate = alt.X("flip rate:Q", title="flip rate, with its exact 95% interval",
                 scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%", tickCount=5))
    bars = base.mark_bar(height={"band": 0.8}).encode(
        # under the plot: beside it, a phone's plot would be a few pixels wide
        color=alt.Color("setting:N", title="classifier · inpainter", sort=settings,
                        legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=320)),
        x=rate,
        opacity=alt.condition(pick, alt.value(0.85), alt.value(0.3)),
        tooltip=["value", "setting", "objects", alt.Tooltip("flip rate:Q", format=".1%"),
                 alt.Tooltip("low:Q", format=".1%", title="95% CI low"),
                 alt.Tooltip("high:Q", format=".1%", title="95% CI high"),
                 alt.Tooltip("mean drop (pt):Q", format="+.1f"), "drop 95% CI (pt)"]).add_params(pick)
    # the interval as a thin grey line through the bar, and the rate written at its end (a 0% bar has no length)
    rules = base.mark_rule(color="gray", strokeWidth=1, opacity=0.9).encode(x="low:Q", x2="high:Q")
    labels = base.mark_text(align="left", dx=4, fontSize=11, color="gray").encode(
        x="flip rate:Q", text=alt.Text("flip rate:Q", format=".1%"))
    # Streamlit fits the whole chart (axis and legend too) in its height: room for each bar, the axis and the
    # legend's lines, or the plot is squeezed to a few pixels (it was: ten bars in 90 px, on a phone 10)
    height = 26 * len(frame) + 90 + 24 * (len(settings) + 1)
    # SVG: each bar is an element with its own label (value, setting, flip rate) for screen readers
    chart = (bars + rules + labels).properties(height=height, usermeta={"embedOptions": {"renderer": "svg"}})
    return st.altair_chart(chart, width="stretch", key=key, on_select=on_select, selection_mode="pick")


def _picked(key: str, filter_key: str) -> None:
    """A bar clicked: its value becomes the filter (the list beside the chart shows it, and takes it back)."""
    event = st.session_state.get(key)
    chosen = [point.get("value") for point in (event or {}).get("selection", {}).get("pick", []) if point.get("value")]
    st.session_state[filter_key] = list(dict.fromkeys(chosen))


def slices_view(summary: list[dict], slices: list[dict], rows: list[dict], key: str, opener=None) -> None:
    """The slices, the chart and the rows table. `opener(row)`, when given, opens a row on Explore (None where
    the photos are not at hand: History keeps the rows, not the dataset)."""
    st.subheader("Sliced")
    axis_col, filter_col = st.columns([2, 3])
    axes = [axis for axis in AXES if axis != "crowd" or any(entry["by"] == "crowd" for entry in slices)]
    by = axis_col.radio("Slice by", axes, format_func=AXES.get, key=f"{key}-by", horizontal=True)
    frame = slice_frame(summary, slices, by)
    filter_key = f"{key}-filter-{by}"
    values = list(dict.fromkeys(frame["value"]))
    st.session_state[filter_key] = [v for v in st.session_state.get(filter_key, []) if v in values]
    chosen = filter_col.multiselect("Show the rows of", values, key=filter_key, placeholder="every slice (or click a bar)")
    if frame.empty:
        st.caption("No rows to slice.")
        return
    _chart(frame, f"{key}-chart-{by}", lambda: _picked(f"{key}-chart-{by}", filter_key))
    st.caption("Flip rates with exact 95% (Clopper-Pearson) intervals; mean drops with 95% percentile-bootstrap "
               f"intervals, none under {MIN_BOOTSTRAP} objects (a bootstrap of fewer is falsely narrow). "
               + (SIZE_NOTE if by == "size" else "Within one classifier × inpainter the slices' objects add up to "
                  "the summary's."))
    st.dataframe(frame.drop(columns=["low", "high"]).assign(**{
                     "flip rate": frame["flip rate"] * 100,
                     "95% CI": [percent_range(lo, hi) for lo, hi in zip(frame["low"], frame["high"])]}),
                 hide_index=True, width="stretch",
                 column_config={"flip rate": st.column_config.NumberColumn(format=PERCENT),
                                "mean drop (pt)": st.column_config.NumberColumn(format=POINTS)})
    rows_table(rows, by, chosen, key, opener)


def rows_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{
        "image": row["image"], "object": row.get("object") or "", "category": slice_value(row, "category"),
        "size": None if row.get("object_share") is None else row["object_share"] * 100, "mask from": row.get("mask_from") or "mask",
        "crowd": "crowd" if row.get("crowd") else "", "classifier": names.model(row["model"]),
        "inpainter": names.inpainter(row["inpainter"]),
        "mode": row["mode"], "before": row["top1_before_label"],
        "after": row["top1_after_label"], "changed": bool(row["changed"]), "drop (pt)": row["drop"] * 100}
        for row in rows], columns=["image", "object", "category", "size", "mask from", "crowd", "classifier", "inpainter",
                                   "mode", "before", "after", "changed", "drop (pt)"])


def _in_slice(row: dict, by: str, chosen: list[str]) -> bool:
    if not chosen:
        return True
    value = _setting({"model": row["model"], "inpainter": row["inpainter"], "mode": row["mode"]}) if by == "setting" \
        else slice_value(row, by)
    return value in chosen


def rows_table(rows: list[dict], by: str, chosen: list[str], key: str, opener) -> None:
    """The rows of the chosen slices (all, with none chosen), narrowed by a search and "only flipped"; a selected
    row opens on Explore."""
    search_col, flipped_col = st.columns([3, 1])
    search = search_col.text_input("Find rows", key=f"{key}-search", placeholder="image, category or class name")
    only_flipped = flipped_col.checkbox("Only flipped", key=f"{key}-only-flipped")
    text = search.strip().casefold()
    shown = [row for row in rows if _in_slice(row, by, chosen) and (not only_flipped or row["changed"])
             and (not text or any(text in str(row.get(name) or "").casefold() for name in
                                  ("image", "object", "category", "expected_label", "top1_before_label",
                                   "top1_after_label", "model", "inpainter")))]
    st.caption(f"{len(shown)} of {len(rows)} rows" + (f" in {', '.join(map(plain, chosen))}" if chosen else "")
               + ". Click a column's header to sort.")
    frame = rows_frame(shown)
    first = ["image", "object", "before", "after", "changed", "drop (pt)"]  # the answer before the particulars
    st.dataframe(frame, hide_index=True, width="stretch", key=f"{key}-rows",
                 column_order=answer_first(frame, first),
                 column_config={"size": st.column_config.NumberColumn(format=PERCENT,
                                                                     help="The object's share of the image"),
                                "drop (pt)": st.column_config.NumberColumn(format=POINTS)})
    if opener is None:
        st.caption("History keeps a sweep's rows, not its photos: to open a row on Explore, run the sweep again "
                   "on the Sweeps page.")
        return
    if not shown:
        return
    titles = {_row_title(row): row for row in shown}  # the titles themselves as options: a filter changes them
    pick_col, open_col = st.columns([4, 1], vertical_alignment="bottom")
    title = pick_col.selectbox("Open a row on Explore", list(titles), key=f"{key}-open-row")
    if open_col.button("Open on Explore", type="primary", key=f"{key}-open", icon=":material/open_in_new:"):
        opener(titles.get(title) or shown[0])


def _row_title(row: dict) -> str:
    return (f"{row['image']}" + (f" ({row['object']}, {row['category']})" if row.get("object") else "")
            + f" · {names.setting(row['model'], row['inpainter'])}" + (f" · {row['mode']}" if row["mode"] != "object" else "")
            + f": {row['top1_before_label']} → {row['top1_after_label']}")


def open_on_explore(job, row: dict) -> None:
    """The row's photo and removal on Explore (a finished sweep job of this server holds the photos)."""
    item = job.item(row)
    if item is None:
        st.warning("That row's photo is not in the sweep's dataset any more; run the sweep again to open it.")
        return
    try:
        editing.open_sweep_row(item, row)
    except ICError as exc:
        st.error(error_text(exc))
        return
    st.switch_page("app_pages/explore.py", query_params=visiting.link_params())

"""The before/after table and chart, shared by the pages."""

import pandas as pd
import streamlit as st

from ic.experiment import flip_lead
from ic.explain.flip import FRAGILE_MARGIN, is_fragile
from ic.numbers import percent
from ui import names
from ui.text import plain


def answer_first(frame: pd.DataFrame, first: list[str]) -> list[str]:
    """A table's column order with the columns that answer its question first (on a phone only the first two or
    three are in view), then the rest as they come."""
    return [*first, *(name for name in frame.columns if name not in first)]


def rows_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame({
        "class": [row["label"] + (" 📌" if row.get("pinned") else "") for row in rows],
        "index": [row["index"] for row in rows],  # the class index: two classes can share a label
        "original %": [row["before"] * 100 for row in rows],
        "edited %": [row["after"] * 100 for row in rows],
        "change (pt)": [row["delta"] * 100 for row in rows],
    })


# A rise in green, a fall in red, each at least 4.5:1 on the theme's background (WCAG AA): no one colour passes on
# both white and Streamlit's dark background, so the theme the browser reports chooses (st.context.theme).
CHANGE_COLOURS = {"light": ("#1a7f37", "#cf222e"), "dark": ("#3fb950", "#ff7b72")}


def _theme() -> str:
    return "dark" if getattr(getattr(st.context, "theme", None), "type", None) == "dark" else "light"


def _change_colour(value: float, theme: str = "light") -> str:
    rise, fall = CHANGE_COLOURS[theme]
    if value > 0.05:
        return f"color: {rise}; font-weight: 600"
    if value < -0.05:
        return f"color: {fall}; font-weight: 600"
    return ""


def show_table(rows: list[dict]) -> None:
    """A plain HTML table: small, styled, and readable by screen readers and browser tests alike. Its cells
    render markdown, so labels (a local model's sidecar names them) go in as plain text."""
    frame = rows_frame(rows).rename(columns={"index": "class id"})
    frame["class"] = frame["class"].map(plain)
    styled = (frame.style.format({"original %": "{:.1f}", "edited %": "{:.1f}", "change (pt)": "{:+.1f}"})  # ic.numbers' rule
              .map(_change_colour, theme=_theme(), subset=["change (pt)"]).hide(axis="index"))
    st.table(styled)


def show_chart(rows: list[dict]) -> None:
    """Bars across, one class a row: every class keeps its label at any width (upright labels on a narrow
    column were dropped where they would overlap). A plain Vega-Lite spec: building it through Altair cost
    more than the rest of the results."""
    frame = rows_frame(rows)
    order = list(frame["class"])
    long = frame.melt(id_vars=["class"], value_vars=["original %", "edited %"], var_name="image", value_name="percent")
    images = ["original %", "edited %"]
    spec = {
        "mark": {"type": "bar"},
        "height": {"step": 13},
        "encoding": {
            "y": {"field": "class", "type": "nominal", "sort": order, "title": None,
                  "axis": {"labelLimit": 150, "labelOverlap": False}},
            "yOffset": {"field": "image", "type": "nominal", "sort": images},
            "x": {"field": "percent", "type": "quantitative", "title": "probability %", "scale": {"domain": [0, 100]}},
            "color": {"field": "image", "type": "nominal", "scale": {"domain": images, "range": ["#8c959f", "#ff0050"]},
                      "legend": {"orient": "top", "title": None}},
            "tooltip": [{"field": "class"}, {"field": "image"},
                        {"field": "percent", "type": "quantitative", "format": ".1f"}],
        },
    }
    st.vega_lite_chart(long, spec, width="stretch")


def headline(summary: dict) -> str:
    """The experiment's answer in one sentence, as Explore's notice says it: whether the top-1 changed, with the
    probabilities before and after; its words are the model's and the photo's, so markdown is escaped."""
    before, after = summary["original"]["top"], summary["edited"]["top"]
    if not before or not after:
        return ""
    was, now = before[0], after[0]
    who = plain(names.model(summary["model"]))
    removed = f"{percent(summary.get('removed_fraction', 0))} of the photo removed with " \
              f"{plain(names.inpainter(summary['inpainter']))}"
    if was["index"] != now["index"]:
        return (f"**Top-1 changed** ({removed}): {who} said {plain(was['label'])} ({percent(was['prob'])}), "
                f"now {plain(now['label'])} ({percent(now['prob'])}).")
    held = next((row["after"] for row in summary.get("changes", []) if row["index"] == was["index"]), now["prob"])
    return (f"**Top-1 unchanged** ({removed}): {who} still says {plain(was['label'])}, "
            f"{percent(was['prob'])} → {percent(held)}.")


def show_lead(summary: dict) -> None:
    """For an experiment whose top-1 changed: how far the new top-1 leads its runner-up, and a warning when
    the lead is under FRAGILE_MARGIN (a near tie: a slightly different removal could keep the old answer)."""
    lead = flip_lead(summary)
    if lead is None:
        return
    said = (f"{plain(summary['edited']['top'][0]['label'])} leads the runner-up, {plain(lead[1])}, by "
            f"{lead[0] * 100:.1f} pt")
    if is_fragile(lead[0]):
        st.warning(f"A fragile flip: {said} (under {FRAGILE_MARGIN * 100:.0f}), close to a tie; a slightly "
                   "different removal could keep the old answer.")
    else:
        st.caption(f"{said}.")

"""Sweeps: a dataset of photos with object masks, across classifiers and inpainters, with numbers to trust.

The sweep runs in the workbench's worker: leaving the page (or closing the tab) does not stop it, and this
page shows its progress when it comes back. Finished sweeps are kept in History."""

import pandas as pd
import streamlit as st

from ic.app import Source
from ic.classifiers import PREPROCESS_TITLES
from ic.errors import ICError
from ic.numbers import PERCENT, POINTS, p_value
from ic.sweeps import ReadOptions, notes_phrase
from ui import idle, names, visiting
from ui.notices import saving_notice
from ui.results import answer_first
from ui.slices import open_on_explore, slices_view
from ui.text import error_text, plain

POLL_S = 1.0
FLIPPED_SHOWN = 24


def summary_frame(summary: list[dict]) -> pd.DataFrame:
    """Flip rates as shares (shown as percentages), mean drops in probability points, as on every other page."""
    return pd.DataFrame([{"classifier": names.model(s["model"]), "inpainter": names.inpainter(s["inpainter"]), "mode": s["mode"],
                          "sees": PREPROCESS_TITLES.get(s.get("preprocess", "squash"), ""), "objects": s["n"],
                          "flip rate": s["flip_rate"], "95% CI low": s["flip_ci"][0], "95% CI high": s["flip_ci"][1],
                          "mean drop (pt)": s["mean_drop"] * 100,
                          "drop 95% CI (pt)": "{:+.1f} to {:+.1f}".format(*(v * 100 for v in s["mean_drop_ci"]))
                          if s.get("mean_drop_ci") else "none: under 10 objects"} for s in summary])


def interval_chart(frame: pd.DataFrame) -> None:
    import altair as alt  # half a second to import: only once there is a chart to draw

    if frame.empty:
        return
    frame = frame.assign(setting=frame["inpainter"] + " · " + frame["mode"])
    base = alt.Chart(frame).encode(y=alt.Y("classifier:N", title=None), yOffset="setting:N",
                                   color=alt.Color("setting:N", title="inpainter · mode",  # under: a phone's plot keeps the width
                                                   legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=320)))
    # percent on the axis, as in the table beside it (it read 0.00-1.00)
    rules = base.mark_rule(strokeWidth=2).encode(x=alt.X("95% CI low:Q", title="flip rate (95% Clopper-Pearson interval)",
                                                         scale=alt.Scale(domain=[0, 1]),
                                                         axis=alt.Axis(format="%", tickCount=5)), x2="95% CI high:Q")
    points = base.mark_point(filled=True, size=70).encode(
        x="flip rate:Q", tooltip=["classifier", "inpainter", "mode", "objects", alt.Tooltip("flip rate:Q", format=".1%"),
                                  alt.Tooltip("95% CI low:Q", format=".1%"), alt.Tooltip("95% CI high:Q", format=".1%")])
    st.altair_chart((rules + points).properties(height=max(120, 36 * len(frame))), width="stretch")


def paired_frame(paired: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{"A": names.model(p["a"]), "B": names.model(p["b"]), "inpainter": names.inpainter(p["inpainter"]),
                          "mode": p["mode"], "objects": p["n"],
                          "only A flipped": p["only_a"], "only B flipped": p["only_b"], "p (exact McNemar)": p["p_value"],
                          "verdict": "differ beyond chance" if p["differ"] else "no difference beyond chance"}
                         for p in paired])


def paired_table(paired: list[dict]) -> None:
    """McNemar's tests, the verdict and p first (at 1280 px the verdict was cut, on a phone off screen)."""
    frame = paired_frame(paired).assign(**{"p (exact McNemar)": [p_value(p["p_value"]) for p in paired]})
    first = ["A", "B", "verdict", "p (exact McNemar)"]
    st.dataframe(frame, hide_index=True, width="stretch",
                 column_order=answer_first(frame, first),
                 column_config={"verdict": st.column_config.TextColumn(width="medium")})


def flipped(job) -> None:
    """The edited images whose top-1 changed, as the classifier saw them, with the before and after labels."""
    rows = [r for r in job.result.rows if r["changed"] and r["mode"] == "object"]
    if not rows:
        st.caption("No removal changed a top-1.")
        return
    st.subheader(f"Flipped ({len(rows)})")
    columns = st.columns(6)
    shown = [(row, job.flipped[key]) for row in rows
             if (key := (row["image"], row.get("object") or "", row["model"], row["inpainter"])) in job.flipped]
    for number, (row, thumbnail) in enumerate(shown):
        said = (f"{row['image']} without its object ({row['inpainter']}): {row['model']} says "
                f"{row['top1_after_label']}, not {row['top1_before_label']}")
        columns[number % 6].image(thumbnail, alt=said, caption=f"{plain(row['image'])} · {plain(row['model'])} · "
                                  f"{plain(row['inpainter'])}: {plain(row['top1_before_label'])} → "
                                  f"{plain(row['top1_after_label'])}")
    if len(rows) > len(shown):
        st.caption(f"… and {len(rows) - len(shown)} more in the downloads.")


def unmatched(found: list[dict]) -> None:
    """The expected labels a classifier has no class for, each once with the classifiers that lack it."""
    by_label: dict[str, tuple[list[str], int]] = {}
    for entry in found:
        models, objects = by_label.get(entry["label"], ([], entry["objects"]))
        by_label[entry["label"]] = ([*models, entry["model"]], objects)
    said = [f"“{plain(label)}” ({objects} object{'s' if objects != 1 else ''}; not in {', '.join(plain(names.model(m)) for m in models)})"
            for label, (models, objects) in list(by_label.items())[:8]]
    st.info("Some expected labels are no class of the classifier, so their rows count in the flip rates but not in "
            "the accuracy: " + "; ".join(said) + ("…" if len(by_label) > 8 else "") + ".")


def results(job) -> None:
    result = job.result
    seconds = result.timings.get("total", 0)
    objects = f", {result.objects} objects ({FORMAT_TITLES.get(result.format, result.format)})" \
        if result.objects != result.images else ""
    st.success(f"{result.images} images{objects}, {len(result.rows)} rows in {seconds:.{0 if seconds >= 10 else 1}f} s"
               + (f"; {notes_phrase(result.skipped)}" if result.skipped else "") + ". Kept in History.")
    frame = summary_frame(result.summary)
    rates = ("flip rate", "95% CI low", "95% CI high")
    first = ["classifier", "inpainter", *rates, "mean drop (pt)", "drop 95% CI (pt)"]  # the answer after whose
    st.dataframe(frame.assign(**{name: frame[name] * 100 for name in rates}), hide_index=True, width="stretch",
                 column_order=answer_first(frame, first),
                 column_config={**{name: st.column_config.NumberColumn(format=PERCENT) for name in rates},
                                "mean drop (pt)": st.column_config.NumberColumn(
                                    format=POINTS, help="The original top-1's probability before less after, "
                                                         "in percentage points")})
    interval_chart(frame)
    if result.paired:
        st.markdown("**Do two classifiers differ?** Exact McNemar tests on the same images:")
        paired_table(result.paired)
    if result.unmatched:
        unmatched(result.unmatched)
    slices_view(result.summary, result.slices, result.rows, "sweep-slices", opener=lambda row: open_on_explore(job, row))
    flipped(job)
    if result.skipped:
        with st.expander(f"Skipped or noted ({len(result.skipped)})"):
            st.dataframe(pd.DataFrame(result.skipped), hide_index=True, width="stretch")
    left, right = st.columns(2)
    left.download_button("Rows as CSV", job.files()["csv"], file_name=f"{job.name}-sweep.csv", mime="text/csv")
    right.download_button("Rows as Parquet", job.files()["parquet"], file_name=f"{job.name}-sweep.parquet",
                          mime="application/vnd.apache.parquet")


def progress_view() -> None:
    """While the sweep runs: its progress, looked at again every POLL_S; the whole page once it ends."""
    workbench, visitor = visiting.workbench(), visiting.visitor()
    job = workbench.jobs.sweep_job(visitor)
    if job is None:
        return
    if job.running:
        st.progress(job.share(), text=f"{job.done} of {job.total} rows · {plain(job.message)}")
        st.button("Cancel the sweep", on_click=workbench.jobs.cancel_sweep, args=(visitor,), key="sweep-cancel")
    else:
        st.rerun(scope="app")


FORMAT_TITLES = {"auto": "Found from its files", "masks": "Photos with masks", "folders": "Class folders",
                 "coco": "COCO instances", "voc": "Pascal VOC", "boxes": "Box CSV"}


def dataset_options(running: bool) -> dict:
    """How the dataset is read: its format, which objects (categories, least size), how a box becomes a mask."""
    with st.expander("Dataset format and objects"):
        left, right = st.columns(2)
        fmt = left.selectbox("Format", list(FORMAT_TITLES), format_func=FORMAT_TITLES.get, key="sweep-format",
                             disabled=running)
        categories = right.text_input("Categories (comma-separated; empty: all)", key="sweep-categories",
                                      disabled=running, placeholder="person, dog")
        min_area = left.number_input("Least object size (share of the image)", 0.0, 0.99, 0.0, 0.01, format="%.2f",
                                     key="sweep-min-area", disabled=running)
        box_to_mask = right.radio("A box without a mask is removed as", ["box", "grabcut"], key="sweep-box-to-mask",
                                  horizontal=True, disabled=running,
                                  format_func={"box": "the box", "grabcut": "the object in it (GrabCut)"}.get)
        crowds = left.checkbox("Sweep crowd regions", True, key="sweep-crowds", disabled=running,
                               help="COCO's iscrowd regions (CVAT and Datumaro export every brush mask so): swept and "
                                    "sliced apart, or left out")
    names = tuple(name.strip() for name in categories.split(",") if name.strip())
    return {"fmt": fmt, "options": ReadOptions(names, float(min_area), box_to_mask, crowds)}


def choose(workbench, running: bool) -> dict | None:
    """The dataset and what to ask of it. Drawn while a sweep runs too (locked), so that its choices and its ZIP
    are still there when it ends."""
    upload = st.file_uploader("A ZIP of a dataset: photos with NAME_mask.png beside them (or masks/NAME.png, and "
                              "labels.csv with image,label), class folders (CLASS/NAME.jpg), COCO instances (a JSON "
                              "with its images), Pascal VOC (Annotations/, JPEGImages/, SegmentationObject/) or a box "
                              "CSV (image,label,x0,y0,x1,y1). Exports of CVAT, Datumaro, labelme, LabelImg and "
                              "Roboflow are read as they are.", type=["zip"], key="sweep-zip", disabled=running)
    folder = None
    if workbench.policy.sweep_root() is not None:
        folder = st.text_input(f"…or a folder on the server, under {workbench.policy.sweep_root()}", key="sweep-folder",
                               disabled=running)
    models = [choice.name for choice in workbench.policy.model_choices() if choice.available()[0]]
    titles = {row["name"]: row["title"] for row in workbench.policy.inpainter_choices()}
    inpainters = [row["name"] for row in workbench.policy.inpainter_choices() if row["available"]]
    left, right = st.columns(2)
    chosen_models = left.multiselect("Classifiers", models, default=models[:2], key="sweep-models", disabled=running,
                                     format_func=names.model)
    chosen_inpainters = right.multiselect("Inpainters", inpainters, default=["telea"] if "telea" in inpainters
                                          else inpainters[:1], key="sweep-inpainters", disabled=running,
                                          format_func=lambda name: titles.get(name, name))
    reading = dataset_options(running)
    context = st.checkbox("Also keep only the object, the rest blurred (object against context)", key="sweep-context",
                          disabled=running)
    flip = st.checkbox("Also find the smallest removal that changes each answer (slow: tens of classifications an "
                       "image)", key="sweep-flip", disabled=running)
    both = st.checkbox("Also judge with the model's center crop (what the classifier sees as another axis: the "
                       "whole image squashed and the center crop often disagree)", key="sweep-both-modes",
                       disabled=running)
    if not st.button("Run the sweep", type="primary", disabled=running or not (upload or folder), key="sweep-run"):
        return None
    source = Source((upload.name if upload else folder).rsplit(".", 1)[0], upload.getvalue() if upload else None,
                    folder or None, **reading)
    return {"source": source, "models": chosen_models, "inpainters": chosen_inpainters, "context": context,
            "flip": flip, "modes": ("squash", "center") if both else ("squash",)}


def main() -> None:
    visitor = visiting.visitor()
    st.title("Sweeps")
    saving_notice()
    workbench = visiting.workbench()
    refusal = workbench.policy.sweeps_refused()
    if refusal:
        st.info(refusal)
        return
    st.caption("The same question asked of a whole dataset: for each photo, classifier and inpainter, does removing "
               "the object change the top-1? Flip rates come with exact 95% (Clopper-Pearson) intervals, and each pair of "
               "classifiers with an exact McNemar test on the same photos.")
    job = workbench.jobs.sweep_job(visitor)
    running = job is not None and job.running
    if running:
        idle.expect("sweep")
        st.fragment(progress_view, run_every=POLL_S)()
    elif job is not None and job.problem:
        st.warning(plain(job.problem))  # it names files from the dataset
    request = choose(workbench, running)
    if request is not None:
        try:
            workbench.jobs.start_sweep(visitor, **request)
        except ICError as exc:
            st.error(error_text(exc))
        else:
            st.rerun()
    if not running and job is not None and job.result is not None:
        st.divider()
        st.header(f"Last sweep: {plain(job.name)}", anchor=False)  # no anchor built from an outside name
        results(job)


main()

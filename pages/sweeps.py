"""Sweeps: a dataset of photos with object masks, across classifiers and inpainters, with numbers to trust.

The sweep runs in the workbench's worker: leaving the page (or closing the tab) does not stop it, and this
page shows its progress when it comes back. Finished sweeps are kept in History."""

import altair as alt
import pandas as pd
import streamlit as st

from ic.errors import ICError
from ic.images import decode_image, decode_mask, overlay_mask, square_thumbnail
from ui import session
from ui.navigation import saving_notice, sidebar_links

st.set_page_config(page_title="Sweeps · Interactive Classification", page_icon="📊", layout="wide")

POLL_S = 1.0
FLIPPED_SHOWN = 24


def summary_frame(summary: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{"classifier": s["model"], "inpainter": s["inpainter"], "mode": s["mode"], "images": s["n"],
                          "flip rate": s["flip_rate"], "95% CI low": s["flip_ci"][0], "95% CI high": s["flip_ci"][1],
                          "mean drop": s["mean_drop"]} for s in summary])


def interval_chart(frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    frame = frame.assign(setting=frame["inpainter"] + " · " + frame["mode"])
    base = alt.Chart(frame).encode(y=alt.Y("classifier:N", title=None), yOffset="setting:N",
                                   color=alt.Color("setting:N", title="inpainter · mode"))
    rules = base.mark_rule(strokeWidth=2).encode(x=alt.X("95% CI low:Q", title="flip rate (95% bootstrap interval)",
                                                         scale=alt.Scale(domain=[0, 1])), x2="95% CI high:Q")
    points = base.mark_point(filled=True, size=70).encode(
        x="flip rate:Q", tooltip=["classifier", "inpainter", "mode", "images", alt.Tooltip("flip rate:Q", format=".1%"),
                                  alt.Tooltip("95% CI low:Q", format=".1%"), alt.Tooltip("95% CI high:Q", format=".1%")])
    st.altair_chart((rules + points).properties(height=max(120, 36 * len(frame))), width="stretch")


def paired_frame(paired: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{"A": p["a"], "B": p["b"], "inpainter": p["inpainter"], "mode": p["mode"], "images": p["n"],
                          "only A flipped": p["only_a"], "only B flipped": p["only_b"], "p (exact McNemar)": p["p_value"],
                          "verdict": "differ beyond chance" if p["differ"] else "no difference beyond chance"}
                         for p in paired])


def flipped(job) -> None:
    rows = [r for r in job.result.rows if r["changed"] and r["mode"] == "object"]
    if not rows:
        st.caption("No removal changed a top-1.")
        return
    st.subheader(f"Flipped ({len(rows)})")
    items = {item.name: item for item in job.items}
    columns = st.columns(6)
    for number, row in enumerate(rows[:FLIPPED_SHOWN]):
        item = items.get(row["image"])
        if item is None:
            continue
        try:
            image = decode_image(item.image)
            shown = square_thumbnail(overlay_mask(image, decode_mask(item.mask, image.shape[:2])), 180)
        except ICError:
            continue
        columns[number % 6].image(shown, caption=f"{row['image']} · {row['model']} · {row['inpainter']}: "
                                                 f"{row['top1_before_label']} → {row['top1_after_label']}")
    if len(rows) > FLIPPED_SHOWN:
        st.caption(f"… and {len(rows) - FLIPPED_SHOWN} more in the downloads.")


def results(job) -> None:
    result = job.result
    st.success(f"{result.images} images, {len(result.rows)} rows in {result.timings.get('total', 0):.0f} s"
               + (f"; {len(result.skipped)} files skipped" if result.skipped else "") + ". Kept in History.")
    frame = summary_frame(result.summary)
    st.dataframe(frame, hide_index=True, width="stretch",
                 column_config={name: st.column_config.NumberColumn(format="percent") for name in
                                ("flip rate", "95% CI low", "95% CI high")})
    interval_chart(frame)
    if result.paired:
        st.markdown("**Do two classifiers differ?** Exact McNemar tests on the same images:")
        st.dataframe(paired_frame(result.paired), hide_index=True, width="stretch")
    flipped(job)
    if result.skipped:
        with st.expander(f"Skipped files ({len(result.skipped)})"):
            st.dataframe(pd.DataFrame(result.skipped), hide_index=True, width="stretch")
    left, right = st.columns(2)
    left.download_button("Rows as CSV", job.files()["csv"], file_name=f"{job.name}-sweep.csv", mime="text/csv")
    right.download_button("Rows as Parquet", job.files()["parquet"], file_name=f"{job.name}-sweep.parquet",
                          mime="application/vnd.apache.parquet")


def progress_view() -> None:
    """While the sweep runs: its progress, looked at again every POLL_S; the whole page once it ends."""
    bench, visitor = session.workbench(), session.visitor()
    job = bench.sweep_job(visitor)
    if job is None:
        return
    if job.running:
        st.progress(job.share(), text=f"{job.done} of {job.total} rows · {job.message}")
        st.button("Cancel the sweep", on_click=bench.cancel_sweep, args=(visitor,), key="sweep-cancel")
    else:
        st.rerun(scope="app")


def choose(bench) -> dict | None:
    from ic.inpaint import list_inpainters

    upload = st.file_uploader("A ZIP of photos, each with NAME_mask.png beside it (or masks/NAME.png); optionally "
                              "labels.csv with image,label", type=["zip"], key="sweep-zip")
    folder = None
    if bench.sweep_root() is not None:
        folder = st.text_input(f"…or a folder on the server, under {bench.sweep_root()}", key="sweep-folder")
    models = [choice.name for choice in bench.model_choices() if choice.available()[0]]
    inpainters = [i["name"] for i in list_inpainters() if i.get("available")]
    left, right = st.columns(2)
    chosen_models = left.multiselect("Classifiers", models, default=models[:2], key="sweep-models")
    chosen_inpainters = right.multiselect("Inpainters", inpainters, default=["telea"] if "telea" in inpainters
                                          else inpainters[:1], key="sweep-inpainters")
    context = st.checkbox("Also keep only the object, the rest blurred (object against context)", key="sweep-context")
    flip = st.checkbox("Also find the smallest removal that changes each answer (slow: tens of classifications an "
                       "image)", key="sweep-flip")
    if not st.button("Run the sweep", type="primary", disabled=not (upload or folder)):
        return None
    return {"data": upload.getvalue() if upload else None, "name": (upload.name if upload else folder).rsplit(".", 1)[0],
            "folder": folder or None, "models": chosen_models, "inpainters": chosen_inpainters, "context": context,
            "flip": flip}


def main() -> None:
    visitor = session.visitor()
    sidebar_links(visitor)
    st.title("Sweeps")
    saving_notice()
    bench = session.workbench()
    refusal = bench.sweeps_refused()
    if refusal:
        st.info(refusal)
        return
    st.caption("The same question asked of a whole dataset: for each photo, classifier and inpainter, does removing "
               "the object change the top-1? Flip rates come with 95% bootstrap intervals, and each pair of "
               "classifiers with an exact McNemar test on the same photos.")
    job = bench.sweep_job(visitor)
    if job is not None and job.running:
        st.fragment(progress_view, run_every=POLL_S)()
        return
    if job is not None and job.problem:
        st.warning(job.problem)
    request = choose(bench)
    if request is not None:
        try:
            bench.start_sweep(visitor, **request)
        except ICError as exc:
            st.error(str(exc))
        else:
            st.rerun()
    if job is not None and job.result is not None:
        st.divider()
        st.subheader(f"Last sweep: {job.name}")
        results(job)


main()

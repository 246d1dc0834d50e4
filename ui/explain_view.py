"""The "what does the model look at?" section of the Explore page, and stored maps on the History page."""

import altair as alt
import pandas as pd
import streamlit as st

from ic import explain
from ic.errors import Cancelled, ICError
from ui import session
from ui.text import plain


def _map_image(image, cells, method: str, opacity: float):
    heat = explain.heatmap_from_cells(cells, image.shape[:2], smooth=method != "occlusion")
    return explain.overlay_heatmap(image, heat, opacity)


def show_stored_maps(items: list[dict], images: dict, opacity: float = 0.5) -> None:
    """Maps kept with an experiment: each over the image it explains, with its scores."""
    for item in items:
        details = item.get("details", {})
        scores = []
        if details.get("iou") is not None:
            scores.append(f"IoU with your removal {details['iou']:.2f}")
        if details.get("deletion_area") is not None:
            scores.append(f"deletion area {details['deletion_area']:.3f}")
        caption = (f"{plain(explain.METHODS.get(item['method'], item['method']))} · {plain(item['label'])} (#{item['class_index']}) "
                   f"· on the {item['image']} image" + (" · " + " · ".join(scores) if scores else ""))
        st.image(_map_image(images[item["image"]], item["cells"], item["method"], opacity), caption=caption,
                 width=360)


def deletion_chart(curves: dict) -> None:
    rows = [{"map": name, "removed %": f * 100, "probability %": p * 100}
            for name, curve in curves.items() for f, p in zip(curve.fractions, curve.probs)]
    chart = (alt.Chart(pd.DataFrame(rows)).mark_line(point=True)
             .encode(x=alt.X("removed %:Q", title="share of the image removed, most important cells first (%)"),
                     y=alt.Y("probability %:Q", scale=alt.Scale(domain=[0, 100])), color=alt.Color("map:N"),
                     tooltip=["map", alt.Tooltip("removed %:Q", format=".0f"),
                              alt.Tooltip("probability %:Q", format=".1f")])
             .properties(height=260))
    st.altair_chart(chart, width="stretch")


def explanations_section(edit, classifier, preprocess: str, experiment_id: str | None) -> None:
    st.subheader("What does the model look at?")
    before = edit.original_probs(classifier, preprocess)
    ranked = [int(i) for i in before.argsort()[::-1]]
    class_col, methods_col, grid_col, infill_col = st.columns([3, 3, 2, 2])
    class_index = class_col.selectbox("Class", ranked, key="explain-class",
                                      format_func=lambda i: f"{classifier.labels[i]} (#{i}) · {before[i]:.1%}")
    methods = methods_col.multiselect("Maps", list(explain.METHODS), default=["gradcam", "occlusion"],
                                      format_func=explain.METHODS.get, key="explain-methods")
    grid = grid_col.slider("Occlusion grid", *explain.GRID_RANGE, explain.DEFAULT_GRID, key="explain-grid",
                           disabled="occlusion" not in methods)
    usable = [row["name"] for row in session.workbench().inpainter_choices() if row["available"]]
    infill = infill_col.selectbox("Occlusion infill", usable, index=usable.index(explain.DEFAULT_INFILL),
                                  key="explain-infill", disabled="occlusion" not in methods,
                                  help="Telea is fast; PatchMatch and LaMa are slower and more faithful.")
    opacity = st.slider("Map opacity", 0.0, 1.0, 0.5, 0.05, key="explain-opacity")

    key = (id(edit), edit.removals, classifier.name, preprocess, class_index, tuple(methods), grid, infill)
    if st.button("Compute maps", type="primary", disabled=not methods):
        try:
            session.keep_result("explained", (key, compute(edit, classifier, preprocess, class_index, methods, grid,
                                                           infill, experiment_id)))
        except Cancelled:
            st.info("Cancelled; nothing was computed.")
        except ICError as exc:
            st.error(str(exc))
    stored = session.result("explained")
    if not stored or stored[0] != key:
        st.caption("Choose a class and the maps, then Compute. Scores compare each map with your removals (IoU) "
                   "and with the model (deletion area: lower means the map found what the model needs).")
        return
    results = stored[1]
    for method, maps in results["maps"].items():
        columns = st.columns(len(maps))
        for column, (image_name, item) in zip(columns, maps.items()):
            image = edit.original if image_name == "original" else edit.edited
            column.image(explain.overlay_heatmap(image, item.heatmap, opacity), width="stretch",
                         caption=f"{explain.METHODS[method]} on the {image_name} image")
        score = results["scores"][method]
        st.caption(" · ".join(part for part in (
            f"IoU with your removal {score['iou']:.2f}" if score.get("iou") is not None else "",
            f"deletion area {score['deletion_area']:.3f}") if part))
    deletion_chart(results["curves"])
    if results.get("problem"):
        st.warning(results["problem"])


def compute(edit, classifier, preprocess: str, class_index: int, methods: list[str], grid: int, infill: str,
            experiment_id: str | None) -> dict:
    bench, owner = session.workbench(), session.visitor()
    token = bench.cancel_token(owner)
    bar = st.progress(0.0, text="Computing maps…")
    st.button("Cancel", key="explain-cancel", on_click=bench.cancel, args=(owner,))
    result = bench.explain(classifier, edit.original, class_index, methods,
                           edited=edit.edited if edit.can_undo else None, removed=edit.mask, grid=grid, infill=infill,
                           preprocess=preprocess, progress=lambda share, text: bar.progress(share, text=text),
                           cancel=token, keep_with=(experiment_id, owner) if experiment_id else None)
    bar.empty()
    return result

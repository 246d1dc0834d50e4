"""The "what does the model look at?" section of the Explore page, and stored maps on the History page."""

import altair as alt
import pandas as pd
import streamlit as st

from ic import explain
from ic.errors import ICError
from ic.inpaint import get_inpainter, list_inpainters
from ui import history


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
        caption = (f"{explain.METHODS.get(item['method'], item['method'])} · {item['label']} (#{item['class_index']}) "
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
    usable = [row["name"] for row in list_inpainters() if row["available"]]
    infill = infill_col.selectbox("Occlusion infill", usable, index=usable.index(explain.DEFAULT_INFILL),
                                  key="explain-infill", disabled="occlusion" not in methods,
                                  help="Telea is fast; PatchMatch and LaMa are slower and more faithful.")
    opacity = st.slider("Map opacity", 0.0, 1.0, 0.5, 0.05, key="explain-opacity")

    key = (id(edit), edit.removals, classifier.name, preprocess, class_index, tuple(methods), grid, infill)
    if st.button("Compute maps", type="primary", disabled=not methods):
        try:
            st.session_state["explained"] = (key, compute(edit, classifier, preprocess, class_index, methods, grid,
                                                          infill, experiment_id))
        except ICError as exc:
            st.error(str(exc))
    stored = st.session_state.get("explained")
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
    if results.get("saved_problem"):
        st.warning(results["saved_problem"])


def compute(edit, classifier, preprocess: str, class_index: int, methods: list[str], grid: int, infill: str,
            experiment_id: str | None) -> dict:
    original = explain.explain_copy(edit.original)
    edited = explain.explain_copy(edit.edited)
    bar = st.progress(0.0, text="Computing maps…")
    st.button("Cancel", key="explain-cancel")  # pressing it reruns the page, which stops the computation
    maps, scores, curves = {}, {}, {}
    deletion_infill = get_inpainter(explain.DELETION_INFILL)
    for step, method in enumerate(methods):
        share = 1 / len(methods)
        report = lambda done, step=step: bar.progress(min(1.0, (step + done) * share),
                                                      text=f"{explain.METHODS[method]}…")
        report(0)
        if method == "occlusion":
            maps[method] = {"original": explain.occlusion_map(classifier, original, class_index, grid=grid,
                                                              infill=get_inpainter(infill), preprocess=preprocess,
                                                              progress=lambda done: report(done * 0.7))}
        else:
            maps[method] = {"original": explain.activation_map(classifier, original, class_index, method, preprocess)}
            if edit.can_undo:
                maps[method]["edited"] = explain.activation_map(classifier, edited, class_index, method, preprocess)
        report(0.8)
        first = maps[method]["original"]
        curve = explain.deletion_curve(classifier, original, class_index, explain.importance_order(first, grid),
                                       grid, infill=deletion_infill, preprocess=preprocess)
        curves[explain.METHODS[method]] = curve
        scores[method] = {"iou": explain.mask_iou(edit.mask, first.heatmap) if edit.mask.any() else None,
                          "deletion_area": curve.area}
    bar.empty()
    saved_problem = _save(experiment_id, maps, scores, grid, infill) if experiment_id else None
    return {"maps": maps, "scores": scores, "curves": curves, "saved_problem": saved_problem}


def _save(experiment_id: str, maps: dict, scores: dict, grid: int, infill: str) -> str | None:
    store, problem = history.store()
    if store is None:
        return problem
    try:
        for method, by_image in maps.items():
            for image_name, item in by_image.items():
                details = {**scores[method], "grid": grid if method == "occlusion" else None,
                           "infill": infill if method == "occlusion" else None}
                store.add_explanation(experiment_id, history.visitor_id(), image=image_name, method=method,
                                      class_index=item.class_index, label=item.label,
                                      cells=explain.map_cells(item), details=details)
    except ICError as exc:
        return str(exc)
    return None

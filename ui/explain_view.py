"""The "what does the model look at?" section of the Explore page, and stored maps on the History page."""

import numpy as np
import pandas as pd
import streamlit as st

from ic import explain
from ic.errors import Cancelled, ICError
from ic.images import fit_mask, overlay_mask
from ic.numbers import p_value, percent
from ui import editing, handover, idle, visiting
from ui.progress import working
from ui.results import show_lead
from ui.text import error_text, plain

ABOUT = ("**Reading the scores.** *IoU* compares your removed region with the map's top region of the same area "
         "(tied values left out). To judge it, the same top region is moved to every other place on the image: "
         "*p* is the share of those places where it overlaps your removal at least as well (p = 0.05: one place "
         "in twenty does as well, so the agreement could be luck; below 0.01 it is hard to explain by luck), "
         "beside the mean IoU of those places. *Deletion AUC* is the "
         "class's mean probability while the map's cells are replaced by the mean colour, most important first "
         "(lower: the map found what the model needs); *insertion AUC* while they are restored onto a blurred "
         "copy (higher is better). These *(cells)* AUCs are this app's definition: the grid's cells one a step, "
         "the image's mean colour, a blur of sigma side/32. *RISE's* follow its published evaluation code "
         "(the model input's pixels 224 a step, the normalisation mean, an 11x11 sigma-5 blur) and usually "
         "read higher for insertion: compare AUCs only within one definition. Occlusion maps are in probability "
         "points: red where removing the cell lowers "
         "the class, blue where it raises it.")


def _scale_text(scale: tuple[float, float], signed: bool, shared: bool = False) -> str:
    if signed:
        return (f"{scale[0] * 100:+.1f} pt (removing raises the class) … 0 … {scale[1] * 100:+.1f} pt "
                "(removing lowers it)" + ("; one scale for both images" if shared else "; this map's own scale"))
    if shared:
        return "0 (ignored) … 1 (the stronger of the two maps); one scale for both images"
    return "0 (ignored) … 1 (this map's strongest); this map's own scale"


SCALES = {"shared": "One for both images", "own": "Each map its own"}


def where_strongest(heatmap: np.ndarray) -> str:
    """Where a map is strongest, in words ("at the top left"), for those who cannot see it."""
    row, col = np.unravel_index(int(np.argmax(explain.cell_means(heatmap, 3))), (3, 3))
    return "in the centre" if (row, col) == (1, 1) else \
        f"at the {' '.join(w for w in (('top', '', 'bottom')[row], ('left', '', 'right')[col]) if w) or 'centre'}"


def show_map(column, image: np.ndarray, heatmap: np.ndarray, method: str, opacity: float, caption: str,
             scale: tuple[float, float] | None = None, shared: bool = False) -> None:
    """A map over its image, with a colour bar that says what its colours mean and whether its scale is shared."""
    signed = explain.map_method(method).signed
    scale = scale or explain.map_scale(method, heatmap)
    said = _scale_text(scale, signed, shared)
    column.image(explain.overlay_heatmap(image, heatmap, opacity, scale=scale, signed=signed), width="stretch",
                 caption=caption, alt=f"{caption}: a heat map over the image, strongest {where_strongest(heatmap)}")
    column.image(explain.legend(scale, signed), width="stretch", alt="The colour bar: " + said)
    column.caption(said)


def choose_scale(key: str) -> bool:
    """Whether two maps of one method share one colour scale (the default: equal colours, equal values)."""
    return st.segmented_control("Colour scale", list(SCALES), default="shared", format_func=SCALES.get, key=key,
                                help="One for both images: the same colour means the same value on the original "
                                     "and on the edited image, so a map that weakened looks weaker. Each map its "
                                     "own: each stretched to its own strongest, to see where each looks."
                                ) != "own"


def show_pair(maps: dict, images: dict, method: str, opacity: float, captions: dict, shared: bool) -> list:
    """One method's maps side by side (the original's, the edited one's) at the same size; on one scale when
    `shared` and their units are known. Returns the columns."""
    columns = st.columns(2)
    scaled = explain.shared_scale(maps) if shared and len(maps) > 1 else None
    for column, (image_name, item) in zip(columns, maps.items()):
        values, scale = scaled[image_name] if scaled else (item.heatmap, item.scale())
        show_map(column, images[image_name], values, method, opacity, captions[image_name], scale, bool(scaled))
        if not item.signed and not item.heatmap.any():
            column.caption("This map is empty: nothing in the image raises the class for this method.")
    if shared and len(maps) > 1 and not scaled:
        st.caption("These maps were kept before their strengths were: each is on its own scale.")
    return columns




def _score_text(scores: dict) -> str:
    parts = []
    if scores.get("iou") is not None:
        if scores.get("iou_p") is not None:  # maps kept before placements were counted have only the chance line
            chance = (f" (the same region elsewhere: {scores['iou_placement_mean']:.2f} on average; p = "
                      f"{p_value(scores['iou_p'])} over {scores['iou_placements']:,} placements)")
        else:
            chance = f" (random region: {scores['iou_chance']:.2f})" if scores.get("iou_chance") is not None else ""
        parts.append(f"IoU with your removal {scores['iou']:.2f}{chance}")
    named = " (cells)" if scores.get("auc_definition") == "cells" else ""  # maps kept before it was named
    if scores.get("deletion_auc") is not None:
        parts.append(f"deletion AUC{named} {scores['deletion_auc']:.3f}")
    if scores.get("insertion_auc") is not None:
        parts.append(f"insertion AUC{named} {scores['insertion_auc']:.3f}")
    if scores.get("rise_deletion_auc") is not None:
        parts.append(f"RISE's deletion AUC {scores['rise_deletion_auc']:.3f}, insertion AUC "
                     f"{scores['rise_insertion_auc']:.3f}")
    if scores.get("deletion_area") is not None:  # maps kept before insertion curves
        parts.append(f"deletion area {scores['deletion_area']:.3f}")
    return " · ".join(parts)


def show_stored_maps(items: list[dict], images: dict, opacity: float = 0.5, key: str = "stored") -> None:
    """Maps kept with an experiment, a method's pair side by side (on one scale unless the visitor asks
    otherwise), each over the image it explains, with its legend and scores."""
    groups = explain.stored_pairs(items, {name: image.shape[:2] for name, image in images.items()})
    shared = choose_scale(f"{key}-scale") if any(len(maps) > 1 for maps, _ in groups) else False
    for maps, details in groups:
        first = next(iter(maps.values()))
        captions = {name: f"{plain(explain.METHODS.get(item.method, item.method))} · {plain(item.label)} "
                          f"(#{item.class_index}) · on the {name} image" for name, item in maps.items()}
        columns = show_pair(maps, images, first.method, opacity, captions, shared)
        for column, name in zip(columns, maps):
            if _score_text(details[name]):
                column.caption(_score_text(details[name]))


CURVE_COLOURS = {"deletion": "#cf222e", "insertion": "#0969da"}


def curves_chart(curves: dict) -> None:
    """Deletion and insertion curves, told apart by colour (named in the legend); several maps by dash."""
    import altair as alt  # here: importing it took half a second of a first visit's run

    kinds = {"deletion": "deletion (lower is better)", "insertion": "insertion (higher is better)"}
    rows = [{"map": explain.METHODS[method], "curve": kinds[kind], "changed %": f * 100, "probability %": p * 100}
            for method, pair in curves.items() for kind, curve in pair.items()
            for f, p in zip(curve.fractions, curve.probs)]
    # legends under the plot, one line an entry, drawn as lines (the points' dots made every map's entry one
    # black dot): beside or above it, on a phone they left the plot about 20 px wide
    legend = dict(orient="bottom", direction="vertical", symbolType="stroke", symbolStrokeWidth=2, symbolSize=300,
                  labelLimit=320)
    colour = alt.Color("curve:N", title=None, legend=alt.Legend(**legend),
                       scale=alt.Scale(domain=list(kinds.values()), range=list(CURVE_COLOURS.values())))
    maps = sorted({row["map"] for row in rows})
    chart = (alt.Chart(pd.DataFrame(rows)).mark_line(point=alt.OverlayMarkDef(filled=True, size=30))
             .encode(x=alt.X("changed %:Q", title="cells removed or restored, most important first (% of the image)",
                             scale=alt.Scale(domain=[0, 100])),
                     y=alt.Y("probability %:Q", scale=alt.Scale(domain=[0, 100])), color=colour,
                     strokeDash=alt.StrokeDash("map:N", title="map", legend=alt.Legend(**legend)),
                     detail="map:N",
                     tooltip=["map", "curve", alt.Tooltip("changed %:Q", format=".0f"),
                              alt.Tooltip("probability %:Q", format=".1f")])
             # Streamlit fits the whole chart, legends and axis too, in its height: the plot keeps about 220 px
             .properties(height=220 + 70 + 22 * (len(kinds) + len(maps) + 1)))
    st.altair_chart(chart, width="stretch")


def explanations_section(edit, classifier, preprocess: str, experiment_id: str | None) -> None:
    st.header("What does the model look at?")
    before = edit.original_probs(classifier, preprocess)
    ranked = [int(i) for i in before.argsort()[::-1]]
    # the class and the maps on a row of their own: in a quarter of the page "Occlusion" was clipped beside Grad-CAM
    class_col, methods_col = st.columns(2)
    class_index = class_col.selectbox("Class", ranked, key="explain-class",
                                      format_func=lambda i: f"{classifier.labels[i]} (#{i}) · {percent(before[i])}")
    methods = methods_col.multiselect("Maps", list(explain.METHODS), default=["gradcam", "occlusion"],
                                      format_func=explain.METHODS.get, key="explain-methods")
    grid_col, infill_col, opacity_col, rise_col = st.columns(4, vertical_alignment="center")
    grid = grid_col.slider("Grid (cells a side)", *explain.GRID_RANGE, explain.DEFAULT_GRID, key="explain-grid",
                           help="Occlusion removes each cell; the curves and the smallest removal work on these cells.")
    choices = visiting.workbench().policy.inpainter_choices()
    titles = {row["name"]: row["title"] for row in choices}
    usable = [row["name"] for row in choices if row["available"]]
    infill = infill_col.selectbox("Infill", usable, index=usable.index(explain.DEFAULT_INFILL), key="explain-infill",
                                  format_func=lambda name: titles.get(name, name),
                                  help="Removes each occlusion cell and each step of the smallest removal. Telea is "
                                       "fast; PatchMatch and LaMa are slower and more faithful.")
    opacity = opacity_col.slider("Map opacity", 0.0, 1.0, 0.5, 0.05, key="explain-opacity")
    rise = rise_col.toggle("Also RISE's AUCs", key="explain-rise",
                           help="Deletion and insertion as RISE's evaluation code defines them (the model input's "
                                "pixels, 224 a step; the normalisation mean; an 11x11 blur), so they compare with "
                                "published numbers. 452 more classifications a map.")
    if before[class_index] < explain.FAINT:
        st.warning(f"The model gives {plain(classifier.labels[class_index])} only {percent(before[class_index])}: its maps "
                   "explain a class the model does not see.")
    workbench = visiting.workbench()
    if "scorecam" in methods:
        try:
            st.caption(workbench.policy.check_scorecam(classifier).sentence())
        except ICError as exc:
            st.error(error_text(exc))
    images = 2 if edit.can_undo else 1
    if methods:
        said = (f"{'These maps' if len(methods) > 1 else 'This map'}, on the original"
                + (" and the edited image" if images == 2 else "") + ", with their scores: ")
        estimate_caption(lambda found: said + (found.sentence() if found else "measuring what it takes here…"),
                         lambda: workbench.actions.estimate_maps(classifier, methods, grid, infill, images, wait=False,
                                                             rise=rise))

    key = (id(edit), edit.removals, classifier.name, preprocess, class_index, tuple(methods), grid, infill, rise)
    if st.button("Compute maps", type="primary", disabled=not methods):
        try:
            options = explain.MapOptions(grid=grid, infill=infill, preprocess=preprocess, rise=rise)
            handover.keep_result("explained", (key, compute(edit, classifier, class_index, methods, options,
                                                           experiment_id)))
        except Cancelled:
            st.info("Cancelled; nothing was computed.")
        except ICError as exc:
            st.error(error_text(exc))
    stored = handover.result("explained")
    if stored and stored[0] == key:
        full = {"original": float(before[class_index])}
        if edit.can_undo:
            full["edited"] = float(edit.current_probs(classifier, preprocess)[class_index])
        show_results(edit, stored[1], opacity, full)
    st.caption(ABOUT)
    smallest_removal(edit, classifier, preprocess, grid, infill, titles.get(infill, infill), methods)


ESTIMATE_POLL_S = 1.0


def estimate_caption(text, estimate) -> None:
    """What long work will take here, as `text(estimate())`; while a rate it needs is still being measured (in
    the background), `text(None)` in a fragment that looks again every ESTIMATE_POLL_S, then the page redraws."""
    found = estimate()
    if found is not None:
        st.caption(text(found))
        return

    def waiting() -> None:
        if estimate() is not None:
            st.rerun(scope="app")
        st.caption(text(None))

    idle.expect("estimate")
    st.fragment(waiting, run_every=ESTIMATE_POLL_S)()


def _map_caption(method: str, image_name: str, prob: float | None, full: float | None) -> str:
    """A map's title with its class's probability on the copy the maps are made on; where that reads otherwise
    than the table's (the full image), both, and why (the table said 77.2%, the map 76.8%, without a word)."""
    said = f"{explain.METHODS[method]} on the {image_name} image"
    if prob is None:
        return said
    if full is None or percent(prob) == percent(full):
        return f"{said} · class probability {percent(prob)}"
    return (f"{said} · class probability {percent(prob)} on the {explain.EXPLAIN_SIDE} px copy the maps are made "
            f"on ({percent(full)} on the full image, as in the table)")


def show_results(edit, results: dict, opacity: float, full: dict | None = None) -> None:
    """The maps, a method's pair side by side, their scores and curves; `full` has the class's probability on
    the full images ({"original": p, "edited": p}), as the before/after table gives it."""
    images = {"original": edit.original, "edited": edit.edited}
    full = full or {}
    shared = choose_scale("explain-scale") if any(len(maps) > 1 for maps in results["maps"].values()) else False
    for method, maps in results["maps"].items():
        captions = {name: _map_caption(method, name, item.prob, full.get(name)) for name, item in maps.items()}
        show_pair(maps, images, method, opacity, captions, shared)
        score = results["scores"].get(method)
        if score:
            st.caption(_score_text(score))
    if results["curves"]:
        curves_chart(results["curves"])


def compute(edit, classifier, class_index: int, methods: list[str], options: explain.MapOptions,
            experiment_id: str | None) -> dict:
    workbench, owner = visiting.workbench(), visiting.visitor()
    pictures = explain.Images(edit.original, edit.edited if edit.can_undo else None, edit.mask)
    with working("Computing maps…", "explain-cancel") as task:
        return workbench.actions.explain(classifier, pictures, class_index, methods, options=options, task=task,
                                     save_with=(experiment_id, owner) if experiment_id else None)


# --- the smallest removal that changes the answer -------------------------------------------------

def smallest_removal(edit, classifier, preprocess: str, grid: int, infill: str, infill_title: str,
                     methods: list[str]) -> None:
    st.markdown("**The smallest removal that changes the answer**")
    cams = [m for m in methods if explain.map_method(m).cam] or ["gradcam"]
    cell_wise = [name for name, method in explain.REGISTRY.items() if not method.cam]
    order_col, map_col = st.columns(2)
    order = order_col.radio("Order", ["map", "adaptive", "both"], horizontal=True, key="flip-order",
                            format_func={"map": "the map's", "adaptive": "adaptive", "both": "both, keep the smaller"}.get,
                            help="The map's order removes its most important cells first. Adaptive re-ranks the "
                                 "remaining cells after each removal by the drop each causes now, which finds "
                                 "evidence that is redundant (each part alone matters little).")
    map_method = map_col.selectbox("Map that orders the cells", [*cams, *cell_wise], key="flip-map",
                                   format_func=explain.METHODS.get, disabled=order == "adaptive")
    workbench = visiting.workbench()
    orders = ["map", "adaptive"] if order == "both" else [order]

    def estimates():
        found = {name: workbench.actions.estimate_flip(classifier, grid, infill, name, map_method, wait=False)
                 for name in orders}
        return None if None in found.values() else found

    def said(found) -> str:
        cost = "; ".join(f"in {explain.ORDERS[name]}, " * (len(found) > 1) + estimate.sentence()
                         for name, estimate in found.items()) if found else "measuring what it takes here…"
        return (f"Removes {grid}×{grid}-grid cells one more at a time, each step inpainted from the original with "
                f"{infill_title}, until the top-1 changes or half the image is gone: {cost}.")

    estimate_caption(said, estimates)
    key = (id(edit), classifier.name, preprocess, grid, infill, order, map_method)
    if st.button("Find the smallest removal", key="flip-run"):
        try:
            with working("Searching…", "flip-cancel") as task:
                found = workbench.actions.flip(classifier, edit.original, edit.name, order=order,
                                           options=explain.MapOptions(grid=grid, infill=infill, preprocess=preprocess),
                                           map_method=map_method, owner=visiting.visitor(), task=task)
            handover.keep_result("flip", (key, found))
        except Cancelled:
            st.info("Cancelled; nothing was kept.")
        except ICError as exc:
            st.error(error_text(exc))
    stored = handover.result("flip")
    if stored and stored[0] == key:
        show_flip(edit, classifier, stored[1], infill, infill_title)


def apply_flip(mask: np.ndarray, infill: str) -> None:
    """The smallest removal found, removed from the current edit (on top of its removals so far) by the
    inpainter the search used, on the next run, like a mask file."""
    desk = editing.desk()
    if desk is None:
        return
    desk.uploaded_mask = fit_mask(mask, desk.edit.shape)
    editing.request_apply("mask", inpainter=infill)


def show_flip(edit, classifier, found: dict, infill: str = "telea", infill_title: str = "Telea") -> None:
    flips, best, record = found["flips"], found["best"], found["record"]
    for name, flip in flips.items():
        if flip is None:
            st.caption(f"In {explain.ORDERS[name]}: no removal of up to half the image changes the top-1.")
    if best is None:
        st.info("The answer holds: no removal of up to half the image, in the orders tried, changes the top-1.")
        return
    others = [f"{explain.ORDERS[name]} needed {len(flip.cells)} cells ({percent(flip.share)})"
              for name, flip in flips.items() if flip is not None and flip is not best]
    before, after = record.before[0], record.after[0]
    st.success(f"Removing {len(best.cells)} cells ({percent(best.share)} of the image), found in {explain.ORDERS[best.order]}, "
               f"changes {plain(before['label'])} → {plain(after['label'])} ({percent(after['prob'])})"
               + (f"; {'; '.join(others)}." if others else "."))
    if record.top1_changed is False:
        st.warning("At full working resolution the same removal leaves the top-1 as it was; the search ran on a "
                   f"{explain.EXPLAIN_SIDE}-pixel copy.")
    else:
        show_lead(record.summary())
    left, right = st.columns(2)
    left.image(overlay_mask(record.original, record.mask), caption="The cells removed", width="stretch",
               alt=f"The photo with the {len(best.cells)} removed cells tinted")
    right.image(record.edited, caption=f"Without them: {plain(after['label'])}", width="stretch",
                alt=f"The photo without those cells, which the classifier calls {after['label']}")
    st.button("Apply this removal to my edit", key="flip-apply", icon=":material/ink_eraser:", on_click=apply_flip,
              args=(record.mask, infill), help=f"Removes these cells from the photo on the canvas with {infill_title}, "
                                               "as one more removal: Undo takes it back.")
    saved = found["saved"]
    if saved.problem:
        st.warning(saved.problem)
    elif saved.ids:
        st.caption("Kept in History as an experiment.")

"""Explore: paint over part of a photo, it is removed by inpainting, and the classifier answers again."""

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from ic.app import Busy
from ic.classifiers import DEFAULT_MODEL, PREPROCESS_MODES, PREPROCESS_TITLES
from ic.errors import ICError, NothingToRemove, Unavailable
from ic.experiment import EditSession, Scoring, comparison_rows
from ic.images import ACCEPTED_EXTENSIONS, DETAIL_SIDES, check_paintable, encode_png, fit_width, outline_box, overlay_mask
from ic.numbers import percent
from ui import canvas, durable, editing, flash, focus, names, resources, selection, visiting
from ui.canvas import TOOLS
from ui.explain_view import explanations_section
from ui.frame import WENT_WRONG
from ui.notices import saving_notice
from ui.results import show_chart, show_table
from ui.text import error_text, plain

log = logging.getLogger("ic.pages.explore")  # its own name in the log, not the engine's



# --- the sidebar: read, then drawn -----------------------------------------------------------------
#
# The sidebar's values are read from the session first (`durable.value`: what the visitor chose, or the default), then
# its widgets are drawn; the classifier's box waits in its slot until the classifier has loaded (after the canvas
# is drawn), so that a model that fails to load can be set back in it.

SOURCES = ["Samples", "Upload", "Camera"]


def pick_sample(name: str) -> None:
    st.session_state["sample"] = name
    durable.remember("sample")
    found = editing.desk()
    if found is not None and found.source_key != f"sample:{name}":
        # the canvas holds another photo (a sweep's row, History's experiment): this sample is begun afresh even
        # where the sidebar had it chosen before (clicking it did nothing)
        editing.choose_afresh()


def on_canvas(sample_name: str) -> bool:
    """Whether the canvas shows (or this run begins) this sample: not where a sweep's row or History's experiment
    was opened over the sidebar's choice (the sidebar still highlighted camera under a sweep's astronaut)."""
    found, chosen = editing.desk(), f"sample:{sample_name}"
    opened_over = (found is not None and not found.source_key.startswith(("sample:", "upload:", "camera:"))
                   and editing.chosen_key() in (None, chosen))  # None: opened before any choice
    return sample_name == st.session_state.get("sample") and not opened_over


def current_source() -> tuple[str, str, bytes] | None:
    """The chosen image: (key, display name, file bytes), or None when nothing is chosen yet."""
    kind = durable.value("source_kind", "Samples", SOURCES)
    if kind == "Samples":
        samples = resources.samples()
        current = durable.value("sample", samples[0].name, [sample.name for sample in samples])
        chosen = next((s for s in samples if s.name == current), samples[0])
        return f"sample:{chosen.name}", chosen.name, chosen.path.read_bytes()
    upload = st.session_state.get("upload" if kind == "Upload" else "camera")
    if upload is None:
        return None
    data = upload.getvalue()
    return f"{kind.lower()}:{hashlib.sha1(data).hexdigest()}", upload.name, data


def draw_source(box) -> None:
    with box:
        st.header("Image")
        kind = st.radio("Source", SOURCES, horizontal=True, key="source_kind", on_change=durable.remember, args=("source_kind",))
        if kind == "Samples":
            samples = resources.samples()
            columns = st.container(key="gallery").columns(2)  # (its thumbnails have no fullscreen button: style.css)
            for i, sample in enumerate(samples):
                with columns[i % 2]:
                    # as PNG: "auto" would make Streamlit decode and re-encode every thumbnail as JPEG in every run
                    st.image(resources.thumbnail(str(sample.path)), width="stretch", output_format="PNG",
                             alt=f"{Path(sample.name).stem}: {sample.shows}")
                    st.button(Path(sample.name).stem, key=f"sample-{sample.name}", width="stretch", help=sample.shows,
                              type="primary" if on_canvas(sample.name) else "secondary",
                              on_click=pick_sample, args=(sample.name,))
            with st.expander("Sources and licenses"):
                for sample in samples:
                    st.markdown(f"**{sample.name}**: {sample.shows}. From {sample.source}. License: {sample.license}")
        elif kind == "Upload":
            st.file_uploader("Photo", key="upload",
                             help=f"{', '.join(e.upper() for e in ACCEPTED_EXTENSIONS)}; up to 64 megapixels.")
        else:
            st.camera_input("Take a photo", key="camera")


def start_edit(source: tuple[str, str, bytes] | None) -> editing.Desk | None:
    return editing.desk_for(source, st.session_state["source_kind"],
                            lambda: check_paintable(resources.decoded(source[2])))


# --- settings ---------------------------------------------------------------------------------

def choose_classifier(box, status):
    """The classifier: loaded (or taken from the process's cache) while `status`, where the answer will be, says
    what the load is doing; then its box in the sidebar slot `box`, drawn after the load so that a model that
    fails to load can be set back in it, with the reason beside it until another model is chosen."""
    workbench = visiting.workbench()
    choices = {choice.name: choice for choice in workbench.policy.model_choices()}

    def label(name: str) -> str:
        choice = choices[name]
        ok, _ = choice.available()
        if ok:
            return choice.short_title
        # said before it is chosen: a hub model not downloaded yet needs the network (this server may have none)
        return choice.short_title + (" (needs a download)" if choice.group == "hub" else " (unavailable)")

    fallback = DEFAULT_MODEL if DEFAULT_MODEL in choices else next(iter(choices))
    durable.value("model", fallback, list(choices))
    free = workbench.policy.free_model_names()
    if free:
        durable.value("other_model", "")
    typed = st.session_state.get("other_model", "").strip() if free else ""
    wanted = typed or st.session_state["model"]
    in_use = durable.model_in_use() or fallback
    try:
        classifier = resources.classifier(wanted, status)
        if st.session_state.get("model_problem", ("", classifier.name))[1] != classifier.name:
            st.session_state.pop("model_problem")  # another model answers now: the old reason is moot
    except ICError as exc:
        # The boxes show the model that answers: set back before they are drawn, with the reason kept beside
        # them until another model is chosen.
        said = str(exc)
        if isinstance(exc, Unavailable) and wanted in choices and choices[wanted].group == "hub":
            # the page's words, with its names: the engine's sentence names ids and the other models (for the CLI)
            said = (f"{choices[wanted].short_title} needs a download, which this server cannot make now (the "
                    "Hugging Face hub cannot be reached).")
        st.session_state["model_problem"] = (f"{said} Still using {names.model(in_use)}.", in_use)
        classifier = resources.classifier(in_use, status)
        if typed:
            st.session_state["other_model"] = ""
            durable.remember("other_model")
        elif in_use in choices:
            st.session_state["model"] = in_use
            durable.remember("model")
    durable.model_in_use(classifier.name)
    with box:
        st.header("Classifier")
        st.selectbox("Model", list(choices), format_func=label, key="model", on_change=durable.remember, args=("model",),
                     help="Bundled models work offline; hub models download on first use; models/ holds your own.")
        if free:
            st.text_input("…or any timm model name", key="other_model", placeholder="e.g. resnet18.a1_in1k",
                          on_change=durable.remember, args=("other_model",))
        if st.session_state.get("model_problem"):
            st.error(st.session_state["model_problem"][0])
        elif wanted in choices:
            reason = choices[wanted].available()[1]
            st.caption(reason[0].upper() + reason[1:] + ".")
    return classifier


def inpainter_choice():
    """The chosen inpainter's name and the method that runs (a fallback where it cannot run now)."""
    workbench = visiting.workbench()
    methods = {row["name"]: row for row in workbench.policy.inpainter_choices()}
    name = durable.value("inpainter", workbench.policy.default_inpainter(), list(methods))
    return methods, name, workbench.policy.inpainter(name)


def draw_inpainter(box, methods: dict, name: str, method, note: str | None) -> None:
    workbench = visiting.workbench()
    with box:
        st.header("Removal")
        st.selectbox("Inpainter", list(methods), key="inpainter", on_change=durable.remember, args=("inpainter",),
                     format_func=lambda n: methods[n]["title"])
        st.caption(methods[name]["description"])
        fallback = method.title
        chosen = methods[name]
        if chosen["weights_mb"] and not chosen["available"]:
            weights(workbench, chosen, fallback)
        elif note:
            st.warning(note)


def weights(workbench, chosen: dict, fallback: str) -> None:
    """What a method whose weights are missing says, and the button that downloads them where allowed."""
    title, size = chosen["title"], chosen["weights_mb"]
    st.info(f"{title} needs its weights (about {size} MB); until then {fallback} is used.")
    if not workbench.policy.may_download(chosen["name"]):
        st.caption(f"This public demo does not download {title}; run the app yourself to use it.")
    elif st.button(f"Download {title} weights ({size} MB)"):
        bar = st.progress(0.0, text=f"Downloading {title}…")
        try:
            workbench.policy.download(chosen["name"], progress=lambda done, total: bar.progress(
                min(1.0, done / total) if total else 0.0, text=f"Downloading {title}… {done / 1e6:.0f} MB"))
            st.rerun()
        except ICError as exc:
            bar.empty()
            st.error(error_text(exc))


# The brush's width as a share (%) of the photo's longer side. In screen pixels (4-80 before), the same stroke over
# the tripod removed 2.8 points of its class on a desktop and 14.5 on a phone, where the photo is drawn smaller.
BRUSH_SHARES = range(1, 21)


def tool_choice(method) -> tuple[str, int, bool]:
    """The drawing tool, brush size and whether a stroke is removed at once (by default, unless the inpainter
    is slow)."""
    tool = durable.value("tool", next(iter(TOOLS)), list(TOOLS))
    brush = durable.value("brush_share", 5, BRUSH_SHARES)
    auto = durable.value("auto_apply", not method.slow)
    return TOOLS[tool], brush, auto


def draw_tools(box) -> None:
    """The drawing tools, first in the sidebar (on a phone, before the sample gallery)."""
    with box:
        st.header("Drawing")
        tool = st.radio("Drawing tool", list(TOOLS), key="tool", on_change=durable.remember, args=("tool",))
        st.slider("Brush size (% of the photo's longer side)", BRUSH_SHARES.start, BRUSH_SHARES.stop - 1,
                  key="brush_share", on_change=durable.remember, args=("brush_share",), format="%d%%",
                  disabled=TOOLS[tool] not in ("freedraw", "eraser"),
                  help="A share of the photo, not of the screen: the same stroke removes as much on a phone as on a "
                       "desktop, zoomed in or not.")
        st.toggle("Remove as soon as a stroke ends", key="auto_apply", on_change=durable.remember, args=("auto_apply",),
                  help="Turn off for slow inpainters: paint, then press Remove.")


def view_choice() -> tuple[int, str]:
    return durable.value("top_k", 5, range(1, 21)), durable.value("preprocess", PREPROCESS_MODES[0], list(PREPROCESS_MODES))


def draw_view(box) -> None:
    with box:
        st.header("Results")
        st.slider("Top-k classes", 1, 20, key="top_k", on_change=durable.remember, args=("top_k",))
        st.radio("What the classifier sees", list(PREPROCESS_MODES), key="preprocess", on_change=durable.remember,
                 args=("preprocess",),
                 format_func={"squash": "Whole image (squashed)", "center": "Model's center crop (outlined)"}.get,
                 help="The whole image lets an edit anywhere change the answer; the center crop is how the model "
                      "was evaluated.")


# --- removal ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Choices:
    """What the sidebar asks for, read once a run and handed down whole: the inpainter (`method`), the classifier
    (a LazyClassifier: call it), the drawing tool and its brush, whether strokes are removed at once (`auto`),
    and how the answer is read (what the classifier sees, how many classes)."""

    method: object
    classifier: object
    tool: str
    brush: int
    auto: bool
    preprocess: str
    top_k: int


def apply_mask(desk: editing.Desk, mask, choices: Choices, progress, *, strokes: canvas.Strokes | None = None,
               inpainter: str | None = None, background: bool = False) -> None:
    """Remove `mask` (painted strokes, or a selection) in one workbench call that also queues the save; then the
    desk counts the strokes as applied, with plain writes: nothing between the two can be stopped by a rerun.
    `progress` is the line above the canvas: it says what runs without moving the canvas. `choices.classifier()`
    gives the classifier (loading it, the first time)."""
    workbench, owner = visiting.workbench(), visiting.visitor()
    refused = None
    model = choices.classifier().name
    # as short as the line it replaces: a longer one could wrap the toolbar beside it and move the canvas
    progress.markdown("**Edited** · :material/progress_activity: " + ("replacing…" if background else "removing…"))
    try:
        removal = workbench.actions.remove(desk.edit, mask, owner=owner, model=model,
                               inpainter=inpainter or choices.method.name,
                               scoring=Scoring(choices.preprocess, choices.top_k), background=background)
    except ICError as exc:  # nothing to remove, the busy limit, a mask over 90%: not tried again
        removal, refused = None, exc
    if strokes is not None:
        canvas.mark_applied(desk, strokes)
    if removal is not None:
        desk.note_removal(removal)
    if refused is not None:
        kind = "info" if isinstance(refused, NothingToRemove) else "warning" if isinstance(refused, Busy) else "error"
        flash.notify(kind, str(refused))


def edit_controls(desk: editing.Desk) -> None:
    """Undo, Redo and Reset beside the canvas's title line, sized to their labels (never cut short)."""
    edit = desk.edit
    st.button("Undo", icon=":material/undo:", disabled=not edit.can_undo, width="content", key="undo",
              help="Undo the last removal (Ctrl+Z, ⌘Z on a Mac)", on_click=editing.move, args=("undo",), shortcut="Mod+Z")
    st.button("Redo", icon=":material/redo:", disabled=not edit.can_redo, width="content", key="redo",
              help="Redo the removal you undid (Ctrl+Shift+Z, ⌘⇧Z on a Mac)", on_click=editing.move, args=("redo",), shortcut="Mod+Shift+Z")
    st.button("Reset", icon=":material/restart_alt:", disabled=not edit.can_undo, width="content", key="reset",
              help="Back to the original photo", on_click=editing.move, args=("reset",))


ZOOMS = [1, 2, 4]


def zoom_controls(desk: editing.Desk, pending: bool) -> None:
    """Paint on an enlarged part of the photo: the canvas shows that part (the original outlines it), and what
    is painted there is placed back on the whole edit at working resolution."""

    def moved() -> None:
        state = st.session_state
        desk.view = (state.get("zoom") or 1, state.get("pan-x", 50) / 100, state.get("pan-y", 50) / 100)
        desk.new_canvas()  # a canvas over the new part; nothing painted is pending (the controls wait for that)

    zoom_col, detail_col = st.columns([1.2, 2])
    zoom = zoom_col.segmented_control("Zoom", ZOOMS, format_func=lambda z: f"{z}×", key="zoom", default=1,
                                      on_change=moved, disabled=pending,
                                      help="Remove or clear what is painted first." if pending else None)
    with detail_col:
        detail_control(desk, pending)
    if (zoom or 1) > 1:
        x_col, y_col = st.columns(2)
        x_col.slider("Across", 0, 100, 50, 5, format="%d%%", key="pan-x", on_change=moved, disabled=pending)
        y_col.slider("Down", 0, 100, 50, 5, format="%d%%", key="pan-y", on_change=moved, disabled=pending)


def detail_control(desk: editing.Desk, pending: bool) -> None:
    """The working size, for a photo larger than the default one: finer detail to paint on when zoomed in.
    Chosen before the first removal (a removal's pixels are made at one size)."""
    edit = desk.edit
    largest = max(edit.full_shape)
    if largest <= DETAIL_SIDES[0] or desk.source_key.startswith("history:"):
        return
    st.session_state["detail"] = edit.max_side  # the edit's own, after a reload too
    locked = pending or edit.can_undo
    st.segmented_control(
        "Detail", DETAIL_SIDES, key="detail", on_change=editing.refine, disabled=locked,
        format_func=lambda side: f"{min(side, largest)} px",
        help=("Chosen before the first removal: press Reset to go back to the original (your removals stay in "
              "History), then choose it." if locked else
              "The size the photo is edited at (its long side). Finer detail helps when zoomed in; it is slower "
              "to inpaint and keeps fewer steps to undo."))


def downloads(edit: EditSession) -> None:
    stem = Path(edit.name).stem or "image"
    left, right = st.columns(2)
    left.download_button("Edited image (PNG)", data=lambda: encode_png(edit.export()), file_name=f"{stem}-edited.png",
                         mime="image/png", disabled=not edit.can_undo, width="stretch",
                         help="Full resolution: only the removed region differs from your file.")
    right.download_button("Mask (PNG)", data=lambda: encode_png(edit.export_mask()), file_name=f"{stem}-mask.png",
                          mime="image/png", disabled=not edit.can_undo, width="stretch",
                          help="White where something was removed, at full resolution.")


# --- page -------------------------------------------------------------------------------------

TUTORIAL = """
**How to use it.** Pick a photo in the sidebar, then paint over something on the photo (with the mouse, a
finger or a pen): when you let go, that region is removed by inpainting and the classifier looks again.
Removals add up; **Undo**, **Redo** and **Reset** step through them. Without a pointer: upload a mask file
under *Remove with a mask file*, or choose *Select an object* and move its box with the arrow keys.

**The table** lists the original's top classes (or the edited image's), with the probability before
(*original %*) and after (*edited %*) and the *change* in percentage points: red when the model became less
sure, green when more. Pin any class by name to keep it in the table.
"""
FIRST_STEPS = ("**Paint over something on the photo** to remove it: when you let go, it is inpainted away and "
               "the classifier looks again. The table shows each class before and after. (This note goes once "
               "you have removed something.)")


def tutorial(desk: editing.Desk) -> None:
    """A short note where the answer will be, until the visitor dismisses it or removes something (having done
    it, they know it): it never pushes the canvas, and once gone it takes no room."""
    if durable.seen("tutorial"):
        return
    if desk.edit.can_undo:
        durable.seen("tutorial", now=True)
        return
    with st.container(border=True, key="tutorial"):
        st.markdown(FIRST_STEPS)
        st.button("Got it", key="tutorial-ok", on_click=durable.seen, args=("tutorial", True))


def top1_notice(desk: editing.Desk, classifier, before, after) -> None:
    edit = desk.edit
    top_before, top_after = int(before.argmax()), int(after.argmax())
    if top_before != top_after:
        st.warning(f"**Top-1 changed:** {plain(classifier.labels[top_before])} ({percent(before[top_before])}) → "
                   f"{plain(classifier.labels[top_after])} ({percent(after[top_after])})")
    elif edit.can_undo:
        st.success(f"**Top-1 unchanged:** {plain(classifier.labels[top_before])} "
                   f"({percent(before[top_before])} → {percent(after[top_before])})")


def seeing(edit, classifier, preprocess: str, before) -> None:
    """What the classifier sees, named under the table; when the other mode gives the original another top-1,
    one line says so with both answers: 'the model says X' depends on a setting few people notice."""
    _, height, width = classifier.data_config["input_size"]
    other = next(mode for mode in PREPROCESS_MODES if mode != preprocess)
    elsewhere = edit.original_probs(classifier, other)
    here, there = int(before.argmax()), int(elsewhere.argmax())
    seen = f"The classifier sees {PREPROCESS_TITLES[preprocess]} ({width}x{height} pixels)."
    if here == there:
        st.caption(seen + f" With {PREPROCESS_TITLES[other]} the original's top-1 is the same.")
        return
    st.info(f"{seen} With {PREPROCESS_TITLES[other]} instead, the original is "
            f"**{plain(classifier.labels[there])}** ({percent(elsewhere[there])}), not "
            f"**{plain(classifier.labels[here])}** ({percent(before[here])}): the answer depends on what the classifier "
            "sees (*What the classifier sees*, in the sidebar).", icon=":material/crop:")


def results(desk: editing.Desk, classifier, preprocess: str, top_k: int) -> list[dict]:
    """The answer: the top-1 notice, the table (both top-1 classes always among its rows), how to order it and
    which classes to pin, and what the last removal took. Returns the rows, for the chart."""
    edit = desk.edit
    before = edit.original_probs(classifier, preprocess)
    after = edit.current_probs(classifier, preprocess)
    tutorial(desk)
    top1_notice(desk, classifier, before, after)
    durable.value("order", "original", ["original", "edited"])
    order = st.session_state.get("order") or "original"
    pinned = st.session_state.get("pinned") or []
    rows = comparison_rows(before, after, classifier.labels, top_k, order, pinned)
    show_table(rows)
    seeing(edit, classifier, preprocess, before)
    order_col, pin_col = st.columns([1, 1.4])
    order_col.segmented_control("Top-k of", ["original", "edited"], key="order", on_change=durable.remember, args=("order",),
                                format_func=str.capitalize, help="Rank the table by the original's or the edited "
                                                                 "image's probabilities.")
    pin_col.multiselect("Pin classes", range(classifier.num_classes), key="pinned",
                        format_func=lambda i: f"{classifier.labels[i]} (#{i})",
                        placeholder="Search a class to keep it in the table")
    if desk.removal_shown():
        number, timings = desk.removal_shown()
        st.caption(f"Last removal (#{number}): inpaint {timings['inpaint']:.0f} ms · classify {timings['classify']:.0f} ms "
                   f"· {plain(names.model(classifier.name))} · sees {PREPROCESS_TITLES[preprocess]}")
    return rows


def take_strokes(desk: editing.Desk, choices: Choices, progress) -> canvas.Strokes | None:
    """What the canvas sent since the last run: removed at once (or when Remove was pressed), or read as a
    selection; returns the strokes still waiting for Remove. Notices go to the page's status area."""
    strokes = canvas.new_strokes(desk)
    paused = canvas.paused()
    request = editing.apply_requested()
    options = {k: v for k, v in (request or {}).items() if k != "what"}
    if strokes is not None and choices.tool == "select":
        selection.take(desk, strokes, progress)  # a box or a click: a proposal to check, nothing removed yet
        strokes = None
    elif request and request["what"] == "box":
        selection.take_keyboard_box(desk, progress)  # the keyboard's box: likewise
    elif request and request["what"] == "selection" and desk.selection is not None:
        chosen, desk.selection = desk.selection, None
        apply_mask(desk, chosen.mask, choices, progress, **options)
    elif request and request["what"] == "mask" and desk.uploaded_mask is not None:
        chosen, desk.uploaded_mask = desk.uploaded_mask, None
        apply_mask(desk, chosen, choices, progress, **options)
    elif strokes is not None and (choices.auto or (request and request["what"] == "strokes")):
        apply_mask(desk, strokes.new, choices, progress, strokes=strokes, **options)
        strokes = None
    if strokes is None and canvas.shows_strokes(desk) and (paused or request):
        # the user paused, or pressed Remove: applied strokes can leave the canvas. Only then: the page
        # holds new strokes back from the pause until this run is drawn, so the clear takes none unapplied.
        desk.clear_canvas()
    return strokes


def workspace(desk: editing.Desk, choices: Choices, shown, status) -> tuple[int, int]:
    """The canvas over the edited image, with its title line and Undo, Redo and Reset above it: new strokes are
    removed first, then it is drawn over the result.

    The canvas keeps its place on the page whatever is said: what a removal does is said in the title line
    (text for text, the same height), and notices go to `status`, beside or below the canvas."""
    with st.container(horizontal=True, vertical_alignment="center", gap="small", key="edit-toolbar"):
        title = st.empty()
        with status:
            strokes = take_strokes(desk, choices, title)
            saving_notice()
            flash.show_notice()
            editing.show_resume_problem()
            if desk.note:
                st.caption(f":material/dataset: {plain(desk.note)}")
        edit = desk.edit
        title.markdown(f"**Edited** · {edit.removals} removal{'s' if edit.removals != 1 else ''}")
        edit_controls(desk)
    method, tool, auto = choices.method, choices.tool, choices.auto
    selecting = tool == "select"
    background = selection.shown_over(edit.edited, desk) if selecting else edit.edited
    top, left, bottom, right = desk.view_box()
    region = shown(background)[top:bottom, left:right]
    pixels = canvas.brush_pixels(choices.brush, edit.edited.shape[:2], (top, left, bottom, right),
                                 canvas.shown_size(region.shape[:2])[0])
    size = canvas.paint_canvas(region, key=desk.canvas_key, brush=pixels,
                               clears=desk.canvas_clears, tool=selection.drawing_mode() if selecting else tool,
                               alt=f"The edited photo, {plain(edit.name)}, to paint on")
    if selecting:
        selection.controls(desk)
    elif strokes is not None and not auto:
        remove, keep, clear = st.columns([3, 2, 1])
        # keys "ic-clears-…": the page holds strokes back from their click until the run that clears (canvas.py)
        remove.button(f"Remove painted region with {method.title}", type="primary", on_click=editing.request_apply,
                      width="stretch", key="ic-clears-remove")
        keep.button("Keep only the painted region", width="stretch", key="ic-clears-keep",
                    help="Blur everything else, to ask whether this region alone or its context decides.",
                    on_click=editing.request_apply, args=("strokes",), kwargs={"inpainter": "blur", "background": True})
        clear.button("Clear strokes", on_click=canvas.discard, args=(desk, strokes), width="stretch", key="ic-clears-clear",
                     help="Take the painted strokes off without removing anything; the Eraser tool takes off parts.")
    desk.pending = strokes is not None
    return size


def original_view(desk: editing.Desk, shown, size: tuple[int, int], crop: tuple) -> None:
    """The original at the canvas's size, to compare with what is painted on."""
    edit = desk.edit
    with st.container(horizontal=True, vertical_alignment="center", key="original-title"):
        st.markdown(f"**Original** · {plain(edit.name)} · {edit.full_shape[1]}×{edit.full_shape[0]}")
        overlay = st.toggle("Show removed region", key="show_overlay", disabled=not edit.mask.any())
    overlay = overlay and edit.mask.any()
    view_box = desk.view_box()

    def draw():
        original = overlay_mask(edit.original, edit.mask) if overlay else edit.original
        if view_box != (0, 0, *edit.shape):
            original = outline_box(original, view_box, colour=(0, 150, 255))  # the part the canvas shows
        # at the size it is shown: a larger one Streamlit would shrink and encode again in every run
        return fit_width(shown(original), size[0])

    key = (id(edit), overlay and edit.serial, view_box, crop, size)
    described = f"The original photo, {plain(edit.name)}" + (", with the removed region tinted" if overlay else "")
    st.image(desk.original_png(key, draw), width=size[0], alt=described)  # the canvas's size: compared side by side


def more_controls(desk: editing.Desk) -> None:
    """Zoom and the working size, a mask file to remove, and the downloads."""
    zoom_controls(desk, pending=desk.pending)
    mask_upload(desk)
    downloads(desk.edit)


def mask_upload(desk: editing.Desk) -> None:
    """A removal without a pointer: a mask file (white, or opaque, where to remove) over the photo."""
    with st.expander("Remove with a mask file", icon=":material/upload_file:"):
        upload = st.file_uploader("Mask (white or opaque where to remove)", type=list(ACCEPTED_EXTENSIONS),
                                  key=f"mask-file-{desk.canvas_key}",
                                  help="Any size with the photo's shape; white (or opaque) pixels are removed.")
        if upload is None:
            return
        try:
            desk.uploaded_mask = visiting.workbench().actions.read_mask(upload.getvalue(), desk.edit)
        except ICError as exc:
            st.error(error_text(exc))
            return
        st.caption(f"The mask covers {percent(desk.uploaded_mask.mean())} of the photo.")
        st.button("Remove the masked region", type="primary", key="mask-remove", on_click=editing.request_apply,
                  args=("mask",))


def page_title() -> None:
    st.title("Interactive Classification")
    st.caption("What does the classifier rely on? Remove part of the photo and watch the answer change.")


class AnswerSlot:
    """Where the answer goes. While a run works, the previous answer stays on screen (Streamlit dims it), so the
    page does not jump on every stroke; only when a classifier must load is the slot emptied, to say what the load
    does in place of the previous model's table (never left on screen as if it were the new one's answer)."""

    def __init__(self, parent):
        self.parent, self.placeholder = parent, None

    def _emptied(self):
        if self.placeholder is None:
            self.placeholder = self.parent.empty()
        return self.placeholder

    def info(self, *args, **kwargs):  # what a load is doing (ui.resources.classifier)
        return self._emptied().info(*args, **kwargs)

    def empty(self):
        return self._emptied().empty()

    def container(self):
        """The answer's container: in the emptied slot after a load, else in place of the previous answer."""
        return self.placeholder.container() if self.placeholder is not None else self.parent.container()


class LazyClassifier:
    """The classifier, loaded when first needed (after the canvas is drawn, unless a removal needs it first),
    saying what its load does in `status`, where the answer will be; its box is drawn in the sidebar slot."""

    def __init__(self, box):
        self.box, self.status, self.loaded = box, None, None

    def __call__(self):
        if self.loaded is None:
            self.loaded = choose_classifier(self.box, self.status if self.status is not None else st.empty())
        return self.loaded


def main() -> None:
    page_title()
    # A phone opens the sidebar to change tools while painting: they come first there. Elsewhere the photo does,
    # a few Tab presses from the top.
    boxes = [st.sidebar.container() for _ in range(5)]
    tools_box, source_box, model_box, removal_box, view_box = (boxes if canvas.stacked() else
                                                               [boxes[1], boxes[0], *boxes[2:]])
    methods, inpainter, (method, note) = inpainter_choice()
    tool, brush, auto = tool_choice(method)
    top_k, preprocess = view_choice()
    source = current_source()
    classifier = LazyClassifier(model_box)
    draw_tools(tools_box)
    draw_source(source_box)
    draw_inpainter(removal_box, methods, inpainter, method, note)
    draw_view(view_box)
    try:
        workbench_page(source, Choices(method, classifier, tool, brush, auto, preprocess, top_k))
    except Exception:  # the page never shows a traceback, and keeps its sidebar; the server log keeps it
        log.exception("Explore page failed")
        st.error(WENT_WRONG)
    classifier()  # its box, once it has loaded (a rerun or a stop is no Exception: it ends the run here)


def workbench_page(source, choices: Choices) -> None:
    """The canvas, the answer beside it (under it on a phone), the original, and the maps."""
    classifier, preprocess, top_k = choices.classifier, choices.preprocess, choices.top_k
    try:
        desk = start_edit(source)
    except ICError as exc:
        st.error(error_text(exc))
        return
    if desk is None:
        st.info("Upload a photo (or take one) in the sidebar to start.")
        return
    if canvas.stacked():  # a phone: one column, the answer right under the canvas
        work, answer, more, rest = st.container(), st.container(), st.container(), st.container()
    else:  # the answer beside the canvas, in view while painting; the original under it
        work, answer = st.columns(2, gap="small")
        more, rest = work, answer
    status = answer.container()
    revealer = status.empty()  # where the answer begins: filled once this run's removal (if any) is made
    classifier.status = AnswerSlot(answer)  # where the answer will be (and what a load is doing, while it loads)
    if preprocess == "center":  # the canvas outlines the classifier's crop
        classifier()
    shown = lambda image: (outline_box(image, classifier().crop_box(desk.edit.shape, preprocess))
                           if preprocess == "center" else image)
    with work:
        size = workspace(desk, choices, shown, status)
    loaded = classifier()  # a load says what it does in the slot, where the previous model's table was
    with classifier.status.container():  # the new answer, in place of the one before
        rows = results(desk, loaded, preprocess, top_k)
    with revealer:
        focus.reveal_answer(desk.removals_made)
    with rest:
        crop = classifier().crop_box(desk.edit.shape, preprocess) if preprocess == "center" else None
        original_view(desk, shown, size, crop)
    if not canvas.measured() and durable.first_run():
        # What lies below the fold comes with the next run, which the canvas's first report of its size starts
        # once the browser has drawn this one: a first visit's answer is on screen about 0.3 s sooner. (Where
        # the report came already, during a run that a rerun cut short, nothing is held back.)
        return
    with more:
        more_controls(desk)
    with rest:
        show_chart(rows)
    explanations_section(desk.edit, classifier(), preprocess, desk.experiment_ids.get(desk.edit.removals))
    with st.expander("How to use"):
        st.markdown(TUTORIAL)


main()

"""History: every removal kept, to look back at, compare, annotate, share and continue."""

import base64
from datetime import datetime

import pandas as pd
import streamlit as st

from ic import sweeps
from ic.app.history import MAX_NOTE, Filter, StoredExperiment
from ic.classifiers import PREPROCESS_TITLES
from ic.errors import ICError
from ic.exports import csv_text
from ic.images import overlay_mask
from ic.numbers import PERCENT, POINTS, p_value, percent, percent_range
from ui import editing, flash, handover, names, signin, visiting
from ui.explain_view import show_stored_maps
from ui.notices import saving_notice
from ui.results import answer_first, headline, show_chart, show_lead, show_table
from ui.slices import open_on_explore, slices_view
from ui.text import error_text, plain


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def table_frame(rows: list[StoredExperiment], thumbs: dict, visitor: str, shared: bool,
                authors: dict | None = None) -> pd.DataFrame:
    """The experiments as a table; in team mode with who made each (a signed-in author by name)."""
    frame = pd.DataFrame({
        "time (UTC)": [datetime.fromisoformat(row.created_at) for row in rows],
        "before": [data_url(thumbs[row.id][0]) if row.id in thumbs else None for row in rows],
        "after": [data_url(thumbs[row.id][1]) if row.id in thumbs else None for row in rows],
        "image": [row.image_name for row in rows],
        "classifier": [names.model(row.model) for row in rows],
        "inpainter": [names.inpainter(row.inpainter) + (" · kept only the region" if row.summary.get("kind") == "background" else "")
                      for row in rows],
        "top-1 before → after": [f"{row.top1_before} → {row.top1_after}" for row in rows],
        "original top-1 change (pt)": [row.original_top1_delta * 100 for row in rows],
        "top-1 changed": ["yes" if row.top1_changed else "" for row in rows],
        "★": [row.starred for row in rows],
        "note": [row.note for row in rows],
        "group": [row.group_id[:6] if row.group_id else "" for row in rows],
    })
    if shared:
        known = authors or {}
        frame["by"] = ["you" if row.owner == visitor else known.get(row.owner) or f"teammate {row.owner[:6]}"
                       for row in rows]
    return frame


# what answers the question first: on a phone the table showed only the time and the thumbnails
ANSWER_FIRST = ["top-1 before → after", "original top-1 change (pt)", "image", "after", "classifier", "inpainter"]
COLUMNS = {
    "time (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
    # first, not pinned: Streamlit draws pinned cells in grey, as if disabled
    "top-1 before → after": st.column_config.TextColumn(),
    "before": st.column_config.ImageColumn("before", width="small"),
    "after": st.column_config.ImageColumn("after", width="small"),
    "original top-1 change (pt)": st.column_config.NumberColumn(format=POINTS),
    "top-1 changed": st.column_config.TextColumn(),  # "yes" or empty: a checkbox looked like one to tick
    "★": st.column_config.CheckboxColumn(help="starred"),
}


def filters(rows_all: list[StoredExperiment]) -> Filter:
    models = sorted({row.model for row in rows_all})
    methods = sorted({row.inpainter for row in rows_all})
    first, second, third, fourth = st.columns([2, 2, 3, 2])
    return Filter(
        models=tuple(first.multiselect("Classifier", models, placeholder="all", format_func=names.model)),
        inpainters=tuple(second.multiselect("Inpainter", methods, placeholder="all", format_func=names.inpainter)),
        search=third.text_input("Search labels, notes, file names", placeholder="e.g. tripod",
                                   help="Any part of a class label in the table, the note, the file name, the "
                                        "classifier or the inpainter; case does not matter."),
        changed_only=fourth.toggle("Top-1 changed only"),
        starred_only=fourth.toggle("Starred only"),
    )


def experiment_view(experiment: StoredExperiment, maps: list[dict], compact: bool = False) -> None:
    """One experiment, read-only: its images, its before/after table and the maps kept with it."""
    summary, images = experiment.summary, experiment.images
    title = f"{plain(experiment.image_name)} · {experiment.created_at.replace('T', ' ')[:19]}"
    if compact:  # side by side: what differs between the two (the classifier, the inpainter) in the title itself
        st.markdown(f"**{title}** · {plain(names.setting(summary['model'], summary['inpainter']))}")
    else:
        st.header(title)
    name = experiment.image_name
    shown = [("Original", images["original"], f"The original photo, {name}"),
             ("Removed region", overlay_mask(images["original"], images["mask"]), f"{name} with the removed region tinted"),
             ("Edited", images["edited"], f"{name} after the removal, as {plain(names.model(summary['model']))} judged it")]
    for column, (caption, image, alt) in zip(st.columns(3), shown):
        column.image(image, caption=caption, width="stretch", alt=alt)
    table, chart = (st.container(), st.container()) if compact else st.columns([3, 2])
    with table:
        show_table(summary["changes"])
        show_lead(summary)
        timings = summary.get("timings_ms", {})
        # the ids and the weights' hash are in the experiment's JSON (Export), where a reproduction needs them
        st.caption(f"{plain(names.model(summary['model']))} · sees "
                   f"{PREPROCESS_TITLES.get(summary.get('preprocess', 'squash'), '')} · {plain(names.inpainter(summary['inpainter']))} "
                   f"(seed {summary.get('seed', 0)}) · removed {percent(summary.get('removed_fraction', 0))} · "
                   f"inpaint {timings.get('inpaint', 0):.0f} ms · classify {timings.get('classify', 0):.0f} ms")
    with chart:
        show_chart(summary["changes"])
    if maps:
        with st.expander(f"Maps kept with this experiment ({len(maps)})", expanded=True):
            show_stored_maps(maps, images, key=f"maps-{experiment.id}")


def side_by_side(history, ids: list[str], visitor: str) -> None:
    """Two experiments next to each other: both edits, both tables, their maps."""
    for column, experiment_id in zip(st.columns(2, border=True), ids):
        with column:
            experiment_view(history.reads.get(experiment_id, visitor), history.reads.maps(experiment_id, visitor), compact=True)


def detail(history, experiment: StoredExperiment, visitor: str) -> None:
    mine = history.reads.may_change(experiment, visitor)  # a read-only history changes for nobody
    summary = experiment.summary
    experiment_view(experiment, history.reads.maps(experiment.id, visitor))

    star_col, note_col = st.columns([1, 3])
    starred = star_col.toggle("★ Starred", value=experiment.starred, disabled=not mine, key=f"star-{experiment.id}")
    note = note_col.text_input("Note", value=experiment.note, disabled=not mine, key=f"note-{experiment.id}",
                               placeholder="What did you learn?", max_chars=MAX_NOTE)
    if len(note) > MAX_NOTE:  # the box refuses more, but a pasted or scripted value can be longer
        note_col.caption(f"Notes keep {MAX_NOTE} characters; the rest is not saved.")
    if mine and (starred != experiment.starred or note[:MAX_NOTE] != experiment.note):
        history.changes.annotate(experiment.id, visitor, starred=starred, note=note)
        st.rerun()

    open_col, compare_col, rerun_col, model_col, delete_col = st.columns([2, 2, 2, 3, 2])
    if compare_col.button("Compare…", width="stretch", help="This edit across several classifiers and inpainters"):
        handover.hand_to_compare(experiment)
        st.switch_page("app_pages/compare.py", query_params=visiting.link_params())
    if open_col.button("Continue in Explore", width="stretch", help="Open the edited image to keep removing"):
        editing.open_experiment(experiment, mine)
        st.switch_page("app_pages/explore.py", query_params=visiting.link_params())
    workbench = visiting.workbench()
    choices = [choice.name for choice in workbench.policy.model_choices() if choice.name != summary["model"]]
    other = model_col.selectbox("Classifier", choices, label_visibility="collapsed", key="rerun-model",
                                format_func=names.model)
    if rerun_col.button("Re-run with", width="stretch", help="Judge the same edit with another classifier",
                        disabled=not choices):
        try:
            with st.spinner(f"Classifying with {names.model(other)}…"):
                _, saved = workbench.actions.rerun(experiment, other, owner=visitor)
            if saved.problem:
                flash.notify("warning", saved.problem, page="history")
            else:
                flash.notify("success", f"Added a row: the same edit judged by {other}.", page="history")
        except ICError as exc:
            flash.notify("error", error_text(exc), page="history")
        st.rerun()
    if mine:
        sharing_links(history, experiment, visitor)
    if delete_col.button("Delete…", width="stretch", disabled=not mine,
                         help=None if mine else "Only its author can delete it"):
        handover.keep_result("confirm_delete", experiment.id)
    if mine and handover.result("confirm_delete") == experiment.id:
        confirm_delete(history, experiment, visitor)


def sharing_links(history, experiment: StoredExperiment, visitor: str) -> None:
    """Read-only links to this one experiment: whoever has a link sees it and nothing else of your history."""
    def create() -> None:  # before the page is drawn: the title counts the new link (it said "0 active" beside it)
        try:
            history.changes.share(experiment.id, visitor)
        except ICError as exc:
            flash.notify("error", error_text(exc), page="history")

    tokens = history.reads.links(experiment.id, visitor)
    # keyed: the title's count changes with a new link, and a new title alone made a new, closed expander
    with st.expander(f"Share a read-only link ({len(tokens)} active)", key=f"share-box-{experiment.id}"):
        st.caption("The link shows this experiment's images, tables and maps, and nothing else of your history. "
                   "It works until you revoke it or the experiment is deleted (in a public demo: when it expires).")
        st.button("Create a link", key=f"share-{experiment.id}", on_click=create)
        base = f"{st.context.url.split('?')[0]}" if getattr(st.context, "url", None) else "pages/history"
        for token in tokens:
            link, revoke = st.columns([5, 1])
            link.code(f"{base}?share={token}", language=None)
            if revoke.button("Revoke", key=f"revoke-{token}"):
                history.changes.revoke(token, visitor)
                st.rerun()


def shared_view(history, token: str) -> None:
    """What a shared link shows: one experiment, read-only."""
    st.title("A shared experiment")
    try:
        experiment, maps = history.reads.shared_link(token)
        st.caption("Read-only: someone shared this one experiment with you.")
        said = headline(experiment.summary)
        if said:
            (st.warning if experiment.top1_changed else st.success)(said)
        experiment_view(experiment, maps)
    except ICError as exc:
        st.error(error_text(exc))
    st.divider()
    st.markdown("**Interactive Classification** asks an image classifier \"what if\": paint over part of a photo, "
                "it is removed, and the classifier looks again.")
    st.page_link("app_pages/explore.py", label="Try it yourself", icon=":material/brush:")


def confirm_delete(history, experiment: StoredExperiment, visitor: str) -> None:
    with st.container(border=True):
        st.warning(f"Delete this experiment ({plain(experiment.image_name)}, {experiment.top1_before} → "
                   f"{experiment.top1_after}) for good? Export it as a ZIP first if you may want it back.")
        yes, no = st.columns(2)
        if yes.button("Delete it", type="primary", width="stretch"):
            history.changes.delete(experiment.id, visitor)
            handover.keep_result("confirm_delete", None)
            flash.notify("success", f"Deleted the experiment on {plain(experiment.image_name)}.", page="history")
            st.rerun()
        if no.button("Keep it", width="stretch"):
            handover.keep_result("confirm_delete", None)
            st.rerun()


def confirm_clear(history, visitor: str, count: int) -> None:
    with st.container(border=True):
        sweeps = len(history.reads.sweeps(visitor))
        st.warning(f"Delete your {count} experiment{'s' if count != 1 else ''}"
                   + (f" and {sweeps} sweep{'s' if sweeps != 1 else ''}" if sweeps else "") + " for good? "
                   "Export a ZIP first if you may want them back. The edit open on Explore is forgotten too: "
                   "it stays on screen, but a reload starts afresh.")
        yes, no = st.columns(2)
        if yes.button("Delete them all", type="primary", width="stretch"):
            history.changes.clear(visitor)
            handover.flag("confirm_clear", False)
            st.rerun()
        if no.button("Cancel", width="stretch"):
            handover.flag("confirm_clear", False)
            st.rerun()


def sharing(history, rows: list[StoredExperiment], selected: list[str], frame: pd.DataFrame, visitor: str) -> None:
    csv_col, zip_col, import_col, clear_col = st.columns(4)
    csv_col.download_button("Export table (CSV)", csv_text(frame.drop(columns=["before", "after"])),
                            file_name="history.csv", mime="text/csv", width="stretch")
    export_ids = selected or [row.id for row in rows]
    zip_col.download_button(f"Export {'selected' if selected else 'all shown'} (ZIP)",
                            data=lambda: history.reads.export_zip(export_ids, visitor),
                            file_name="experiments.zip", mime="application/zip", width="stretch",
                            disabled=not export_ids)
    own = history.reads.count(visitor)
    if clear_col.button("Clear my history…", width="stretch", disabled=own == 0 or bool(history.read_only)):
        handover.flag("confirm_clear", True)
    with import_col.popover("Import a ZIP", width="stretch"):
        upload = st.file_uploader("An export of this app", type=["zip"], key="import-zip")
        if upload is not None and st.button("Import"):
            said = st.empty()
            waiting = lambda: said.info("Another import is being read on this server; yours waits its turn and "
                                        "goes on by itself.", icon=":material/hourglass_top:")
            try:
                with st.spinner("Reading the ZIP: every experiment is checked before anything is kept…"):
                    added = history.changes.import_zip(upload.getvalue(), owner=visitor, waiting=waiting)
                flash.notify("success", f"Imported {len(added)} experiment{'s' if len(added) != 1 else ''}." if added else
                               "Nothing new: every experiment in that ZIP is already in History.", page="history")
            except ICError as exc:
                flash.notify("error", error_text(exc), page="history")
            st.rerun()
    if handover.flag("confirm_clear") and own:
        confirm_clear(history, visitor, own)


def selected_ids(rows: list[StoredExperiment], positions: list[int]) -> list[str]:
    """The experiments selected, by id: the table reports row positions, which shift when a row is deleted
    or added, so a click is read against the rows as they were shown, and kept by id after that."""
    shown_before, clicked_before, chosen = handover.result("history_view") or ([], [], [])
    if positions != clicked_before:  # the person changed the selection
        chosen = [shown_before[i] for i in positions if i < len(shown_before)] if shown_before else \
            [rows[i].id for i in positions if i < len(rows)]
    present = {row.id for row in rows}
    chosen = [experiment_id for experiment_id in chosen if experiment_id in present]
    handover.keep_result("history_view", ([row.id for row in rows], positions, chosen))
    return chosen


def sweeps_section(history, visitor: str) -> None:
    """The visitor's kept sweeps, newest first: each one's summary, its rows to download, and Delete."""
    kept = history.reads.sweeps(visitor)
    if not kept:
        return
    st.header(f"Sweeps ({len(kept)})")
    for sweep in kept[:20]:
        document, plan = sweep.document, sweep.plan
        objects = document.get("objects") or document["images"]  # n in the table below counts objects
        counted = f"{document['images']} images" + (f", {objects} objects" if objects != document["images"] else "")
        title = (f"{sweep.created_at.replace('T', ' ')[:16]} · {plain(sweep.name)} · {counted} · "
                 f"{', '.join(map(names.model, plan['models']))} × {', '.join(map(names.inpainter, plan['inpainters']))}")
        with st.expander(title):
            st.dataframe(pd.DataFrame([{"classifier": names.model(s["model"]), "inpainter": names.inpainter(s["inpainter"]),
                                        "mode": s["mode"],
                                        "sees": s.get("preprocess", "squash"),
                                        "objects": s["n"], "flip rate": s["flip_rate"] * 100, "95% CI": percent_range(*s["flip_ci"]),
                                        "mean drop (pt)": s["mean_drop"] * 100} for s in document["summary"]]),
                         hide_index=True, width="stretch",
                         column_config={"flip rate": st.column_config.NumberColumn(format=PERCENT),
                                        "mean drop (pt)": st.column_config.NumberColumn(format=POINTS)})
            for test in document["paired"]:
                st.caption(f"{names.model(test['a'])} vs {names.model(test['b'])} ({names.inpainter(test['inpainter'])}, "
                           f"{test['mode']}): exact McNemar "
                           f"p = {p_value(test['p_value'])}, " + ("they differ beyond chance." if test["differ"] else
                                                             "no difference beyond chance."))
            rows, _ = history.reads.sweep_rows(sweep.id, visitor)
            left, middle, right = st.columns(3)
            if rows:
                left.download_button("Rows as CSV", sweeps.csv_bytes(rows), file_name=f"{sweep.name}-sweep.csv",
                                     mime="text/csv", key=f"sweep-csv-{sweep.id}")
                middle.download_button("Rows as Parquet", sweeps.parquet_bytes(rows), file_name=f"{sweep.name}-sweep.parquet",
                                       mime="application/vnd.apache.parquet", key=f"sweep-parquet-{sweep.id}")
            if right.button("Delete this sweep", key=f"sweep-delete-{sweep.id}"):
                try:
                    history.changes.delete_sweep(sweep.id, visitor)
                except ICError as exc:
                    st.error(error_text(exc))
                else:
                    st.rerun()
    look_closer(history, visitor, kept[:20])


def look_closer(history, visitor: str, kept: list) -> None:
    """One kept sweep's slices and rows; its rows open on Explore while this server still holds its photos
    (the visitor's last sweep here)."""
    titles = {sweep.id: f"{sweep.created_at.replace('T', ' ')[:16]} · {plain(sweep.name)}" for sweep in kept}
    with st.expander("Slices and rows of a sweep", icon=":material/bar_chart:"):
        chosen = st.selectbox("Look closer at a sweep", list(titles), format_func=titles.get, key="history-sweep")
        sweep = next(s for s in kept if s.id == chosen)
        rows, found = history.reads.sweep_rows(sweep.id, visitor)
        job = visiting.workbench().jobs.sweep_job(visitor)
        here = job is not None and job.result is not None and job.result.id == sweep.id
        opener = (lambda row: open_on_explore(job, row)) if here else None
        slices_view(sweep.document["summary"], found, rows, f"history-slices-{sweep.id}", opener=opener)


def main() -> None:
    history = visiting.workbench().history
    if history.kept and st.query_params.get("share"):
        shared_view(history, st.query_params["share"])
        return
    visitor = visiting.visitor()
    st.title("History")
    if not history.kept:
        st.error(history.problem)
        return
    saving_notice()  # and the sidebar says when new experiments cannot be kept
    if history.shared:
        st.caption("Team history: everyone's experiments are listed; you can change and delete only your own.")
    elif signin.person() is not None:
        st.caption("Your experiments, kept for your account: they follow you to any browser you sign in on. "
                   "Nobody else sees them.")
    else:
        st.caption("Your experiments, kept for this browser link (?visitor=… in the address): bookmark it to come "
                   "back. Nobody else sees them.")
    flash.show_notice("history")
    sweeps_section(history, visitor)

    everything = history.reads.list(visitor)
    if not everything:
        st.info("No experiments yet: paint a removal on the Explore page and it appears here.")
        st.page_link("app_pages/explore.py", label="Go to Explore", icon=":material/brush:", query_params={"visitor": visitor})
        sharing(history, [], [], table_frame([], {}, visitor, history.shared), visitor)
        return
    chosen = filters(everything)
    rows = history.reads.list(visitor, chosen)
    st.caption(f"{len(rows)} of {len(everything)} experiment{'s' if len(everything) != 1 else ''}")
    frame = table_frame(rows, history.reads.thumbnails([row.id for row in rows]), visitor, history.shared,
                        history.people.authors([row.owner for row in rows]) if history.shared else None)
    order = answer_first(frame, ANSWER_FIRST)
    event = st.dataframe(frame, hide_index=True, width="stretch", column_config=COLUMNS, on_select="rerun",
                         column_order=order,
                         selection_mode="multi-row", key="history-table", row_height=56)
    selected = selected_ids(rows, list(event.selection.rows))
    sharing(history, rows, selected, frame, visitor)
    try:
        if len(selected) == 1:
            detail(history, history.reads.get(selected[0], visitor), visitor)
        elif len(selected) == 2:
            side_by_side(history, selected, visitor)
        else:
            st.caption("Select one row to see its images, its full before/after table, and what you can do with "
                       "it; select two to see them side by side.")
    except ICError as exc:
        st.error(error_text(exc))


main()

"""Compare: one edit judged by several classifiers, made by several inpainters."""

import pandas as pd
import streamlit as st

from ic.classifiers import PREPROCESS_MODES, PREPROCESS_TITLES
from ic.compare import summary_table
from ic.errors import Cancelled, ICError
from ic.experiment import Scoring
from ic.exports import csv_text
from ic.images import overlay_mask
from ic.numbers import PERCENT, POINTS, percent
from ui import durable, handover, names, resources, visiting
from ui.notices import saving_notice
from ui.progress import working
from ui.results import answer_first, show_table
from ui.text import error_text, plain


def verdicts(rows: list[dict], titles: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The table people read (inpainters by title, a "why unavailable" column only when one is) and the
    rows that ran, for the chart."""
    table = pd.DataFrame(summary_table(rows))
    table["inpainter"] = table["inpainter"].map(names.inpainter)
    table["classifier"] = table["classifier"].map(names.model)
    table["sees"] = table["sees"].map(lambda mode: PREPROCESS_TITLES.get(mode, "") if mode else "")
    ran = table[table["error"].isna()]
    if ran.shape[0] == table.shape[0]:
        table = table.drop(columns=["error"])
    else:
        table = table.rename(columns={"error": "why unavailable"}).fillna({"why unavailable": ""})
    return table, ran


def verdicts_table(table: pd.DataFrame) -> None:
    """The verdicts as people read them: percentages, a word for a changed top-1, the answer first."""
    shown = table.assign(**{"original p": table["original p"] * 100, "edited p": table["edited p"] * 100}) \
        .rename(columns={"original p": "original %", "edited p": "edited %"})
    if "top-1 changed" in shown:  # a word, not a checkbox that looks like one to tick
        shown["top-1 changed"] = shown["top-1 changed"].map(lambda changed: "yes" if changed is True else "")
    # the verdict first, after the classifier it belongs to: on a phone only classifier, inpainter and mode showed
    first = ["classifier", "edited top-1", "change of original class (pt)", "top-1 changed", "inpainter"]
    st.dataframe(shown, hide_index=True, width="stretch", key="compare-table",
                 column_order=answer_first(shown, first), column_config={
        "original %": st.column_config.NumberColumn(format=PERCENT),
        "edited %": st.column_config.NumberColumn(format=PERCENT),
        "change of original class (pt)": st.column_config.NumberColumn(format=POINTS)})


def changes_chart(ok: pd.DataFrame) -> None:
    import altair as alt  # half a second to import: only once there is a chart to draw

    if ok.empty:
        return
    inpainters = ok["inpainter"].nunique()
    # the legend under the plot (beside it, a phone's plot kept 160 of 358 px); the height holds it and the axis
    chart = (alt.Chart(ok).mark_bar()
             .encode(y=alt.Y("classifier:N", title=None, axis=alt.Axis(labelLimit=120)),
                     x=alt.X("change of original class (pt):Q"),
                     color=alt.Color("inpainter:N", legend=alt.Legend(orient="bottom", direction="vertical")),
                     yOffset="inpainter:N",
                     tooltip=["classifier", "inpainter", "original top-1", "edited top-1",
                              alt.Tooltip("change of original class (pt):Q", format="+.1f")])
             .properties(height=max(140, 40 * len(ok)) + 70 + 22 * (inpainters + 1)))
    st.altair_chart(chart, width="stretch")


def run_comparison(chosen: dict, models: list[str], inpainters: list[str], modes: list[str], top_k: int) -> None:
    workbench, visitor = visiting.workbench(), visiting.visitor()
    try:
        with working("Starting…", "compare-cancel") as task:
            result, saved = workbench.actions.compare(chosen["name"], chosen["original"], chosen["mask"], models,
                                                  inpainters, owner=visitor, scoring=Scoring(tuple(modes), top_k),
                                                  task=task)
    except Cancelled:
        st.info("Cancelled; nothing was compared or kept.")
        return
    except ICError as exc:
        st.error(error_text(exc))
        return
    for row in result.rows:  # the sidebar says which classifiers run on the slower path
        if not row["error"]:
            resources.classifier(row["model"])
    handover.keep_result("compared", (chosen["key"], result, len(saved.ids), saved.problem))


def main() -> None:
    visitor = visiting.visitor()
    st.title("Compare")
    saving_notice()
    chosen = handover.compare_source()
    if chosen is None:
        st.info("Remove something on the Explore page first (or pick a History row and press Compare); "
                "this page then runs that edit through several classifiers and inpainters.")
        st.page_link("app_pages/explore.py", label="Go to Explore", icon=":material/brush:",
                     query_params={"visitor": visitor})
        return
    st.caption(f"Comparing {chosen['origin']}: {plain(chosen['name'])}, {percent(chosen['mask'].mean())} of the image removed. "
               "Each inpainter removes the whole region from the original in one go.")
    left, right = st.columns([1, 3])
    left.image(overlay_mask(chosen["original"], chosen["mask"]), caption="What is removed", width="stretch",
               alt=f"{chosen['name']} with the region to remove tinted red")
    workbench = visiting.workbench()
    with right:
        choices = {c.name: c for c in workbench.policy.model_choices()}
        models = st.multiselect("Classifiers", list(choices), key="compare-models",
                                default=[name for name, choice in choices.items() if choice.group == "bundled"],
                                format_func=lambda n: choices[n].short_title)
        usable = [row["name"] for row in workbench.policy.inpainter_choices() if row["available"]]
        default = [durable.kept("inpainter", "patchmatch")]
        titles = {row["name"]: row["title"] for row in workbench.policy.inpainter_choices()}
        inpainters = st.multiselect("Inpainters", usable, default=[n for n in default if n in usable] or usable[:1],
                                    key="compare-inpainters", format_func=lambda n: titles.get(n, n))
        modes = st.multiselect("What the classifiers see", list(PREPROCESS_MODES), key="compare-modes",
                               default=[durable.kept("preprocess", "squash")],
                               format_func=lambda mode: PREPROCESS_TITLES[mode].capitalize(),
                               help="Both, to see whether the answer depends on it: the squashed whole image and the "
                                    "model's center crop often disagree.")
        top_k = st.slider("Top-k for each model's table", 1, 10, 5, key="compare-top-k")
        run = st.button("Compare", type="primary", disabled=not models or not inpainters or not modes)
    if run:
        run_comparison(chosen, models, inpainters, modes, top_k)
    kept = handover.result("compared")
    if kept is None or kept[0] != chosen["key"]:  # nothing compared yet, or an earlier edit's comparison
        return
    _, result, saved, problem = kept
    if saved:
        st.success(f"Added {saved} row{'s' if saved != 1 else ''} to History as one group.")
    elif problem:
        st.warning(problem)

    titles = {row["name"]: row["title"] for row in visiting.workbench().policy.inpainter_choices()}
    table, ran = verdicts(result.rows, titles)
    st.header("Verdicts")
    verdicts_table(table)
    rounded = table.round({"original p": 4, "edited p": 4, "change of original class (pt)": 2})
    st.download_button("Export table (CSV)", csv_text(rounded), file_name="comparison.csv", mime="text/csv")
    changes_chart(ran)

    st.header("Inpainters side by side")
    columns = st.columns(max(3, len(result.edited)))  # one inpainter's image no wider than a third of the page
    for column, (name, image) in zip(columns, result.edited.items()):
        column.image(image, caption=titles.get(name, name), width="stretch",
                     alt=f"{chosen['name']} with the region removed by {titles.get(name, name)}")
        several = len({row.get("preprocess") for row in result.rows if not row["error"]}) > 1
        for row in result.rows:
            if row["inpainter"] == name:
                if row["error"]:
                    column.caption(f"{plain(names.model(row['model']))}: unavailable")
                else:
                    after = row["edited"]["top"][0]
                    mode = f" ({PREPROCESS_TITLES[row['preprocess']]})" if several else ""
                    column.caption(f"{plain(names.model(row['model']))}{mode}: **{plain(after['label'])}** "
                                   f"{percent(after['prob'])}")

    st.header("Each model's before and after")
    for row in result.rows:
        label = f"{plain(names.setting(row['model'], row['inpainter']))}" + (
            f" · sees {PREPROCESS_TITLES[row['preprocess']]}" if not row["error"] else "")
        with st.expander(label + (" (unavailable)" if row["error"] else "")):
            if row["error"]:
                st.error(row["error"])
            else:
                show_table(row["changes"])


main()

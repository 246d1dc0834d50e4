"""Compare: one edit judged by several classifiers, made by several inpainters."""

import uuid

import altair as alt
import pandas as pd
import streamlit as st

from ic.classifiers import list_choices, resolve_choice
from ic.compare import compare, summary_table
from ic.errors import ICError
from ic.images import overlay_mask
from ic.inpaint import list_inpainters
from ui import history, resources
from ui.navigation import sidebar_links
from ui.results import show_table

st.set_page_config(page_title="Compare · Interactive Classification", page_icon="⚖️", layout="wide")

BUNDLED = ["tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2"]


def source():
    """(name, original, mask, where from) of the edit to compare, or None."""
    chosen = st.session_state.get("compare_source")
    edit = st.session_state.get("edit")
    if chosen:
        return chosen
    if edit is not None and edit.mask.any():
        return {"name": edit.name, "original": edit.original, "mask": edit.mask,
                "origin": f"your current edit on the Explore page ({edit.removals} "
                          f"removal{'s' if edit.removals != 1 else ''})"}
    return None


def load_for_page(name: str):
    resolve_choice(name)  # an unknown name is refused with the list of valid ones
    return resources.classifier(name)


def changes_chart(table: pd.DataFrame) -> None:
    ok = table[table["error"].isna()]
    if ok.empty:
        return
    chart = (alt.Chart(ok).mark_bar()
             .encode(y=alt.Y("classifier:N", title=None), x=alt.X("change of original class (pt):Q"),
                     color=alt.Color("inpainter:N"), yOffset="inpainter:N",
                     tooltip=["classifier", "inpainter", "original top-1", "edited top-1",
                              alt.Tooltip("change of original class (pt):Q", format="+.1f")])
             .properties(height=max(140, 40 * len(ok))))
    st.altair_chart(chart, width="stretch")


def main() -> None:
    visitor = history.visitor_id()
    sidebar_links(visitor)
    st.title("Compare")
    chosen = source()
    if chosen is None:
        st.info("Remove something on the Explore page first (or pick a History row and press Compare); "
                "this page then runs that edit through several classifiers and inpainters.")
        st.page_link("streamlit_app.py", label="Go to Explore", icon=":material/brush:",
                     query_params={"visitor": visitor})
        return
    st.caption(f"Comparing {chosen['origin']}: {chosen['name']}, {chosen['mask'].mean():.1%} of the image removed. "
               "Each inpainter removes the whole region from the original in one go.")
    left, right = st.columns([1, 3])
    left.image(overlay_mask(chosen["original"], chosen["mask"]), caption="What is removed", width="stretch")
    with right:
        choices = {c.name: c for c in list_choices()}
        models = st.multiselect("Classifiers", list(choices), default=BUNDLED, key="compare-models",
                                format_func=lambda n: choices[n].title)
        usable = [row["name"] for row in list_inpainters() if row["available"]]
        default = [st.session_state.get("keep:inpainter", "patchmatch")]
        inpainters = st.multiselect("Inpainters", usable, default=[n for n in default if n in usable] or usable[:1],
                                    key="compare-inpainters")
        top_k = st.slider("Top-k for each model's table", 1, 10, 5, key="compare-top-k")
        run = st.button("Compare", type="primary", disabled=not models or not inpainters)
    if run:
        bar = st.progress(0.0, text="Starting…")
        try:
            result = compare(chosen["name"], chosen["original"], chosen["mask"], models, inpainters,
                             preprocess=st.session_state.get("keep:preprocess", "squash"), top_k=top_k,
                             progress=lambda share, text: bar.progress(share, text=text), load=load_for_page)
        except ICError as exc:
            bar.empty()
            st.error(str(exc))
            return
        bar.empty()
        saved = None
        store, problem = history.store()
        if store is not None and result.records:
            try:
                store.add_group(result.records, owner=visitor, group_id=uuid.uuid4().hex)
                saved = len(result.records)
            except ICError as exc:
                problem = str(exc)
        st.session_state["compared"] = (result, saved, problem)
    if "compared" not in st.session_state:
        return
    result, saved, problem = st.session_state["compared"]
    if saved:
        st.success(f"Saved {saved} rows to History as one group.")
    elif problem:
        st.warning(problem)

    table = pd.DataFrame(summary_table(result.rows))
    st.subheader("Verdicts")
    st.dataframe(table, hide_index=True, width="stretch", key="compare-table", column_config={
        "original p": st.column_config.NumberColumn(format="percent"),
        "edited p": st.column_config.NumberColumn(format="percent"),
        "change of original class (pt)": st.column_config.NumberColumn(format="%+.1f")})
    st.download_button("Export table (CSV)", table.to_csv(index=False), file_name="comparison.csv", mime="text/csv")
    changes_chart(table)

    st.subheader("Inpainters side by side")
    columns = st.columns(len(result.edited))
    for column, (name, image) in zip(columns, result.edited.items()):
        column.image(image, caption=name, width="stretch")
        for row in result.rows:
            if row["inpainter"] == name:
                if row["error"]:
                    column.caption(f"{row['model']}: unavailable")
                else:
                    after = row["edited"]["top"][0]
                    column.caption(f"{row['model']}: **{after['label']}** {after['prob']:.0%}")

    st.subheader("Each model's before and after")
    for row in result.rows:
        label = f"{row['model']} · {row['inpainter']}"
        with st.expander(label + (" (unavailable)" if row["error"] else "")):
            if row["error"]:
                st.error(row["error"])
            else:
                show_table(row["changes"])


main()

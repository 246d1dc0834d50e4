"""What one page hands another, and a page's own last results: History's experiment for Compare, the current
edit Compare falls back on, "compared" and "explained" results, and yes/no flags."""

from __future__ import annotations

import streamlit as st

from ui.editing import resume


def compare_source() -> dict | None:
    """What the Compare page compares: an experiment handed over from History, or the current edit."""
    chosen = st.session_state.get("compare_source")
    if chosen:
        return chosen
    found = resume()
    current = found.edit if found is not None else None
    if current is not None and current.mask.any():
        return {"key": f"edit:{id(current)}:{current.serial}", "name": current.name, "original": current.original,
                "mask": current.mask,
                "origin": f"your current edit on the Explore page ({current.removals} "
                          f"removal{'s' if current.removals != 1 else ''})"}
    return None


def hand_to_compare(experiment) -> None:
    images = experiment.images
    st.session_state["compare_source"] = {"key": f"history:{experiment.id}", "name": experiment.image_name,
                                          "original": images["original"], "mask": images["mask"],
                                          "origin": "an experiment from History"}
    st.session_state.pop("compared", None)


def result(name: str):
    """A page's last computed result ("compared", "explained"), or None."""
    return st.session_state.get(name)


def keep_result(name: str, value) -> None:
    st.session_state[name] = value


def flag(name: str, value: bool | None = None) -> bool:
    """A page's yes/no state (a confirmation asked, the tutorial seen); sets it when `value` is given."""
    if value is not None:
        st.session_state[name] = value
    return bool(st.session_state.get(name))

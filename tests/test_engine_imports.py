"""The engine is importable without Streamlit, and the pages are not."""

import subprocess
import sys

from conftest import ROOT, cli_env


def test_ic_imports_without_streamlit():
    code = ("import sys; import ic, ic.images, ic.classifiers, ic.inpaint, ic.experiment, ic.cli, ic.bench; "
            "assert 'streamlit' not in sys.modules, 'ic imported streamlit'")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=cli_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_no_ic_module_mentions_a_streamlit_import():
    for path in (ROOT / "ic").rglob("*.py"):
        for line in path.read_text().splitlines():
            assert not line.lstrip().startswith(("import streamlit", "from streamlit")), f"{path}: {line}"


# What a page may reach: the engine's facade (ic.app) and its plain helpers, never the store, the inpainters'
# modules or the workbench's services' insides.
FORBIDDEN = ("ic.history", "ic.inpaint.", "ic.workbench", "ic.app.policy", "ic.app.jobs", "ic.app.desk",
             "ic.app.actions")
STORE_CALLS = (".store.", ".store\n", "HistoryStore", "open_store", ".saver.")


def _page_files():
    yield ROOT / "streamlit_app.py"
    for folder in ("app_pages", "ui"):
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_pages_reach_the_engine_through_ic_app_only():
    import ast

    found = []
    for path in _page_files():
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.relative_to(ROOT)}: imports {name}" for name in names
                      if any(name == bad.rstrip(".") or name.startswith(bad) for bad in FORBIDDEN)]
        found += [f"{path.relative_to(ROOT)}: {call!r}" for call in STORE_CALLS if call in source]
    assert not found, "\n".join(found)


def test_the_rule_finds_a_page_that_breaks_it(tmp_path, monkeypatch):
    """The check above would see a page that imports the store or calls it (it is not vacuous)."""
    import test_engine_imports as rule

    page = tmp_path / "app_pages" / "bad.py"
    page.parent.mkdir()
    page.write_text("from ic.history.store import HistoryStore\nfrom ic.inpaint.lama import APPROX_SIZE_MB\n"
                    "bench.history.store.experiments.list('x')\n")
    monkeypatch.setattr(rule, "ROOT", tmp_path)
    (tmp_path / "streamlit_app.py").write_text("")
    try:
        rule.test_pages_reach_the_engine_through_ic_app_only()
    except AssertionError as exc:
        message = str(exc)
    else:
        raise AssertionError("the rule let a store import through")
    assert "ic.history.store" in message and "ic.inpaint.lama" in message and "'.store.'" in message


def test_no_pages_folder_beside_the_frame():
    """Streamlit runs the scripts of a pages/ folder beside the main script as pages of their own, without the
    frame (and so without sign-in) until the first st.navigation call: the pages live in app_pages/."""
    from ui.navigation import PAGES

    assert not (ROOT / "pages").exists()
    navigated = {path for path, *_ in PAGES}
    assert {f"app_pages/{path.name}" for path in (ROOT / "app_pages").glob("*.py") if path.name != "__init__.py"} \
        == navigated  # every page is one of the frame's, and the frame's pages are all there

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

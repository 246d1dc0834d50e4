"""A fresh install gets every package the app imports.

Reads the imports of the app's own code (not tests/ or scripts/), maps each top-level module to the
distribution installed for it, and checks that requirements.txt reaches that distribution through the
dependencies its packages declare. A package reached only from another requirements-*.txt (not
requirements-dev.txt) is an optional feature: its import must sit inside the code that uses it (never
at import time of a module), in a module that names the file to install. Run inside the test
environment, where requirements-dev.txt is installed too, so a module that only a dev tool brings
(pytest, say) is caught as well.
"""

from __future__ import annotations

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from conftest import ROOT

APP = ("streamlit_app.py", "app_pages", "ui", "ic")
DEV_FILE = "requirements-dev.txt"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_lines(path: Path, seen: set | None = None) -> list[Requirement]:
    """The requirements a file lists, following `-r other.txt`; pip options are skipped."""
    seen = seen if seen is not None else set()
    if path in seen or not path.exists():
        return []
    seen.add(path)
    found = []
    for line in path.read_text().splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ")):
            found += requirement_lines(path.parent / line.split(None, 1)[1], seen)
        elif not line.startswith("-"):
            found.append(Requirement(line))
    return found


def reached(requirements: list[Requirement]) -> set[str]:
    """Every distribution that installing `requirements` brings, from the installed packages' metadata."""
    done: set[tuple[str, frozenset]] = set()
    todo = [(_norm(r.name), frozenset(r.extras)) for r in requirements]
    while todo:
        name, extras = todo.pop()
        if (name, extras) in done:
            continue
        done.add((name, extras))
        try:
            declared = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in declared:
            try:
                requirement = Requirement(text)
            except InvalidRequirement:
                continue
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in extras or {""}):
                todo.append((_norm(requirement.name), frozenset(requirement.extras)))
    return {name for name, _ in done}


def app_imports(root: Path) -> dict[str, list[tuple[str, bool]]]:
    """Top-level third-party modules the app imports: {module: [(file:line, at import time of its file)]}."""
    local = {p.stem for p in root.iterdir() if p.suffix == ".py"} | {p.name for p in root.iterdir() if p.is_dir()}
    files = [root / part for part in APP if (root / part).is_file()]
    files += [path for part in APP if (root / part).is_dir() for path in sorted((root / part).rglob("*.py"))]
    found: dict[str, list[tuple[str, bool]]] = {}
    for path in files:
        tree = ast.parse(path.read_text(), str(path))
        in_function = {id(node) for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
                       for node in ast.walk(fn)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top in local or top == "__future__":
                    continue
                where = f"{path.relative_to(root)}:{node.lineno}"
                found.setdefault(top, []).append((where, id(node) not in in_function))
    return found


def problems(root: Path) -> list[str]:
    """What a fresh `pip install -r requirements.txt` would lack, and optional imports that are not guarded."""
    provided = reached(requirement_lines(root / "requirements.txt"))
    optional: dict[str, str] = {}  # distribution -> the requirements file that brings it
    for extra in sorted(root.glob("requirements-*.txt")):
        if extra.name != DEV_FILE:
            for name in reached(requirement_lines(extra)) - provided:
                optional.setdefault(name, extra.name)
    distributions = metadata.packages_distributions()
    found = []
    for module, places in sorted(app_imports(root).items()):
        owners = {_norm(d) for d in distributions.get(module, [])} or {_norm(module)}
        if owners & provided:
            continue
        extra_file = next((optional[name] for name in sorted(owners) if name in optional), None)
        first = places[0][0]
        if extra_file is None:
            installed = ", ".join(sorted(owners)) if module in distributions else None
            found.append(f"{module} (imported at {first}) is not brought in by requirements.txt"
                         + (f"; it is installed here only as {installed}" if installed else
                            " and is not installed here at all"))
            continue
        for where, at_import_time in places:
            source = (root / where.rsplit(":", 1)[0]).read_text()
            if at_import_time:
                found.append(f"{module} (imported at {where}) is optional ({extra_file}) but imported when its "
                             "module loads; import it inside the feature that needs it")
            elif extra_file not in source:
                found.append(f"{module} (imported at {where}) is optional, but its module never names {extra_file}; "
                             f"say 'pip install -r {extra_file}' when it is missing")
    return found


def test_requirements_txt_brings_every_module_the_app_imports():
    assert problems(ROOT) == []


def _project(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_the_check_finds_what_a_fresh_install_would_lack(tmp_path):
    project = _project(tmp_path, {
        "requirements.txt": "numpy>=1.0  # arrays\n",
        "requirements-dev.txt": "-r requirements.txt\npytest\n",
        "requirements-columns.txt": "pyarrow\n",
        "ic/__init__.py": "",
        "ic/arrays.py": "import numpy as np\nfrom ic import arrays\n",
        "ic/testing.py": "import pytest\n",  # installed here, but only as a dev tool
        "ic/missing.py": "def f():\n    import surely_not_a_package_anyone_has\n",
        "ic/eager.py": "import pyarrow\n",  # optional, yet loaded with the module
        "ic/guarded.py": ("def table():\n    try:\n        import pyarrow\n    except ImportError:\n"
                          "        raise SystemExit('pip install -r requirements-columns.txt') from None\n"),
        "ic/silent.py": "def table():\n    import pyarrow.parquet\n",  # guarded, but never says what to install
    })
    found = problems(project)
    assert len(found) == 4, found
    assert any(p.startswith("pytest (imported at ic/testing.py:1)") and "only as pytest" in p for p in found)
    assert any(p.startswith("surely_not_a_package_anyone_has") and "not installed here at all" in p for p in found)
    assert any("ic/eager.py:1" in p and "when its module loads" in p for p in found)
    assert any("ic/silent.py:2" in p and "never names requirements-columns.txt" in p for p in found)
    assert not any("numpy" in p or "ic/guarded.py" in p for p in found)

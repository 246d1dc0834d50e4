"""The front door and the guide: README.md short, with both commands near its top, and every relative link in
README.md and docs/ pointing at a file (and a heading) that is there."""

import re
from pathlib import Path

from conftest import ROOT

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(path: Path) -> set[str]:
    """GitHub's anchors for a Markdown file's headings (code blocks left out)."""
    found, fence = set(), False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence and line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", title)))
    return found


def test_the_readme_is_a_front_door_with_both_commands_at_its_top():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200, len(lines)
    top = "\n".join(lines[:25])
    assert "pip install -r requirements.txt && streamlit run streamlit_app.py" in top
    assert "pip install -r requirements-dev.txt && python -m pytest" in top


def test_every_relative_link_in_the_readme_and_the_guide_resolves():
    broken = []
    for document in DOCUMENTS:
        for target in LINK.findall(document.read_text()):
            if re.match(r"[a-z]+:", target):  # https:, mailto:: not ours to check here
                continue
            path, _, anchor = target.partition("#")
            resolved = (document.parent / path).resolve() if path else document
            if not resolved.exists():
                broken.append(f"{document.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                broken.append(f"{document.relative_to(ROOT)}: {target} (no such heading)")
    assert broken == []


def test_the_guide_is_linked_from_the_readme():
    readme = (ROOT / "README.md").read_text()
    assert [page.name for page in DOCUMENTS[1:] if f"](docs/{page.name})" not in readme] == []

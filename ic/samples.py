"""The sample gallery: photos in assets/samples with the source and license of each.

assets/samples/SOURCES.md is the one record of where each photo comes from;
this module reads its table so the app can show it beside each photo.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ic.paths import samples_dir


@dataclass(frozen=True)
class Sample:
    name: str
    path: Path
    shows: str
    source: str
    license: str


def list_samples() -> list[Sample]:
    folder = samples_dir()
    samples = []
    for line in (folder / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("file", "---") or "_mask" in cells[0]:
            continue
        path = folder / cells[0]
        if path.is_file():
            samples.append(Sample(cells[0], path, cells[1], cells[2].replace("`", ""), cells[3].strip('"')))
    return samples

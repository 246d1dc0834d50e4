"""The application: every action a user takes, for every page and the command line.

A page reads its widgets, calls the workbench and draws the answer; the CLI does the same. The workbench is a
short facade over a few services, each in its own module:

- policy.py: the deployment's rules (allow-list, downloads, busy limit, Score-CAM limit, sweeps);
- jobs.py: one Task type (progress and cancel) for every long action, and the sweep worker;
- history.py: saving, and everything a History page does (annotate, share, revoke, delete, clear, import,
  export);
- desk.py: the visitor's current edit and settings (begin, continue, refine, move, resume);
- actions.py: remove, select, re-run, compare, explain, flip.
"""

from __future__ import annotations

from pathlib import Path

from ic.app.actions import Actions, Removal
from ic.app.desk import DeskService, Resumed
from ic.app.history import History, Saved
from ic.app.jobs import Jobs, Source, SweepJob, Task
from ic.app.policy import BUSY, Busy, Policy
from ic.models import models
from ic.names import inpainter_title, model_title
from ic.paths import data_dir
from ic.settings import database_url as configured_url

__all__ = ["BUSY", "Busy", "Removal", "Resumed", "Saved", "Source", "SweepJob", "Task", "Workbench", "get_workbench",
           "inpainter_title", "model_title"]


class Workbench:
    """One per process (and per history): safe to share between visitors' sessions. `None` for both places
    keeps no history (the CLI)."""

    def __init__(self, data_folder: Path | None = None, database_url: str | None = None):
        self.policy = Policy()
        self.history = History(self.policy, data_folder, database_url)
        self.desk = DeskService(self.history)
        self.actions = Actions(self.policy, self.history, self.desk)
        self.jobs = Jobs(self.policy, self.history)


def get_workbench(data_folder: Path | None = None, database_url: str | None = None) -> Workbench:
    """The process's workbench for a history: the PostgreSQL database at `database_url` (by default
    IC_DATABASE_URL or the settings file's), else SQLite in a data folder (by default IC_DATA_DIR or the
    per-user data folder). Kept by ic.models, so that `models().reset()` forgets it with the rest."""

    url = database_url or configured_url()
    key = url or str(Path(data_folder or data_dir()).resolve())
    return models().instance(("workbench", key), lambda: Workbench(None if url else Path(key), database_url=url))

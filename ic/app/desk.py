"""The visitor's desk: the current edit (begin, continue, refine, move, resume) and the settings they chose,
remembered in the history so that a reload or a server restart brings both back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np

from ic.app.history import WRITE_WAIT_S
from ic.errors import ICError
from ic.experiment import EditSession
from ic.history.store import HistoryStore
from ic.images import DEFAULT_WORKING_SIDE, DETAIL_SIDES, check_paintable, decode_image
from ic.samples import list_samples
from ic.sweeps.run import object_mask


@dataclass
class Resumed:
    """A visitor's current edit brought back from the store (after a reload or a server restart)."""

    edit: EditSession
    source_key: str
    chosen_key: str | None
    experiment_ids: dict  # removal number -> experiment id


class DeskService:
    """Every visitor's desk, for the workbench: one per process (a page's own is ui.editing.Desk; the rows behind
    both, ic.history.desks.Desks)."""

    def __init__(self, history):
        self._history = history

    def begin(self, owner: str | None, image: np.ndarray, name: str, *, source_key: str,
              data: bytes | None = None, max_side: int = DEFAULT_WORKING_SIDE,
              chosen_key: str | None = None) -> EditSession:
        """A new edit of a photo, remembered as the visitor's current one. `data` is the photo's file, kept so
        that a reload can bring the edit back (None for a bundled sample, which `source_key` names).
        `chosen_key`: the sidebar's photo, where the edit comes from elsewhere (a sweep's row)."""
        reload = None if data is None else (lambda: decode_image(data))
        edit = EditSession(check_paintable(image), name, max_side, reload=reload)
        edit.origin = {"source_key": source_key, "chosen_key": chosen_key or source_key, "source": data}
        snapshot = edit.snapshot()
        self._history.saving.remember(owner, lambda store: store.desks.begin(owner, snapshot, **edit.origin), "current edit")
        return edit

    def open_object(self, owner: str | None, item, *, chosen_key: str | None) -> tuple[EditSession, np.ndarray]:
        """A sweep's object (ic.sweeps.Item) on the desk: its photo as a new edit, remembered for a reload, and
        its mask over the edit's working copy (the same mask the sweep removed) for the page to remove."""
        image = decode_image(item.image, what=item.name)
        edit = self.begin(owner, image, PurePosixPath(item.name).name, data=item.image, chosen_key=chosen_key,
                          source_key=f"sweep:{item.sha[:16]}:{item.object}")
        return edit, object_mask(item, edit.original)

    def continue_experiment(self, owner: str | None, experiment, *, mine: bool, chosen_key: str | None) -> EditSession:
        """A stored experiment's edit, continued: its edited image is the current state, Undo goes to its
        original. `chosen_key` is the sidebar's photo, which stays chosen while this edit is on screen."""
        images = experiment.images
        edit = EditSession.resume(experiment.image_name, images["original"], images["edited"], images["mask"])
        snapshot, ids = edit.snapshot(), ({edit.serial: experiment.id} if mine else {})
        edit.origin = {"source_key": f"history:{experiment.id}", "chosen_key": chosen_key, "source_of": experiment.id}
        self._history.saving.remember(owner, lambda store: store.desks.begin(owner, snapshot, **edit.origin,
                                                                     experiment_ids=ids), "current edit")
        return edit

    def refine(self, edit: EditSession, max_side: int, *, owner: str | None) -> EditSession:
        """The edit's photo started afresh at working size `max_side` (one of DETAIL_SIDES, at most the photo's
        own), remembered for a reload with the same photo; refused once a removal is on screen."""
        if max_side not in DETAIL_SIDES:
            raise ICError(f"The detail is one of {', '.join(map(str, DETAIL_SIDES))} pixels.")
        refined = edit.refined(max_side)
        snapshot = refined.snapshot()
        self._history.saving.remember(owner, lambda store: store.desks.restart(owner, snapshot), "current edit")
        return refined

    def move(self, edit: EditSession, how: str, *, owner: str | None) -> None:
        """Undo, Redo or Reset, remembered for a reload."""
        {"undo": edit.undo, "redo": edit.redo, "reset": edit.reset}[how]()
        self.sync(edit, owner)

    def sync(self, edit: EditSession, owner: str | None, experiment_ids: dict | None = None) -> None:
        """Remember the edit's states as they are now (after a removal or a move)."""
        snapshot, origin = edit.snapshot(), edit.origin

        def write(store: HistoryStore) -> None:
            if store.desks.sync(owner, snapshot, experiment_ids) is None and origin is not None:
                store.desks.begin(owner, snapshot, **origin)  # no desk at all: the history's file was made anew

        self._history.saving.remember(owner, write, "current edit")

    def resume(self, owner: str) -> Resumed | None:
        """The visitor's current edit as last remembered, or None (none kept, or its photo is gone); ICError with a
        sentence when the database is out of reach (a page that started at 0 removals without a word looked as
        if the edit was lost)."""
        store = self._history.store
        if store is None:
            return None
        self._history.saving.flush(WRITE_WAIT_S)  # a write from the page before the reload may still be on its way
        try:
            stored = store.desks.get(owner)
        except ICError as exc:  # the database is out of reach: the page starts afresh, and says so
            raise ICError(f"Your edit from before could not be brought back: {exc} This page starts afresh; your "
                          "removals are kept in History, and the edit comes back when you reload once the database "
                          "answers.") from None
        data = None if stored is None else stored.source or _sample_file(stored.source_key)
        if data is None:
            return None
        try:
            edit = EditSession.restore(decode_image(data), stored.snapshot, reload=lambda: decode_image(data))
        except (ICError, ValueError):
            return None  # the photo changed under the stored states: start afresh rather than show a wrong edit
        numbers = {serial: index + 1 + stored.snapshot.dropped for index, (serial, _, _) in
                   enumerate(stored.snapshot.steps)}
        ids = {numbers[serial]: experiment_id for serial, experiment_id in stored.experiment_ids.items() if serial in numbers}
        return Resumed(edit, stored.source_key, stored.chosen_key, ids)

    def settings(self, owner: str) -> dict:
        """The visitor's remembered settings ({} where none are kept)."""
        store = self._history.store
        if store is None:
            return {}
        try:
            return store.desks.settings(owner)
        except ICError:  # the database is out of reach: the defaults, until it is back
            return {}

    def remember_settings(self, owner: str, settings: dict) -> None:
        values = dict(settings)
        self._history.saving.remember(owner, lambda store: store.desks.remember_settings(owner, values), "setting")


def _sample_file(source_key: str) -> bytes | None:
    """The file of the bundled sample a desk names ("sample:NAME"), or None."""
    if not source_key.startswith("sample:"):
        return None

    found = [s for s in list_samples() if f"sample:{s.name}" == source_key]
    return found[0].path.read_bytes() if found else None

"""How long work is watched: where it has got to, and whether it should stop.

Every long engine function (a comparison, a sweep, a map, a search for a flip) takes one `Watch` rather than a
`progress` and a `cancelled` argument each. A page's or the command line's task (ic.app.jobs.Task) becomes one
through `ic.app.jobs.watching(task)`; a caller who wants neither passes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ic.errors import Cancelled


@dataclass(frozen=True)
class Watch:
    """`progress(...)` hears the work's reports, in the arguments its function documents ((share), (share,
    message) or (done, total, message)); `cancelled()` says whether to stop. Either may be None."""

    progress: Callable[..., None] | None = None
    cancelled: Callable[[], bool] | None = None

    def report(self, *what) -> None:
        if self.progress is not None:
            self.progress(*what)

    def check(self) -> None:
        """Raise Cancelled once the watcher has asked the work to stop."""
        if self.cancelled is not None and self.cancelled():
            raise Cancelled()

    def with_progress(self, progress: Callable[..., None] | None) -> Watch:
        """The same stop, another report (a part of the work reporting into the whole)."""
        return Watch(progress, self.cancelled)


UNWATCHED = Watch()

"""The process's models and long-lived instances, in one object that owns their lifecycle (as IOPaint's
ModelManager does): the loaded classifiers (a few, least recently used out), one instance of each inpainter,
the rates the estimates are made from, and the workbenches. `models().reset()` forgets all of it (the tests'
one fixture); `forget_classifiers()` only the classifiers (after the export cache or the weights changed).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

CLASSIFIER_SLOTS = 4


class Models:
    """Thread-safe: every visitor's session and the server's preparation share it."""

    def __init__(self, classifier_slots: int = CLASSIFIER_SLOTS):
        self.classifier_slots = classifier_slots
        self._classifiers: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()
        # One load at a time in the process: two threads importing torch and timm for the first time at once (the
        # server's preparation and a visitor's page) can meet in timm's circular imports and fail.
        self._load_lock = threading.Lock()
        self._instances: dict[Hashable, object] = {}
        self._instances_lock = threading.Lock()
        self._making: dict[Hashable, threading.Lock] = {}
        self.rates: dict[Hashable, object] = {}
        self.rates_lock = threading.RLock()  # a measurement may need another one measured first

    # --- classifiers -------------------------------------------------------------------------

    def classifier(self, name: str, load: Callable, on_step: Callable[[str], None] | None = None):
        """The loaded classifier `name`, made by `load(name, on_step)` on first use (the loader is passed in, so
        that this module imports nothing of the classifiers'); a cached one never waits for a load in progress.
        `on_step` hears what this call's load does."""
        with self._lock:
            if name in self._classifiers:
                self._classifiers.move_to_end(name)
                return self._classifiers[name]
        with self._load_lock:
            with self._lock:
                if name in self._classifiers:  # loaded by another thread while this one waited
                    return self._classifiers[name]
            classifier = load(name, on_step)
            with self._lock:
                self._classifiers[name] = classifier
                while len(self._classifiers) > self.classifier_slots:
                    self._classifiers.popitem(last=False)
            return classifier

    def loaded(self, name: str) -> bool:
        with self._lock:
            return name in self._classifiers

    def forget_classifiers(self) -> None:
        with self._lock:
            self._classifiers.clear()

    # --- instances ---------------------------------------------------------------------------

    def instance(self, key: Hashable, make: Callable[[], object]):
        """The one shared instance under `key` (an inpainter, a workbench), made by `make` on first use."""
        with self._instances_lock:
            if key in self._instances:
                return self._instances[key]
            making = self._making.setdefault(key, threading.Lock())
        with making:  # one maker per key; other keys (an inpainter while a database connects) do not wait
            with self._instances_lock:
                if key in self._instances:
                    return self._instances[key]
            made = make()
            with self._instances_lock:
                self._instances[key] = made
                return made

    def forget_instances(self, kind: str) -> None:
        """Forget the instances of one kind (keys ("workbench", ...)): as a restarted server would not have them."""
        with self._instances_lock:
            for key in [key for key in self._instances if isinstance(key, tuple) and key[0] == kind]:
                del self._instances[key]

    def reset(self) -> None:
        """Forget every model, instance and rate: the next use starts as a fresh process would."""
        self.forget_classifiers()
        with self._instances_lock:
            self._instances.clear()
        with self.rates_lock:
            self.rates.clear()


_models = Models()


def models() -> Models:
    """The process's one Models."""
    return _models

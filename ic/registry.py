"""One way of registering: a plain dict from name to entry, filled beside each definition with its `register`
decorator (as timm registers its models), and a lookup that refuses an unknown name with the valid ones.

Map methods (ic.explain.registry), inpainters (ic.inpaint) and the bundled classifiers (ic.classifiers.loaders)
are each one Registry. An entry is anything with a `name`: a class, an instance, a small frozen dataclass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from ic.errors import ICError


class Registry(dict):
    """Name -> entry, in the order registered (`ordered` sorts it once, for a list a page shows)."""

    def __init__(self, what: str):
        super().__init__()
        self.what = what  # "map", "inpainter", "bundled classifier": how a refusal names an entry

    def register(self, entry):
        """Add `entry` under its name; as a decorator, returns the entry unchanged. A missing or taken name is a
        programming error, raised at import."""
        name = getattr(entry, "name", "")
        if not name or name in self:
            raise ValueError(f"a {self.what} needs a name of its own, not {name!r}")
        self[name] = entry
        return entry

    def get_or_refuse(self, name: str, keep: Callable[[object], bool] = lambda entry: True):
        """The entry called `name` (among those `keep` admits), or an ICError that lists the valid names."""
        found = self.get(name)
        if found is None or not keep(found):
            valid = ", ".join(key for key, entry in self.items() if keep(entry))
            raise ICError(f"There is no {self.what} called {name!r}; choose one of: {valid}.")
        return found

    def titles(self, keep: Callable[[object], bool] = lambda entry: True) -> Mapping[str, str]:
        """name -> title of the entries `keep` admits, read when asked: an entry registered later is in it too."""
        return _Titles(self, keep)

    def ordered(self, key: Callable) -> None:
        """Put the entries in the order of `key` (an inpainter's rank): once every module has registered."""
        entries = sorted(self.values(), key=key)
        self.clear()
        self.update((entry.name, entry) for entry in entries)


class _Titles(Mapping):
    def __init__(self, registry: Registry, keep: Callable[[object], bool]):
        self._registry, self._keep = registry, keep

    def __getitem__(self, name: str) -> str:
        entry = self._registry[name]
        if not self._keep(entry):
            raise KeyError(name)
        return entry.title

    def __iter__(self) -> Iterator[str]:
        return (name for name, entry in self._registry.items() if self._keep(entry))

    def __len__(self) -> int:
        return sum(1 for _ in self)

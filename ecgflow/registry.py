"""Registries: the detectors and streams ecgflow knows, by name, built-in and added by users.

A registry maps a name to a spec (:class:`ecgflow.detectors.Detector`, :class:`ecgflow.streams.Stream`);
:meth:`Registry.view` gives a live read-only mapping of one attribute of each spec (for example each
detector's threshold name), so a detector registered later shows in every view at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from .errors import ConfigError


class Registry(dict):
    """Specs by name; :meth:`register` adds one, :meth:`spec` looks one up with an error naming the key."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def register(self, spec, replace: bool = False):
        """Add ``spec`` under ``spec.name`` (an existing name only with ``replace``); returns ``spec``."""
        if spec.name in self and not replace:
            raise ValueError(f"a {self.kind} named {spec.name!r} is already registered (pass replace=True to replace it)")
        self[spec.name] = spec
        return spec

    def spec(self, name: str, key: str | None = None):
        """The spec of ``name``; a :class:`ConfigError` on key ``key`` (default: the kind) when unknown."""
        try:
            return self[name]
        except KeyError:
            raise ConfigError(key or self.kind, f"unknown {self.kind} {name!r}; choose one of {list(self)}") from None

    def view(self, attr: str, keep: Callable | None = None) -> Mapping:
        """Live mapping name -> ``getattr(spec, attr)`` over the specs ``keep`` accepts (all by default)."""
        return _View(self, attr, keep or (lambda spec: True))


class _View(Mapping):
    def __init__(self, registry: Registry, attr: str, keep: Callable):
        self._registry, self._attr, self._keep = registry, attr, keep

    def __getitem__(self, name):
        spec = self._registry[name]
        if not self._keep(spec):
            raise KeyError(name)
        return getattr(spec, self._attr)

    def __iter__(self) -> Iterator[str]:
        return (name for name, spec in self._registry.items() if self._keep(spec))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return repr(dict(self))

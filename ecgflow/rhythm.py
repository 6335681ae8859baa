"""Rhythm annotations -> rhythm episodes and ground-truth regime changes.

Two conventions cover the supported databases:

- ``transitions`` (mitdb, afdb, demo): the first rhythm mark sets the initial rhythm (it sits at the
  record's start); each later mark whose rhythm differs from the one in force is a regime change.
- ``episodes`` (cpsc2021): ``(AFIB``/``(AFL`` open an episode and ``(N`` closes it; the rhythm before the
  first mark is ``(N``. A mark at the last sample or later only ends the record.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CONVENTIONS = ("transitions", "episodes")


@dataclass(frozen=True)
class Rhythms:
    """Rhythm episodes of one record: episode ``i`` starts at ``starts[i]`` with rhythm ``labels[i]``."""

    starts: np.ndarray  # int64, ascending, starts[0] == 0
    labels: tuple[str, ...]

    def events(self) -> tuple[np.ndarray, list[str], list[str]]:
        """Regime changes: (samples, rhythm_from, rhythm_to), one per episode after the first."""
        return self.starts[1:].copy(), list(self.labels[:-1]), list(self.labels[1:])

    def per_sample(self, n_samples: int) -> np.ndarray:
        """Index into ``labels`` of the rhythm in force at each of ``n_samples`` samples."""
        lengths = np.diff(np.append(self.starts, n_samples))
        return np.repeat(np.arange(len(self.labels), dtype=np.int32), lengths)


def clean_aux(note: str) -> str:
    """Strip the NUL bytes and whitespace some WFDB aux notes carry (mitdb: ``'(N\\x00'``)."""
    return note.replace("\x00", "").strip()


def rhythm_episodes(samples, notes, n_samples: int, convention: str) -> Rhythms:
    """Episodes from rhythm marks (``samples`` ascending, ``notes`` like ``'(AFIB'``).

    Marks at or past the last sample cannot start an episode and are dropped.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown rhythm convention {convention!r}; expected one of {CONVENTIONS}")
    marks = [(int(s), clean_aux(n)) for s, n in zip(samples, notes) if int(s) < n_samples - 1]
    if convention == "transitions":
        initial = marks[0][1] if marks else "(N"
        later = marks[1:]
    else:
        initial = "(N"
        later = marks
    starts, labels = [0], [initial]
    for sample, label in later:
        if label == labels[-1]:
            continue
        if sample <= starts[-1]:  # a mark at the very start replaces the initial rhythm
            labels[-1] = label
            if len(labels) > 1 and labels[-1] == labels[-2]:
                starts.pop()
                labels.pop()
            continue
        starts.append(sample)
        labels.append(label)
    return Rhythms(np.asarray(starts, dtype=np.int64), tuple(labels))

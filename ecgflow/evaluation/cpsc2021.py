"""The CPSC 2021 challenge score of AF episodes predicted for one record.

The China Physiological Signal Challenge 2021 (paroxysmal AF) scores a record by ``U = Ur + Ue``:

- ``Ur``: the record class score ``CLASS_SCORE[true class, predicted class]``, classes 0 non-AF,
  1 persistent AF, 2 paroxysmal AF. A record (true or predicted) is non-AF without an AF episode,
  persistent AF with a single episode covering it (``end - start == n_samples - 1``), paroxysmal AF
  otherwise.
- ``Ue`` (only when the true class is 1 or 2): each predicted episode's onset scores 1 within about
  one beat of a true onset and 0.5 within two beats, its offset likewise; the sum is scaled by
  ``Ma / max(Ma, Mr)`` (``Ma`` true, ``Mr`` predicted episode counts); 0 without predicted episodes.

The beat ranges follow the challenge's scoring code: with ``b`` the record's beats and a true onset
between beats ``P1 < onset <= A1`` (``P2`` the beat before ``P1``, ``A2``, ``A3`` the beats after
``A1``), an onset scores 1 in ``[P1, A2)`` and 0.5 in ``[P2, P1)`` and ``[A2, A3)``; with a true
offset between the last AF beat ``L1`` and the next beat ``N1`` (``L2``, ``L3`` before ``L1``,
``N2`` after ``N1``), an offset scores 1 in ``[L2, N1)`` and 0.5 in ``[L3, L2)`` and ``[N1, N2)``.
Within two beats of the record's start (end) the 1-range reaches the start (end), as in that code;
for a persistent-AF record the onset scores 1 anywhere before ``A2``, the offset from ``L2`` on.
Overlapping ranges of close episodes add up. A record's challenge score is the mean U over records.
"""

from __future__ import annotations

import numpy as np

CLASS_SCORE = np.array([[1.0, -1.0, -0.5], [-2.0, 1.0, 0.0], [-1.0, 0.0, 1.0]])
AF_RHYTHMS = ("(AFIB", "(AFL")


def record_class(episodes: np.ndarray, n_samples: int) -> int:
    """0 (no episode), 1 (one episode ``[0, n_samples - 1]`` or wider) or 2; ``episodes``: (k, 2) samples."""
    if len(episodes) == 0:
        return 0
    if len(episodes) == 1 and episodes[0, 1] - episodes[0, 0] >= n_samples - 1:
        return 1
    return 2


def _beat(beats: np.ndarray, k: int, n_samples: int) -> int:
    """Sample of beat ``k``; the record's start before the first beat, its end after the last."""
    if k < 0:
        return 0
    return int(beats[k]) if k < len(beats) else n_samples


def endpoint_ranges(beats, episodes, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample onset and offset scores (float arrays of length ``n_samples``) of the true AF
    ``episodes`` ((k, 2) int array of onset and offset samples, the offset at the first non-AF
    sample or ``n_samples - 1``) given the record's ``beats`` (sorted samples)."""
    beats = np.asarray(beats, np.int64)
    episodes = np.asarray(episodes, np.int64).reshape(-1, 2)
    onset = np.zeros(n_samples)
    offset = np.zeros(n_samples)
    cls = record_class(episodes, n_samples)
    if cls == 0:
        return onset, offset
    nb = len(beats)

    def b(k):
        return _beat(beats, k, n_samples)

    for start, end in episodes:
        i = int(np.searchsorted(beats, start, side="left"))  # A1 = b(i), P1 = b(i - 1)
        if cls == 1 or i <= 1:
            onset[:b(i + 1)] += 1
        else:
            onset[b(i - 1):b(i + 1)] += 1
            onset[(0 if i == 2 else b(i - 2)):b(i - 1)] += 0.5
        onset[b(i + 1):b(i + 2)] += 0.5
        j = int(np.searchsorted(beats, end, side="left"))  # N1 = b(j), L1 = b(j - 1)
        if cls == 1 or nb - j <= 1:
            offset[b(j - 2):] += 1
        else:
            offset[b(j - 2):b(j)] += 1
            offset[b(j):(n_samples if nb - j == 2 else min(b(j + 1), n_samples - 1))] += 0.5
        offset[b(j - 3):b(j - 2)] += 0.5
    return onset, offset


def record_score(predicted, true_class: int, n_true: int, onset_range, offset_range) -> dict:
    """``Ur``, ``Ue`` and ``U`` of predicted episodes ((k, 2) onset/offset samples) against a record
    of class ``true_class`` with ``n_true`` true episodes and :func:`endpoint_ranges`' arrays."""
    predicted = np.asarray(predicted, np.int64).reshape(-1, 2)
    n_samples = len(onset_range)
    pred_class = record_class(predicted, n_samples)
    ur = float(CLASS_SCORE[true_class, pred_class])
    ue = 0.0
    if true_class in (1, 2) and len(predicted):
        ue = float(onset_range[predicted[:, 0]].sum() + offset_range[predicted[:, 1]].sum())
        ue *= n_true / max(n_true, len(predicted))
    return {"class_true": true_class, "class_pred": pred_class, "ur": ur, "ue": ue, "u": ur + ue}


def _episodes(samples, switch, n_samples: int, open_at_start: bool = False) -> np.ndarray:
    """Episodes ((k, 2) samples) of a state switched on (``switch`` > 0) and off (< 0) at ``samples``,
    taken in order: a switch to the state already in force changes nothing, an episode never ends
    before it starts, and one still open at the end closes at ``n_samples - 1``."""
    out, start = [], 0 if open_at_start else None
    for s, d in zip(np.asarray(samples, np.int64), np.asarray(switch)):
        if d > 0 and start is None:
            start = int(s)
        elif d < 0 and start is not None:
            out.append((start, max(int(s), start)))
            start = None
    if start is not None:
        out.append((start, n_samples - 1))
    return np.asarray(out, np.int64).reshape(-1, 2)


def true_episodes(event_samples, rhythm_to, initial_rhythm: str, n_samples: int) -> np.ndarray:
    """AF episodes from regime changes (sorted samples and the rhythm each starts) and the rhythm in
    force at sample 0: AF (``AF_RHYTHMS``) runs."""
    switch = [1 if rhythm in AF_RHYTHMS else -1 for rhythm in rhythm_to]
    return _episodes(event_samples, switch, n_samples, open_at_start=initial_rhythm in AF_RHYTHMS)


def predicted_episodes(samples, direction, n_samples: int) -> np.ndarray:
    """Episodes of a two-state detector's detections, taken in the detector's order: ``+1`` opens an
    episode at its sample (when none is open), ``-1`` closes it (an offset never precedes its onset)."""
    return _episodes(samples, direction, n_samples)

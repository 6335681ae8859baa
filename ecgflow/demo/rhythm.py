"""Rhythm episodes and beat timelines: sinus HRV, paroxysmal AF, flutter, bradycardia, bigeminy/trigeminy, ectopy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SINUS = "(N"
AFIB = "(AFIB"
AFL = "(AFL"
SBR = "(SBR"
BIGEMINY = "(B"
TRIGEMINY = "(T"
MIN_RR_S = 0.27


@dataclass(frozen=True)
class Timeline:
    """Beats (R-peak times, annotation symbols, morphology kinds) and rhythm episodes of one record.

    kinds: ``N`` sinus beat with P wave, ``n`` conducted beat without P (AF/flutter), ``A`` premature
    atrial, ``V`` premature ventricular, ``F`` fusion. ``rhythm_times``/``rhythms``: start of each episode
    (the first at 0). ``flutter``: (start_s, end_s, rate_hz, phase_ref_s) per flutter episode.
    """

    times: np.ndarray
    symbols: np.ndarray
    kinds: np.ndarray
    rhythm_times: np.ndarray
    rhythms: list[str]
    flutter: list[tuple[float, float, float, float]]

    def episodes(self, rhythm: str, duration_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Start and end times (s) of the episodes of ``rhythm``."""
        ends = np.append(self.rhythm_times[1:], duration_s)
        sel = np.array([r == rhythm for r in self.rhythms], bool)
        return self.rhythm_times[sel], ends[sel]


def schedule(rng: np.random.Generator, duration_s: float) -> tuple[np.ndarray, list[str]]:
    """Episode starts (s) and rhythms: sinus with 2-4 AF episodes and, in some records, flutter,
    bradycardia and bigeminy/trigeminy; at most 6 non-sinus episodes, each between sinus stretches."""
    scale = min(1.0, duration_s / 1800)
    eps = [(AFIB, rng.uniform(60, 360)) for _ in range(rng.integers(2, 5))]
    for rhythm, p, lo, hi in ((AFL, 0.4, 45, 180), (SBR, 0.4, 90, 300), (BIGEMINY, 0.25, 20, 90),
                              (TRIGEMINY, 0.2, 20, 90)):
        if rng.random() < p and len(eps) < 6:
            eps.append((rhythm, rng.uniform(lo, hi)))
    eps = [eps[i] for i in rng.permutation(len(eps))]
    durations = np.array([d for _, d in eps]) * scale
    durations *= min(1.0, 0.5 * duration_s / durations.sum())
    min_gap = max(3.0, 20 * scale)
    free = duration_s - durations.sum() - min_gap * (len(eps) + 1)
    gaps = min_gap + free * rng.dirichlet(np.full(len(eps) + 1, 4.0))
    starts, rhythms, t = [0.0], [SINUS], 0.0
    for (rhythm, _), gap, dur in zip(eps, gaps, durations):
        starts += [t + gap, t + gap + dur]
        rhythms += [rhythm, SINUS]
        t += gap + dur
    return np.array(starts), rhythms


@dataclass(frozen=True)
class Autonomic:
    """Per-record sinus rate and heart-rate variability, and ectopy rates (per beat)."""

    rr0: float
    rsa: float
    resp_hz: float
    lf: float
    lf_hz: float
    jitter: float
    phases: tuple[float, float]
    drift_knots: np.ndarray
    p_pac: float
    p_pvc: float
    p_fusion: float

    @staticmethod
    def draw(rng: np.random.Generator, duration_s: float) -> "Autonomic":
        p_pvc = rng.choice([0.0, rng.uniform(0.002, 0.04)], p=[0.25, 0.75])
        return Autonomic(
            rr0=60 / rng.uniform(62, 88), rsa=rng.uniform(0.02, 0.06), resp_hz=rng.uniform(0.2, 0.33),
            lf=rng.uniform(0.01, 0.04), lf_hz=rng.uniform(0.07, 0.12), jitter=rng.uniform(0.008, 0.02),
            phases=tuple(rng.uniform(0, 2 * np.pi, 2)),
            drift_knots=np.cumsum(rng.normal(0, 0.015, int(duration_s // 20) + 2)),
            p_pac=rng.uniform(0.0, 0.02), p_pvc=p_pvc, p_fusion=0.08 * p_pvc,
        )

    def sinus_rr(self, rng: np.random.Generator, t: float) -> float:
        drift = np.interp(t / 20, np.arange(len(self.drift_knots)), self.drift_knots)
        mod = (self.rsa * np.sin(2 * np.pi * self.resp_hz * t + self.phases[0])
               + self.lf * np.sin(2 * np.pi * self.lf_hz * t + self.phases[1]))
        return self.rr0 * np.exp(drift) * (1 + mod) * (1 + self.jitter * rng.standard_normal())


def beat_timeline(rng: np.random.Generator, duration_s: float, auto: Autonomic, starts: np.ndarray,
                  rhythms: list[str]) -> Timeline:
    """Generate the beats beat by beat; each interval follows the rhythm in force at the current beat."""
    af = {i: (max(0.36, auto.rr0 * rng.uniform(0.5, 0.85)), rng.uniform(0.15, 0.3))
          for i, r in enumerate(rhythms) if r == AFIB}
    afl = {i: (rng.uniform(4.2, 5.4), rng.choice([2, 4], p=[0.7, 0.3])) for i, r in enumerate(rhythms) if r == AFL}
    brady = {i: rng.uniform(45, 56) for i, r in enumerate(rhythms) if r == SBR}
    coupling_v, coupling_a = rng.uniform(0.55, 0.72), rng.uniform(0.62, 0.8)
    times, syms, kinds = [], [], []
    t, sym, since_v, ratio = rng.uniform(0.2, 0.7), "N", 9, 2
    flutter_ref = {}
    while t < duration_s - 0.4:
        ep = int(np.searchsorted(starts, t, side="right") - 1)
        rhythm = rhythms[ep]
        kind = sym if sym in "AVF" else ("n" if rhythm in (AFIB, AFL) else "N")
        times.append(t), syms.append(sym), kinds.append(kind)
        since_v = 0 if sym == "V" else since_v + 1
        rr = auto.sinus_rr(rng, t)
        if rhythm == SBR:
            rr = max(rr, 60 / brady[ep] * (1 + auto.rsa * rng.standard_normal()))
        if rhythm == AFIB:
            mean, cv = af[ep]
            sd = np.sqrt(np.log1p(cv ** 2))
            dt, sym = mean * np.exp(sd * rng.standard_normal() - sd ** 2 / 2), "N"
            if rng.random() < auto.p_pvc:
                dt, sym = dt * coupling_v, "V"
        elif rhythm == AFL:
            rate, ratio0 = afl[ep]
            flutter_ref.setdefault(ep, t)
            ratio = ratio0 if rng.random() < 0.85 else rng.choice([2, 3, 4])
            dt, sym = ratio / rate + 0.002 * rng.standard_normal(), "N"
        elif sym == "V":
            dt, sym = (2 - coupling_v) * rr, "N"
        elif rhythm == BIGEMINY or (rhythm == TRIGEMINY and since_v >= 2):
            dt, sym = coupling_v * rr, "V"
        elif sym == "A":
            dt, sym = rr * rng.uniform(1.0, 1.1), "N"
        else:
            u = rng.random()
            if u < auto.p_pac:
                dt, sym = coupling_a * rr, "A"
            elif u < auto.p_pac + auto.p_pvc:
                dt, sym = coupling_v * rr, "V"
            elif u < auto.p_pac + auto.p_pvc + auto.p_fusion:
                dt, sym = rng.uniform(0.9, 0.98) * rr, "F"
            else:
                dt, sym = rr, "N"
        t += max(dt, MIN_RR_S)
    times = np.array(times)
    # each episode is annotated just before (QRS onset of) its first beat, the first one at 0
    first = np.searchsorted(times, starts[1:])
    rhythm_times = np.concatenate([[0.0], times[np.minimum(first, len(times) - 1)] - 0.04])
    ends = np.append(rhythm_times[1:], duration_s)
    flutter_eps = [(rhythm_times[i], ends[i], afl[i][0], flutter_ref.get(i, rhythm_times[i])) for i in afl]
    return Timeline(times, np.array(syms), np.array(kinds), rhythm_times, list(rhythms), flutter_eps)

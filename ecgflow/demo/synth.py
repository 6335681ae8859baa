"""Deterministic ECG synthesis: Gaussian P-QRS-T waves on a beat-by-beat timeline.

Each wave is a Gaussian in time whose amplitude is a 3-D heart vector (x: left, y: inferior, z: anterior)
projected on the lead's direction, so that all leads of one beat are consistent (III = II - I, ...).
Everything is drawn from a caller-supplied ``np.random.Generator``: same generator state, same signal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .rhythm import Timeline

PRECORDIAL_GAIN = 1.4
CHUNK = 1 << 18  # samples (or Gaussians) per step of the long-record loops: bounds their temporaries
LEAD_VECTORS = {
    "I": (1.0, 0.0, 0.0),
    "II": (0.5, 0.866, 0.0),
    "MLII": (0.5, 0.866, 0.0),
    "III": (-0.5, 0.866, 0.0),
    "AVR": (-0.75, -0.433, 0.0),
    "AVL": (0.75, -0.433, 0.0),
    "AVF": (0.0, 0.866, 0.0),
    **{
        name: tuple(PRECORDIAL_GAIN * np.asarray(v))
        for name, v in {
            "V1": (-0.50, 0.05, 0.85),
            "V2": (-0.15, 0.05, 0.98),
            "V3": (0.25, 0.08, 0.95),
            "V4": (0.60, 0.10, 0.78),
            "V5": (0.85, 0.10, 0.50),
            "V6": (0.97, 0.10, 0.20),
        }.items()
    },
}


@dataclass(frozen=True)
class Waves:
    """A beat's waves: offset from the R peak (s), width (s), heart vector (mV), offset scales with QT."""

    offset: np.ndarray
    sigma: np.ndarray
    vec: np.ndarray
    qt: np.ndarray

    @staticmethod
    def of(rows) -> "Waves":
        """Build from rows ``(offset_s, sigma_s, (x, y, z), qt)``."""
        rows = list(rows)
        return Waves(
            np.array([r[0] for r in rows], float),
            np.array([r[1] for r in rows], float),
            np.array([r[2] for r in rows], float).reshape(-1, 3),
            np.array([r[3] for r in rows], bool),
        )

    def __add__(self, other: "Waves") -> "Waves":
        return Waves(*(np.concatenate([a, b]) for a, b in
                       zip((self.offset, self.sigma, self.vec, self.qt), (other.offset, other.sigma, other.vec, other.qt))))

    def scaled(self, factor) -> "Waves":
        """Same waves with amplitudes multiplied by ``factor`` (scalar or per wave)."""
        return Waves(self.offset, self.sigma, self.vec * np.reshape(factor, (-1, 1)), self.qt)


def lead_matrix(leads) -> np.ndarray:
    """(3, n_leads) projection matrix for the named leads."""
    return np.array([LEAD_VECTORS[name] for name in leads], float).T


def rotation(rng: np.random.Generator, max_deg: float) -> np.ndarray:
    """A random 3-D rotation of at most about ``max_deg`` degrees around each axis."""
    ax, ay, az = np.deg2rad(rng.uniform(-max_deg, max_deg, 3))
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


def p_wave(rng: np.random.Generator, pr_s: float | None = None, scale: float = 1.0) -> Waves:
    """Sinus P wave (atrial depolarisation: inferior, leftward)."""
    pr = rng.uniform(0.15, 0.19) if pr_s is None else pr_s
    return Waves.of([(-pr, rng.uniform(0.018, 0.025), scale * np.array([0.07, 0.11, 0.02]), False)])


def qrst_waves(rng: np.random.Generator, axis_deg: float = 25, width: float | None = None,
               amp: float | None = None) -> Waves:
    """Normal QRS (septal q, main R, terminal s) and asymmetric T, randomised per patient."""
    w = rng.uniform(0.85, 1.15) if width is None else width
    a = rng.uniform(0.7, 1.4) if amp is None else amp
    rot = rotation(rng, axis_deg)
    t_amp = rng.uniform(0.6, 1.2)
    rows = [
        (-0.026 * w, 0.009 * w, a * np.array([-0.10, 0.02, 0.30]), False),
        (0.0, 0.011 * w, a * np.array([0.80, 0.80, -0.35]), False),
        (0.028 * w, 0.011 * w, a * np.array([-0.25, -0.25, -0.45]), False),
        (0.20, 0.045, t_amp * np.array([0.06, 0.08, 0.05]), True),
        (0.28, 0.050, t_amp * np.array([0.16, 0.20, 0.12]), True),
    ]
    return Waves.of([(o, s, rot @ v, q) for o, s, v, q in rows])


def ventricular_waves(rng: np.random.Generator, main_lead: str = "II") -> Waves:
    """Wide, bizarre ventricular complex with discordant T; its main wave projects strongly on ``main_lead``."""
    lead = np.asarray(LEAD_VECTORS[main_lead]) / np.linalg.norm(LEAD_VECTORS[main_lead])
    main = rng.choice([-1.0, 1.0]) * rng.uniform(1.1, 1.8) * lead + rng.normal(0, 0.5, 3)
    second = rotation(rng, 60) @ main * -0.35
    return Waves.of([
        (0.0, rng.uniform(0.028, 0.038), main, False),
        (0.055, 0.03, second, False),
        (0.32, 0.07, -0.35 * main, False),
    ])


def gaussian_sum(n: int, center: np.ndarray, sigma: np.ndarray, amp: np.ndarray) -> np.ndarray:
    """Sum of Gaussians at ``center`` with width ``sigma`` (samples) and per-lead ``amp`` (k, L): (n, L)."""
    n_leads = amp.shape[1]
    out = np.zeros((n, n_leads))
    half = np.ceil(4 * sigma).astype(np.int64)
    bucket = 2 ** np.ceil(np.log2(np.maximum(half, 2))).astype(np.int64)
    for h in np.unique(bucket):
        members = np.flatnonzero(bucket == h)
        step = max(1, CHUNK // (2 * h + 1))
        for start in range(0, len(members), step):
            sel = members[start:start + step]
            c = center[sel]
            idx = np.floor(c).astype(np.int64)[:, None] + np.arange(-h, h + 1)
            g = np.exp(-0.5 * ((idx - c[:, None]) / sigma[sel][:, None]) ** 2)
            ok = (idx >= 0) & (idx < n)
            flat = idx[ok]
            lo, hi = (int(flat.min()), int(flat.max()) + 1) if len(flat) else (0, 0)
            for lead in range(n_leads):
                out[lo:hi, lead] += np.bincount(flat - lo, weights=(g * amp[sel, lead][:, None])[ok], minlength=hi - lo)
    return out


def render_beats(n: int, fs: float, r_times: np.ndarray, waves: list[Waves], rr_prev: np.ndarray,
                 scale: np.ndarray, leads) -> np.ndarray:
    """Signal (n, len(leads)) in mV of beats with R peaks at ``r_times`` (s) and the given waves.

    Waves flagged ``qt`` move with the preceding RR interval (Bazett-like sqrt scaling); ``scale``
    multiplies each beat's amplitude.
    """
    counts = np.array([len(w.offset) for w in waves])
    offset = np.concatenate([w.offset for w in waves])
    sigma = np.concatenate([w.sigma for w in waves])
    vec = np.concatenate([w.vec for w in waves])
    qt = np.concatenate([w.qt for w in waves])
    beat_t = np.repeat(r_times, counts)
    stretch = np.repeat(np.clip(np.sqrt(rr_prev / 0.8), 0.75, 1.2), counts)
    center = (beat_t + np.where(qt, offset * stretch, offset)) * fs
    amp = (vec @ lead_matrix(leads)) * np.repeat(scale, counts)[:, None]
    return gaussian_sum(n, center, sigma * fs, amp)


def colored_noise(rng: np.random.Generator, n: int, fs: float, f_lo: float, f_hi: float,
                  exponent: float = 0.0) -> np.ndarray:
    """Unit-variance noise with power ~ f**-exponent between ``f_lo`` and ``f_hi`` Hz (FFT shaping)."""
    spec = np.empty(n // 2 + 1, dtype=np.complex128)
    spec.real = rng.normal(size=n // 2 + 1)
    spec.imag = rng.normal(size=n // 2 + 1)
    f = np.fft.rfftfreq(n, 1 / fs)
    spec *= np.where((f >= f_lo) & (f <= f_hi), np.maximum(f, f_lo) ** (-exponent / 2), 0.0)
    del f
    x = np.fft.irfft(spec, n)
    del spec
    sd = x.std()
    if sd > 0:
        x /= sd
    return x


def sample_times(start: int, stop: int, fs: float) -> np.ndarray:
    """Times (s) of samples ``start`` to ``stop - 1``."""
    return np.arange(start, stop) / fs


def smooth_envelope(t: np.ndarray, starts_s, ends_s, ramp_s: float) -> np.ndarray:
    """0..1 envelope at times ``t`` (s), 1 on each [start, end) interval with raised-cosine ramps of ``ramp_s``."""
    env = np.zeros(len(t))
    for a, b in zip(starts_s, ends_s):
        up = np.clip((t - a) / ramp_s + 0.5, 0, 1)
        down = np.clip((b - t) / ramp_s + 0.5, 0, 1)
        env = np.maximum(env, np.minimum(up, down))
    return 0.5 - 0.5 * np.cos(np.pi * env)


def noise(rng: np.random.Generator, n: int, fs: float, n_leads: int, level: float = 1.0,
          artefacts: bool = True) -> np.ndarray:
    """Baseline wander, muscle noise (with bursts), electrode-motion artefacts and optional mains hum.

    Only the two FFT-shaped noises of one lead are held at full length; the rest is built in chunks."""
    duration = n / fs
    out = np.zeros((n, n_leads))
    resp_f = rng.uniform(0.2, 0.33)
    n_bursts = rng.poisson(3 * duration / 1800) if artefacts else 0
    starts = rng.uniform(0, duration, n_bursts)
    ends = starts + rng.uniform(2, 20, n_bursts)
    mains = (rng.random() < 0.3, rng.choice([50.0, 60.0]), rng.uniform(0.005, 0.02))
    for lead in range(n_leads):
        wander_sd = rng.uniform(0.04, 0.12)
        out[:, lead] = colored_noise(rng, n, fs, 0.01, 0.6, exponent=2.0)
        resp_sd, resp_phase = rng.uniform(0.01, 0.06), rng.uniform(0, 2 * np.pi)
        emg_base, emg_burst = rng.uniform(0.005, 0.02), rng.uniform(3, 8)
        emg = colored_noise(rng, n, fs, 15.0, fs / 2)
        hum_phase = rng.uniform(0, 2 * np.pi) if mains[0] and mains[1] < fs / 2 else None
        for lo in range(0, n, CHUNK):
            hi = min(n, lo + CHUNK)
            t = sample_times(lo, hi, fs)
            wander = wander_sd * out[lo:hi, lead]
            resp = resp_sd * np.sin(2 * np.pi * resp_f * t + resp_phase)
            emg_sd = emg_base * (1 + emg_burst * smooth_envelope(t, starts, ends, 1.0))
            out[lo:hi, lead] = level * (wander + resp + emg_sd * emg[lo:hi])
            if hum_phase is not None:
                out[lo:hi, lead] += mains[2] * np.sin(2 * np.pi * mains[1] * t + hum_phase)
        del emg
    if artefacts:
        for start in rng.uniform(0, duration, rng.poisson(2 * duration / 1800)):
            tau = rng.uniform(0.5, 2.0)
            # 50 time constants after its start an artefact lies far below the signal's precision
            lo, hi = min(n, int(start * fs)), min(n, int(np.ceil((start + 50 * tau) * fs)) + 1)
            t = sample_times(lo, hi, fs)
            dt = np.clip(t - start, 0, None)
            shape = np.where(t >= start, (1 - np.exp(-dt / 0.08)) * np.exp(-dt / tau), 0.0)
            out[lo:hi] += shape[:, None] * rng.normal(0, 0.5, n_leads)
    return out


def fibrillation(rng: np.random.Generator, n: int, fs: float, starts_s, ends_s, n_leads: int) -> np.ndarray:
    """Fibrillatory f-waves (4-8 Hz, drifting frequency and amplitude), present only during the episodes."""
    out = np.zeros((n, n_leads))
    for a, b in zip(starts_s, ends_s):
        sel = slice(int(a * fs), min(n, int(np.ceil(b * fs)) + 1))
        m = sel.stop - sel.start
        freq = rng.uniform(4.5, 7.5) + 0.5 * colored_noise(rng, m, fs, 0.0, 0.5)
        phase = 2 * np.pi * np.cumsum(freq) / fs
        wave = np.sin(phase) + 0.3 * np.sin(2 * phase + rng.uniform(0, 2 * np.pi))
        amp = np.clip(1 + 0.4 * colored_noise(rng, m, fs, 0.0, 0.3), 0.2, None)
        env = smooth_envelope(sample_times(sel.start, sel.stop, fs), [a], [b], 0.3)
        gains = rng.uniform(0.03, 0.07) * np.linspace(1.0, 1.8, n_leads) * rng.uniform(0.7, 1.3, n_leads)
        out[sel] += (wave * amp * env)[:, None] * gains
    return out


def flutter(rng: np.random.Generator, n: int, fs: float, episodes, n_leads: int) -> np.ndarray:
    """Sawtooth flutter waves; ``episodes`` holds (start_s, end_s, rate_hz, phase_ref_s) per episode."""
    out = np.zeros((n, n_leads))
    ramp = 0.2
    for a, b, rate, ref in episodes:
        # the envelope is 0 outside (a - ramp / 2, b + ramp / 2): only that span is computed
        lo, hi = max(0, int((a - ramp) * fs)), min(n, int(np.ceil((b + ramp) * fs)) + 1)
        t = sample_times(lo, hi, fs)
        x = np.mod(rate * (t - ref) + 0.7, 1.0)
        saw = np.where(x < 0.75, -x / 0.75, -(1 - x) / 0.25) + 0.5
        env = smooth_envelope(t, [a], [b], ramp)
        gains = rng.uniform(0.1, 0.2) * np.where(np.arange(n_leads) == 0, 1.0, -0.5)
        out[lo:hi] += (saw * env)[:, None] * gains
    return out


@dataclass(frozen=True)
class RhythmRecord:
    """A synthetic long-term record: signal (n, leads) in mV plus its beat and rhythm timeline."""

    signal: np.ndarray
    timeline: "Timeline"


def beat_waves(rng: np.random.Generator, kinds: np.ndarray, main_lead: str) -> list[Waves]:
    """Per-beat waves for one patient: sinus, conducted without P, premature atrial, ventricular, fusion."""
    qrst = qrst_waves(rng)
    sinus = p_wave(rng) + qrst
    ectopic_p = Waves.of([]) if rng.random() < 0.3 else p_wave(rng, rng.uniform(0.1, 0.14), rng.uniform(-0.8, 0.5))
    shapes = {"N": sinus, "n": qrst, "A": ectopic_p + qrst, "V": ventricular_waves(rng, main_lead)}
    out = []
    for kind in kinds:
        if kind == "F":
            w = rng.uniform(0.3, 0.7)
            out.append(p_wave(rng) + qrst.scaled(1 - w) + shapes["V"].scaled(w))
        else:
            out.append(shapes[kind])
    return out


def rhythm_record(rng: np.random.Generator, duration_s: float, fs: float, leads=("MLII", "V1")) -> RhythmRecord:
    """Synthesise a long-term record with rhythm episodes, ectopic beats, HRV and noise."""
    from .rhythm import AFIB, Autonomic, beat_timeline, schedule

    n = int(round(duration_s * fs))
    starts, rhythms = schedule(rng, duration_s)
    auto = Autonomic.draw(rng, duration_s)
    tl = beat_timeline(rng, duration_s, auto, starts, rhythms)
    waves = beat_waves(rng, tl.kinds, leads[0])
    rr_prev = np.diff(tl.times, prepend=tl.times[0] - auto.rr0)
    scale = (1 + 0.05 * np.sin(2 * np.pi * auto.resp_hz * tl.times + auto.phases[0])
             + 0.02 * rng.standard_normal(len(tl.times)))
    signal = render_beats(n, fs, tl.times, waves, rr_prev, scale, leads)
    af_starts, af_ends = tl.episodes(AFIB, duration_s)
    signal += fibrillation(rng, n, fs, af_starts, af_ends, len(leads))
    signal += flutter(rng, n, fs, tl.flutter, len(leads))
    signal += noise(rng, n, fs, len(leads), level=rng.uniform(0.6, 1.5))
    return RhythmRecord(signal, tl)

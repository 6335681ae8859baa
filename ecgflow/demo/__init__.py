"""Generated demo data: long-term rhythm records (mitdb-like WFDB) and a PTB-XL-layout 12-lead set.

Generative model. Each beat is a sum of Gaussian waves (P, septal q, R, s, two-part T) whose amplitudes
are 3-D heart vectors projected on each lead; patients differ in axis, amplitudes and QRS width. Beats
sit on a beat-by-beat timeline: sinus RR with slow drift, respiratory sinus arrhythmia, an LF (~0.1 Hz)
component and jitter; premature atrial (early, abnormal or absent P), ventricular (early, wide, no P,
compensatory pause) and occasional fusion beats. Rhythm episodes: paroxysmal AF (log-normal i.i.d. RR at a
higher rate, no P waves, 4-8 Hz fibrillatory waves), atrial flutter (sawtooth waves, 2:1/4:1 block),
sinus bradycardia, ventricular bigeminy/trigeminy. Noise: baseline wander, respiration, muscle noise with
bursts, electrode-motion artefacts, sometimes mains hum. All randomness comes from seeded generators.
"""

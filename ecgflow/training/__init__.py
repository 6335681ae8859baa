"""ECG classification: dataset builders, networks, the training recipe, evaluation tables and figures.

Tasks: ``superclass`` (PTB-XL-layout 12-lead records, multi-label NORM/MI/STTC/CD/HYP) and ``beats``
(single-lead beat windows, AAMI classes N/S/V/F/Q).
"""

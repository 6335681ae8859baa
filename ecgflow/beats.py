"""Beat annotation symbols and their AAMI classes (N, S, V, F, Q)."""

from __future__ import annotations

import numpy as np

AAMI_CLASSES = ("N", "S", "V", "F", "Q")
# The classes of the AAMI-based macro figures: Q (unclassifiable, a few beats) is reported but left out.
AAMI_MACRO = ("N", "S", "V", "F")

AAMI_OF_SYMBOL = {
    **dict.fromkeys("NLRej", "N"),
    **dict.fromkeys("AaJS", "S"),
    **dict.fromkeys("VE", "V"),
    "F": "F",
    **dict.fromkeys("/fQ", "Q"),
}

# WFDB beat (QRS) symbols; those outside AAMI_OF_SYMBOL (B, r, n, ?) are beats without an AAMI class.
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")


def aami_classes(symbols) -> np.ndarray:
    """AAMI class of each beat symbol, None where the symbol has none."""
    return np.array([AAMI_OF_SYMBOL.get(s) for s in symbols], dtype=object)

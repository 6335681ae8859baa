"""The workflow's per-record jobs: every configured (detector, stream) sweep of one record in one file
(:mod:`.detect`), and the metrics of every pair of that file (:mod:`.score`).

A detections file holds the sweeps of all pairs, concatenated with leading columns ``detector`` and
``stream`` and sorted by (detector, stream, combo_id, alarm_sample); its metadata carries dataset,
record, fs, n_samples and ``runs``: ``{"<detector>/<stream>": that sweep's metadata}``. One job per
record keeps a grid over many records a few jobs per record, not one per pair. The two stages are
separate modules so that each job imports, and its code hash covers, only its own stage.
"""


def pair_key(detector: str, stream: str) -> str:
    """Key of a (detector, stream) pair in a setups mapping and in the ``runs`` metadata."""
    return f"{detector}/{stream}"


def split_key(key: str) -> tuple[str, str]:
    """``(detector, stream)`` of a :func:`pair_key`."""
    detector, _, stream = key.partition("/")
    return detector, stream

"""Report: aggregated tables over records and the figures of a study."""

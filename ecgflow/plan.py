"""What the workflow runs on each selected dataset: its folder, records, and the pairs each record runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .demo.records import demo_record_names
from .errors import ConfigError
from .record_jobs.detect import record_pairs
from .sources import DatasetSpec, has_signal, list_records


@dataclass(frozen=True)
class DatasetPlan:
    """One dataset of a run: ``raw`` (its records' folder), ``records`` (sorted), ``signal_records``
    (those with a signal), and ``pairs`` (record -> the (detector, stream) pairs that run on it)."""

    spec: DatasetSpec
    raw: str
    records: tuple
    signal_records: tuple
    pairs: dict
    rhythm: bool = True  # whether the rhythm model's streams run here

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def annotation_records(self) -> tuple:
        return tuple(r for r in self.records if r not in self.signal_records)

    @property
    def detect_records(self) -> tuple:
        return tuple(r for r in self.records if self.pairs[r])

    @property
    def exists(self) -> bool:
        """Whether the records' folder is there (a real dataset's folder may await `snakemake download`)."""
        return self.spec.generated or Path(self.raw).is_dir()


def dataset_plan(spec: DatasetSpec, detectors: dict, n_demo_records: int, rhythm_source: str | None = None) -> DatasetPlan:
    """The plan of dataset ``spec``; the record list of a missing folder is empty (``download`` fills it).
    The rhythm model's streams run where a model can score the records: on a labelled dataset, or on
    any with ``rhythm_source`` (``train.rhythm.source_dataset``)."""
    if spec.generated:
        raw = f"results/{spec.name}/raw"
        records = signal = demo_record_names(n_demo_records)
    else:
        raw = str(spec.data_dir)
        records = list_records(spec) if Path(raw).is_dir() else []
        signal = [r for r in records if has_signal(spec, raw, r)]
    if spec.records is not None:
        unknown = sorted(set(spec.records) - set(records))
        if unknown:
            raise ConfigError(f"datasets.{spec.name}.records", f"{unknown} not found in {raw}")
        records = [r for r in records if r in spec.records]
        signal = [r for r in signal if r in spec.records]
    rhythm = spec.labelled or rhythm_source is not None
    pairs = {r: record_pairs(detectors, r in signal, rhythm) for r in records}
    return DatasetPlan(spec, raw, tuple(records), tuple(signal), pairs, rhythm)

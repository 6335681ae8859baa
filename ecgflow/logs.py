"""Logging for Snakemake jobs: everything a job prints, and its error, goes to the rule's log file."""

from __future__ import annotations

import contextlib
import logging
import sys
import traceback
from pathlib import Path

from tqdm import tqdm


@contextlib.contextmanager
def log_to(path):
    """Send logging, stdout and stderr to ``path``; an exception is logged, then re-raised."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh, contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
        handler = logging.StreamHandler(fh)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        try:
            yield
        except BaseException as exc:
            fh.write(f"ERROR: {exc}\n")
            traceback.print_exc(file=fh)
            raise
        finally:
            root.removeHandler(handler)


def progress(iterable, desc: str, total: int | None = None):
    """A tqdm progress bar over ``iterable`` (written to stderr: the job's log inside Snakemake)."""
    interactive = sys.stderr.isatty()
    return tqdm(iterable, desc=desc, total=total, mininterval=0.5 if interactive else 10.0, dynamic_ncols=interactive)

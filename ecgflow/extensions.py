"""User extensions: Python modules, named in the config's ``extensions`` list, that register detectors
(:func:`ecgflow.detectors.register_detector`) and streams (:func:`ecgflow.streams.register_stream`).

An item ending in ``.py`` is a file (relative to the working directory); any other is a module name
importable on ``sys.path``. The workflow loads them before it checks the config, and again in every job
that runs detectors or builds streams.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path

from .errors import ConfigError


def extension_file(item: str, base=".") -> Path:
    """The source file of extension ``item``."""
    if item.endswith(".py"):
        path = Path(base, item)
        if not path.is_file():
            raise ConfigError("extensions", f"{path} not found")
        return path.resolve()
    spec = importlib.util.find_spec(item)
    if spec is None or spec.origin is None:
        raise ConfigError("extensions", f"module {item!r} not found on the Python path")
    return Path(spec.origin)


def load_extensions(items, base=".") -> None:
    """Import each extension of ``items`` once (a failing import is a ConfigError naming it)."""
    for item in items or ():
        path = extension_file(item, base)
        name = f"ecgflow_extension_{path.stem}" if item.endswith(".py") else item
        if name in sys.modules:
            continue
        try:
            if item.endswith(".py"):
                spec = importlib.util.spec_from_file_location(name, path)
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module
                spec.loader.exec_module(module)
            else:
                importlib.import_module(item)
        except Exception as exc:
            sys.modules.pop(name, None)
            raise ConfigError("extensions", f"{item}: import failed ({type(exc).__name__}: {exc})") from exc


def extensions_hash(items, base=".") -> str:
    """Short hash of the extensions' source files: a job's param, so that editing one reruns its jobs."""
    digest = hashlib.sha256()
    for item in items or ():
        digest.update(item.encode())
        digest.update(extension_file(item, base).read_bytes())
    return digest.hexdigest()[:16]

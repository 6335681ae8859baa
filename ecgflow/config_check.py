"""Checks of the workflow config, run before any job: the JSON schema (with its defaults filled in;
:func:`validate_config`, whose errors name the key in a few lines) and what depends on the code.

:func:`typed_overrides` gives command-line overrides their types first: Snakemake reads the value
of ``--config evaluation='{tolerances_s: [3]}'`` with YAML's base loader, which keeps every nested
scalar a string (``'3'``). After the schema has checked types and ranges, :func:`check_config`
checks what depends on the detector code: each detector's fixed parameters (names and ranges,
through :func:`ecgflow.detectors.resolve_params`) and each stream's grid (through
:func:`ecgflow.grid.canonical_stream_grid`). Every error names the full config key, e.g.
``detectors.adwin.params.delt``.
"""

from __future__ import annotations

import copy
import difflib
from pathlib import Path

import jsonschema
import yaml
from jsonschema import Draft202012Validator, validators

from .detectors import resolve_params
from .errors import ConfigError
from .grid import canonical_stream_grid, split_stream_spec


def _params(key: str, detector: str, semantics: str, params) -> dict:
    """``params`` checked as fixed parameters of ``detector``; errors carry ``key`` as prefix."""
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise ConfigError(key, f"must be a mapping of parameter names to values, got {params!r}")
    try:
        resolve_params(detector, semantics, params)
    except ConfigError as e:
        raise ConfigError(f"{key}.{e.key}", e.problem) from None
    return params


def check_detectors(detectors: dict) -> None:
    """Every detector's params and every stream's grid and params (see the module docstring)."""
    for detector, spec in sorted((detectors or {}).items()):
        key = f"detectors.{detector}"
        semantics = spec.get("semantics", "river")
        try:
            resolve_params(detector, semantics)
        except ConfigError as e:
            raise ConfigError(key if e.key == "detector" else f"{key}.{e.key}", e.problem) from None
        common = _params(f"{key}.params", detector, semantics, spec.get("params"))
        for stream, stream_spec in sorted((spec.get("streams") or {}).items()):
            skey = f"{key}.streams.{stream}"
            grid_spec, own_params = split_stream_spec(stream_spec)
            own = _params(f"{skey}.params", detector, semantics, own_params)
            grid = canonical_stream_grid(grid_spec, detector, stream, skey)
            swept = grid["threshold"]["name"]
            for where, params in ((f"{key}.params", common), (f"{skey}.params", own)):
                if swept in params:
                    raise ConfigError(f"{where}.{swept}", f"is swept by {skey}.threshold; remove it from the fixed params")


def _with_defaults(validator_class):
    """A validator class that fills in each missing property's default (a copy) before checking it."""
    check_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub:
                    instance.setdefault(name, copy.deepcopy(sub["default"]))
        yield from check_properties(validator, properties, instance, schema)

    return validators.extend(validator_class, {"properties": set_defaults})


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _schema_error(error: jsonschema.ValidationError) -> ConfigError:
    """A few lines naming the key, what was expected and, for an unknown key, the valid names."""
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        key = _key([*error.absolute_path, unknown[0]])
        close = difflib.get_close_matches(unknown[0], allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return ConfigError(key, f"unknown key{hint} valid keys here: {', '.join(allowed)}")
    if error.validator == "enum":
        return ConfigError(_key(error.absolute_path), f"{error.instance!r} is not one of {error.validator_value}")
    if error.validator in ("type", "anyOf"):
        expected = error.schema.get("description") or error.message
        return ConfigError(_key(error.absolute_path), f"{error.instance!r} does not fit: {expected}")
    return ConfigError(_key(error.absolute_path), error.message)


def validate_config(config: dict, schema_path) -> None:
    """Fill in the schema's defaults and check ``config`` against it, in place; the first problem
    raises a :class:`ConfigError` naming its key (no schema dump)."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = _with_defaults(Draft202012Validator)(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is not None:
        raise _schema_error(error)


def check_config(config: dict) -> None:
    """Raise :class:`ConfigError` naming the full key of the first problem in a schema-valid ``config``."""
    check_detectors(config.get("detectors") or {})


def _types(schema: dict) -> set:
    t = schema.get("type", [])
    return {t} if isinstance(t, str) else set(t)


def _typed(value, schema: dict, defs: dict):
    """``value`` with every string that the schema does not allow as a string (or leaves free, as a
    detector's ``params``) parsed as YAML."""
    if "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    if isinstance(value, dict):
        props, extra = schema.get("properties", {}), schema.get("additionalProperties")
        return {k: _typed(v, props.get(k, extra if isinstance(extra, dict) else {}), defs) for k, v in value.items()}
    if isinstance(value, list):
        items = schema.get("items")
        return [_typed(v, items, defs) for v in value] if isinstance(items, dict) else value
    if isinstance(value, str) and "string" not in _types(schema) and not schema.get("anyOf"):
        try:
            return yaml.safe_load(value)
        except yaml.YAMLError:
            return value
    return value


def typed_overrides(config: dict, schema_path) -> None:
    """Give the string values of ``config`` that the schema does not type as strings their YAML
    types, in place (see the module docstring). Values the schema types as strings stay strings."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    config.update(_typed(config, schema, schema.get("$defs", {})))

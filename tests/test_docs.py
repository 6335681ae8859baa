"""The user guide (README.md and docs/*.md) against the code: every config key of the schema on the
configuration page and no other, the README's shape, and every relative link resolving.

Convention of docs/configuration.md: each config key is a row of a Markdown table whose first cell is
the key as a dotted path in backticks, e.g. | `train.beats.epochs` | ... |. A name the user chooses is
written in angle brackets (`datasets.<name>.base`, `detectors.<d>.streams.<s>.window.name`); any
bracketed segment matches any other. Every table of that page is a table of keys.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "config" / "schema" / "config.schema.yaml"
README = ROOT / "README.md"
DOCS = ROOT / "docs"
CONFIG_PAGE = DOCS / "configuration.md"
ANY = "<*>"


def _resolve(node: dict, defs: dict) -> dict:
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def schema_keys(node: dict, defs: dict, prefix: str = "") -> set[str]:
    """Every key the schema allows, dotted; a user-chosen name (additionalProperties with a schema, or
    several sibling properties sharing one $defs entry, as the detectors do) is the segment ``<*>``."""
    node = _resolve(node, defs)
    keys = set()
    props = node.get("properties", {})
    refs = {p.get("$ref") for p in props.values()}
    if len(props) > 1 and len(refs) == 1 and None not in refs:  # e.g. detectors.adwin ... detectors.cusum
        key = f"{prefix}.{ANY}" if prefix else ANY
        keys.add(key)
        keys |= schema_keys(next(iter(props.values())), defs, key)
    else:
        for name, sub in props.items():
            key = f"{prefix}.{name}" if prefix else name
            keys.add(key)
            keys |= schema_keys(sub, defs, key)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        key = f"{prefix}.{ANY}"
        keys.add(key)
        keys |= schema_keys(extra, defs, key)
    for option in node.get("anyOf", []):
        if isinstance(option, dict) and option.get("properties"):
            keys |= schema_keys(option, defs, prefix)
    return keys


def page_keys(text: str) -> set[str]:
    """The first-column `code` cells of every table row of the page, placeholders made ``<*>``."""
    keys = set()
    for line in text.splitlines():
        m = re.match(r"^\|\s*`([^`]+)`\s*\|", line)
        if m:
            keys.add(re.sub(r"<[^>.]+>", ANY, m.group(1).strip()))
    return keys


def test_every_schema_key_is_on_the_configuration_page_and_no_other():
    schema = yaml.safe_load(SCHEMA.read_text())
    expected = schema_keys(schema, schema.get("$defs", {}))
    documented = page_keys(CONFIG_PAGE.read_text())
    assert "train.beats.epochs" in expected and f"datasets.{ANY}.base" in expected  # the walk itself
    assert f"detectors.{ANY}.streams.{ANY}.threshold.name" in expected
    missing, unknown = sorted(expected - documented), sorted(documented - expected)
    assert not missing, f"config keys of the schema missing from docs/configuration.md: {missing}"
    assert not unknown, f"keys on docs/configuration.md that the schema does not have: {unknown}"


def test_readme_is_short_starts_with_the_two_commands_and_links_every_page():
    lines = README.read_text().splitlines()
    assert len(lines) <= 160, f"README.md has {len(lines)} lines (at most 160)"
    body = [line for line in lines if line.strip()]
    assert body[0].startswith("# "), "the README starts with its title"
    assert body[1].startswith("```"), "the first lines after the title are the code block of the two commands"
    end = next(i for i in range(2, len(body)) if body[i].startswith("```"))
    block = body[2:end]
    assert [line.split()[:2] for line in block] == [["make", "run"], ["make", "test"]], block
    text = "\n".join(lines)
    for page in sorted(DOCS.glob("*.md")):
        assert f"](docs/{page.name})" in text or f"](docs/{page.name}#" in text, f"README.md does not link {page}"


def _links(path: Path):
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)  # code blocks hold no links
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target) and not target.startswith("#"):
            yield target


def test_every_relative_link_resolves():
    broken = []
    for page in [README, *sorted(DOCS.glob("*.md"))]:
        for target in _links(page):
            file = target.split("#", 1)[0]
            if not (page.parent / file).exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, broken

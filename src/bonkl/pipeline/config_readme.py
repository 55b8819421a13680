"""``config/README.md``, generated from the descriptions of the config's schema, so that it stays true.

``python -m bonkl.pipeline.config_readme`` (from the repository root) rewrites it;
``--check`` only says whether it is up to date (CI runs that, and a test does the same).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .workflow_config import CONFIG_SCHEMA, _schema_at, _types

README = "config/README.md"

INTRO = """\
# The workflow's settings

Every setting of the workflow, its default and what it may be, by section; one section per figure
or stage. Generated from the descriptions in `{schema}` by `python -m bonkl.pipeline.config_readme`:
edit the schema, not this file (a test checks that the two agree). The config is checked against
the schema before any job runs: a misspelt key or a value out of range stops the run with one line.

Files here: `config.yaml` (the defaults, with the reason for each value), `paper.yaml` (the paper's
setting: Gemma 2 9B on a GPU) and `prompts/` (the prompt sets). The test scenarios are in `../.test/`.
To change a setting, put it in a file of your own, which merges into `config.yaml` key by key:
`snakemake --cores all --configfile my.yaml` (targets go before `--configfile`), or give it on the
command line: `snakemake --cores all --config 'lm={{sampling: {{num_samples: 64}}}}'`.
"""


def _number(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _range(schema: dict) -> str:
    """``[2, 1e+07]``, ``> 0``, ``<= 30`` ... from the schema's bounds ('' when it has none)."""
    low = ("[", schema["minimum"]) if "minimum" in schema else ("(", schema.get("exclusiveMinimum"))
    high = ("]", schema["maximum"]) if "maximum" in schema else (")", schema.get("exclusiveMaximum"))
    if low[1] is not None and high[1] is not None:
        return f" in {low[0]}{_number(low[1])}, {_number(high[1])}{high[0]}"
    if low[1] is not None:
        return f" {'>=' if low[0] == '[' else '>'} {_number(low[1])}"
    if high[1] is not None:
        return f" {'<=' if high[0] == ']' else '<'} {_number(high[1])}"
    return ""


def allowed(schema, root: dict) -> str:
    """What a value of ``schema`` may be, in words."""
    schema = _schema_at(schema, root)
    if "enum" in schema:
        return "one of " + ", ".join(f"`{value}`" for value in schema["enum"])
    options = schema.get("oneOf") or schema.get("anyOf")
    if options:
        return " or ".join(allowed(option, root) for option in options)
    kinds = _types(schema)
    words = []
    for kind in kinds:
        if kind in ("integer", "number"):
            words.append(("an integer" if kind == "integer" else "a number") + _range(schema))
        elif kind == "string":
            words.append(f"text matching `{schema['pattern']}`" if "pattern" in schema else "text")
        elif kind == "boolean":
            words.append("true or false")
        elif kind == "null":
            words.append("null")
        elif kind == "array":
            words.append(_list(schema, root))
        elif kind == "object":
            extra = schema.get("additionalProperties")
            entry = _schema_at(extra, root) if isinstance(extra, dict) else None
            shown = "entries (below)" if entry and "properties" in entry else allowed(extra, root) if entry else None
            words.append(f"a mapping of names to {shown}" if shown else "a mapping (keys below)")
    return " or ".join(words) or "anything"


def _list(schema: dict, root: dict) -> str:
    sizes = (schema.get("minItems"), schema.get("maxItems"))
    count = (
        f"{sizes[0]}"
        if sizes[0] == sizes[1] and sizes[0] is not None
        else f"{sizes[0]} to {sizes[1]}"
        if None not in sizes
        else f"at least {sizes[0]}"
        if sizes[0] is not None
        else f"at most {sizes[1]}"
        if sizes[1] is not None
        else "any number of"
    )
    distinct = ", distinct" if schema.get("uniqueItems") else ""
    return f"a list of {count} ({allowed(schema.get('items', {}), root)}{distinct})"


def _default(schema: dict, inherited, required: bool = True) -> str:
    """The default, as YAML: the enclosing mapping's default for this key wins (set_default fills it first).
    A key without one is required, or, in an entry that does not require it, left out when not given."""
    import yaml

    if inherited is _NONE and "default" not in schema:
        return "(required)" if required else "(none)"
    value = schema.get("default") if inherited is _NONE else inherited
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
    return f"`{text.removesuffix('...').strip()}`"


_NONE = object()  # no default from the enclosing mapping


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _section(key: str, schema, root: dict, depth: int, inherited=None) -> list[str]:
    """A heading, the section's description and a table of its keys; sub-sections follow it.
    ``inherited``: the enclosing default's value for this section (it overrides the keys' own)."""
    schema = _schema_at(schema, root)
    given = schema.get("default") if inherited is None else inherited
    given = given if isinstance(given, dict) else {}
    lines = [f"{'#' * depth} `{key}`", "", _cell(schema.get("description", "")), ""]
    rows, subsections = [], []
    for name, sub in schema.get("properties", {}).items():
        resolved = _schema_at(sub, root)
        if "properties" in resolved:
            subsections += _section(f"{key}.{name}", sub, root, min(depth + 1, 4), given.get(name))
            continue
        required = "required" not in schema or name in schema["required"]
        default = _default(resolved, given.get(name, _NONE), required)
        rows.append(
            f"| `{key}.{name}` | {default} | {_cell(allowed(sub, root))} | {_cell(resolved.get('description', ''))} |"
        )
        entry = _schema_at(resolved.get("additionalProperties"), root)
        if "properties" in entry:  # a mapping of user-named entries: their keys below
            subsections += _section(f"{key}.{name}.<name>", entry, root, min(depth + 1, 4), {})
    if rows:
        lines += ["| key | default | allowed | what it is |", "|---|---|---|---|", *rows, ""]
    return lines + subsections


def render(schema_file=CONFIG_SCHEMA) -> str:
    """The README for the schema in ``schema_file``."""
    import yaml

    root = yaml.safe_load(Path(schema_file).read_text(encoding="utf-8"))
    lines = [INTRO.format(schema=CONFIG_SCHEMA)]
    for key, schema in root["properties"].items():
        lines += _section(key, schema, root, 2)
    return "\n".join(lines).rstrip() + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bonkl.pipeline.config_readme", description=__doc__)
    parser.add_argument("--check", action="store_true", help=f"only check that {README} is up to date")
    args = parser.parse_args(argv)
    text, path = render(), Path(README)
    if args.check:
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            print(
                f"{README} is not what {CONFIG_SCHEMA} says; run `python -m bonkl.pipeline.config_readme`",
                file=sys.stderr,
            )
            return 1
        return 0
    from ..files.atomic import write_text

    write_text(text, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The workflow's config before any job runs: typed, trimmed, validated into one-line errors, checked.

- Values given on the command line arrive as text: ``--config 'lm={sampling: {num_samples: 64}}'``
  gives the string "64" (Snakemake reads nested values with YAML's BaseLoader). :func:`prepare_config`
  converts each string to the type the schema asks for at that key (integer, number, boolean, null,
  or a list or mapping of them); a string the schema allows is left alone. Dotted keys
  (``--config lm.sampling.num_samples=64``) are refused by Snakemake itself: nest them as above.
- Config files merge into config/config.yaml key by key, mappings recursively, so a file cannot
  drop an entry of a default mapping by leaving it out. Setting the entry to null drops it:
  ``lm: {prompt_sets: {alpaca: null, mine: my_prompts.yaml}}``; dropping a prompt set also drops its
  lm.rewards entry, the lm.figures that plot it and the lm.samplers drawn on it; dropping a sampler
  variant drops the lm.practice figures that plot it.
- snakemake.utils.validate reports a failure with the whole schema and config (hundreds of lines);
  :func:`config_error` turns it into one message naming the key.
- :func:`check_closed_form_config`: what the schema cannot express.

Named so as not to shadow Snakemake's ``config``. yaml, jsonschema and snakemake are imported
where used: the core package needs none of them.
"""

from __future__ import annotations

from pathlib import Path

#: The config's schema, relative to the repository root.
CONFIG_SCHEMA = "workflow/schemas/config.schema.yaml"
#: The default config, relative to the working directory (as the Snakefile's ``configfile:``).
DEFAULT_CONFIG = "config/config.yaml"


def check_working_directory(basedir) -> None:
    """The default config, and the relative paths inside it (prompt files, the model), are read from
    the working directory, as in every Snakemake workflow. Snakemake skips a missing default config
    without a word when ``--configfile`` is given (``snakemake -s path/to/Snakefile`` from another
    folder): say which file is missing and how to run instead."""
    if Path(DEFAULT_CONFIG).is_file():
        return
    from snakemake.exceptions import WorkflowError

    here = Path.cwd()
    hint = (
        f"run snakemake from {basedir}, or add --directory {basedir}"
        if (Path(basedir) / DEFAULT_CONFIG).is_file()
        else "run snakemake from the folder that holds config/config.yaml"
    )
    raise WorkflowError(
        f"{DEFAULT_CONFIG} is not in the working directory {here}: the workflow reads it, and the paths "
        f"inside it, from there; {hint} (outputs then go to that folder's results/)."
    )


def _schema_at(schema, root: dict) -> dict:
    """``schema`` with its ``$ref`` (``#/$defs/...``) followed, sibling keys kept."""
    while isinstance(schema, dict) and "$ref" in schema:
        target = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema if isinstance(schema, dict) else {}


def _types(schema: dict) -> list[str]:
    """The JSON types a schema allows, its ``oneOf``/``anyOf`` options included."""
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    for option in schema.get("oneOf", []) + schema.get("anyOf", []):
        types += _types(option)
    return types or (["string"] if any(isinstance(v, str) for v in schema.get("enum", [])) else [])


def _as_number(text: str, kind: str):
    """``text`` as an integer (``"1e2"`` too) or a number; None if it reads as neither."""
    for parse in (int, float):
        try:
            value = parse(text)
        except ValueError:
            continue
        if kind == "number" or parse is int:
            return value
        if value.is_integer():
            return int(value)
    return None


def _as_container(text: str, kind: str):
    """``text`` as a YAML list (``array``) or mapping (``object``); None if it is not one."""
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return value if isinstance(value, list if kind == "array" else dict) else None


_PARSERS = {"integer": _as_number, "number": _as_number, "array": _as_container, "object": _as_container}


def _from_text(text: str, types: list[str]):
    """``text`` as the first of ``types`` it reads as; ``text`` itself if none."""
    lowered = text.strip().lower()
    for kind in types:
        if kind == "null" and lowered in ("null", "none", "~"):
            return None
        if kind == "boolean" and lowered in ("true", "false"):
            return lowered == "true"
        value = _PARSERS[kind](text, kind) if kind in _PARSERS else None
        if value is not None:
            return value
    return text


def _coerce(value, schema, root: dict):
    """``value`` typed by ``schema``, recursively; null entries of user-keyed mappings dropped."""
    schema = _schema_at(schema, root)
    if isinstance(value, dict):
        props, extra = schema.get("properties", {}), schema.get("additionalProperties")
        for key in list(value):
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if value[key] is None and sub is not None and key not in props:
                del value[key]  # null drops an entry of a user-keyed mapping
            elif sub is not None:
                value[key] = _coerce(value[key], sub, root)
        return value
    if isinstance(value, list):
        items = schema.get("items")
        return [_coerce(v, items, root) for v in value] if isinstance(items, dict) else value
    if isinstance(value, str):
        types = _types(schema)
        if "null" in types and value.strip().lower() in ("null", "~"):
            return None  # --config 'lm={model: {gguf_file: null}}' (no file is called "null")
        if types and "string" not in types:
            parsed = _from_text(value, types)
            return _coerce(parsed, schema, root) if isinstance(parsed, (list, dict)) else parsed
    return value


def prepare_config(config: dict, schema_file) -> None:
    """Type command-line values by the schema and apply null removals, in place (see above)."""
    import yaml

    root = yaml.safe_load(Path(schema_file).read_text())
    lm = config.get("lm") if isinstance(config.get("lm"), dict) else {}
    dropped = [name for name, path in (lm.get("prompt_sets") or {}).items() if path is None]
    samplers = [name for name, entry in (lm.get("samplers") or {}).items() if entry is None]
    _coerce(config, root, root)
    for name in dropped:
        if isinstance(lm.get("rewards"), dict):
            lm["rewards"].pop(name, None)
        _drop_entries(lm, "figures", "prompt_set", name)
        samplers += _drop_entries(lm, "samplers", "prompt_set", name)
    for name in samplers:
        _drop_entries(lm, "practice", "sampler", name)


def _drop_entries(lm: dict, section: str, key: str, value: str) -> list[str]:
    """Drop the entries of ``lm[section]`` whose ``key`` is ``value`` (what a dropped entry takes along)."""
    entries = lm.get(section) if isinstance(lm.get(section), dict) else {}
    names = [name for name, entry in entries.items() if isinstance(entry, dict) and entry.get(key) == value]
    for name in names:
        del entries[name]
    return names


def config_error(error: Exception) -> Exception:
    """One message for a failed validation (the key, what is wrong, what the key is for, or which
    keys are allowed there); ``error`` itself when it does not come from a jsonschema failure."""
    import jsonschema
    from snakemake.exceptions import WorkflowError

    cause = error.__context__
    if not isinstance(cause, jsonschema.ValidationError):
        return error
    where = ".".join(str(part) for part in cause.absolute_path) or "the top level"
    message = f"Invalid config at {where}: {cause.message}"
    schema = cause.schema if isinstance(cause.schema, dict) else {}
    if cause.validator == "additionalProperties":
        message += f". Allowed keys at {where}: {', '.join(sorted(schema.get('properties', {})))}"
    elif schema.get("description"):
        message += f" ({where}: {schema['description']})"
    if cause.validator == "type" and isinstance(cause.instance, str):
        message += (
            ". A value given with --config is text unless it reads as the type asked for; "
            "nest keys as --config 'lm={sampling: {num_samples: 64}}'"
        )
    return WorkflowError(f"{message}.\nEvery key, its range and its default: {CONFIG_SCHEMA}")


def check_closed_form_config(config: dict) -> None:
    """What the schema cannot express about the closed-form sections; messages name the key."""
    masses = config["example2"]["masses"]
    if abs(sum(masses) - 1.0) > 1e-9:
        raise ValueError(f"config example2.masses {masses} must sum to 1 (they sum to {sum(masses)!r})")
    for label, panel in config["top_outcomes"]["panels"].items():
        key = f"config top_outcomes.panels.{label}"
        tops = panel["top_masses"]
        if len(tops) >= panel["alphabet_size"]:
            raise ValueError(
                f"{key}.alphabet_size ({panel['alphabet_size']}) must exceed the number of "
                f"top_masses ({len(tops)}): the uniform rest needs at least one outcome"
            )
        if sum(tops) >= 1:
            raise ValueError(f"{key}.top_masses {tops} must sum to less than 1")
    for section in ("example2", "example3"):
        if config[section]["beta_min"] >= config[section]["beta_max"]:
            raise ValueError(
                f"config {section}.beta_min ({config[section]['beta_min']}) must be below "
                f"{section}.beta_max ({config[section]['beta_max']})"
            )

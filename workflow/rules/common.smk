# Helpers shared by the rule files (targets, code dependencies, config checks); no rules here.

import ast
from pathlib import Path

import bonkl

# ---------------------------------------------------------------------------------------------
# Targets. Each rule file registers, under a name of its own, what `rule all` builds -
#     TARGETS["closed_form"] = [...]
# `rule all` (in the Snakefile) asks for every registered file through all_targets(), an input
# function evaluated after every rule file has been read, so the order of the includes does not
# matter. Each stage also has a target rule of its own (closed_form, claims, ...).
# ---------------------------------------------------------------------------------------------
TARGETS = {}


def all_targets(wildcards):
    """Every file of every registered stage (the input of `rule all`)."""
    return [path for paths in TARGETS.values() for path in paths]


def figure_outputs(stem, extensions=("png", "pdf", "csv")):
    """The files of one figure in results/figures/: its PNG, PDF and the CSV of its numbers."""
    return [f"results/figures/{stem}.{ext}" for ext in extensions]


# ---------------------------------------------------------------------------------------------
# Code dependencies. Snakemake reruns a job when its `script:` changes, but it does not see the
# modules that script imports. So every rule that calls bonkl lists the package modules it uses
# as `input: code=script_code("<its script>")`: an edit to one of them (a newer file) reruns
# exactly the rules that use it. script_code reads the script's own imports and follows the
# package's imports from there (every form, at any depth; tests/faults/test_code_dependencies.py
# checks it against Python's modulefinder on the real package). bonkl/__init__.py is left out on
# purpose: it only re-exports, and a new export must not rerun everything.
# ---------------------------------------------------------------------------------------------
PACKAGE_DIR = Path(bonkl.__file__).resolve().parent


def _shown(path):
    """The path relative to the working directory when the package lives below it (the usual
    editable install), absolute otherwise (a test's temporary copy of the workflow)."""
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _module_file(dotted):
    """The file of a module named ``bonkl.a.b`` (or None)."""
    parts = dotted.split(".")
    if parts[0] != PACKAGE_DIR.name:
        return None
    target = PACKAGE_DIR.joinpath(*parts[1:])
    for candidate in (target.with_suffix(".py"), target / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _relative_imports(path):
    """Package files one module imports, in every form the package uses, at any depth (inside
    functions too): ``from . import x``, ``from .x import y``, ``from ..lm.x import y``,
    ``import bonkl.x``, ``from bonkl.x import y``, and lazy imports by name
    (``importlib.import_module("bonkl.lm.x")``: any string constant that is a dotted bonkl module name)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and "." in node.value
            and " " not in node.value
            and _module_file(node.value)
        ):
            found.append(_module_file(node.value))
            continue
        if isinstance(node, ast.Import):  # "import bonkl", "import bonkl.kl"
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == PACKAGE_DIR.name:
                    target = PACKAGE_DIR.joinpath(*parts[1:])
                    found += [c for c in (target.with_suffix(".py"), target / "__init__.py") if c.is_file()][:1]
            continue
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level == 0:  # "from bonkl.kl import x": the same as "from .kl import x" at the top
            parts = (node.module or "").split(".")
            if parts[0] != PACKAGE_DIR.name:
                continue
            base, module = PACKAGE_DIR, ".".join(parts[1:]) or None
        else:
            base, module = path.parent, node.module
            for _ in range(node.level - 1):
                base = base.parent
        stem = base.joinpath(*module.split(".")) if module else base
        for candidate in (stem.with_suffix(".py"), stem / "__init__.py"):
            if module and candidate.is_file():
                found.append(candidate)
                break
        for alias in node.names:  # "from .pkg import module": the imported names may be modules
            for candidate in (stem / f"{alias.name}.py", stem / alias.name / "__init__.py"):
                if candidate.is_file():
                    found.append(candidate)
                    break
            else:
                if not module and (stem / "__init__.py").is_file():
                    found.append(stem / "__init__.py")  # "from . import name": defined in the package
    return found


def script_code(script, data=()):
    """The bonkl files a workflow script (``workflow/scripts/<script>``) imports, followed through
    the package: what a rule running that script depends on. Derived from the script itself, so
    a rule cannot forget a module its script uses."""
    path = Path(workflow.basedir) / "workflow" / "scripts" / script
    modules = [str(p.relative_to(PACKAGE_DIR)) for p in _relative_imports(path)]
    return package_code(*modules, data=data)


def package_code(*modules, data=()):
    """The files of bonkl (paths like "kl.py", "plotting/closed_form.py") that a rule's script
    uses, with every module they import from the package, and any data files (``data``)."""
    todo = [PACKAGE_DIR / name for name in modules]
    seen = []
    while todo:
        path = todo.pop()
        if not path.is_file():
            raise ValueError(f"package_code: {path} is not a file of bonkl")
        if path in seen:
            continue
        seen.append(path)
        todo += _relative_imports(path)
    # "import bonkl" reaches bonkl/__init__.py: follow the modules it re-exports, but leave the file
    # itself out (it only re-exports; adding an export must not rerun every rule).
    files = sorted(p for p in seen if p != PACKAGE_DIR / "__init__.py") + [PACKAGE_DIR / name for name in data]
    return [_shown(p) for p in files]


# ---------------------------------------------------------------------------------------------
# Config preparation, before validation (the Snakefile calls prepare_config):
# - Values given on the command line arrive as text: `--config 'lm={sampling: {num_samples: 64}}'`
#   gives the string "64" (Snakemake reads nested values with YAML's BaseLoader). Each string is
#   converted to the type the schema asks for at that key (integer, number, boolean, null, or a
#   list of them); a string the schema allows is left alone. Dotted keys
#   (`--config lm.sampling.num_samples=64`) are refused by Snakemake itself: nest them as above.
# - Config files merge into config/config.yaml key by key, mappings recursively, so a file cannot
#   drop an entry of a default mapping by leaving it out. Setting the entry to null drops it:
#   `lm: {prompt_sets: {alpaca: null, translation: null, mine: my_prompts.yaml}}` replaces the
#   default prompt sets with `mine`; dropping a prompt set also drops its lm.rewards entry and the
#   lm.figures that plot it.
# ---------------------------------------------------------------------------------------------
def _schema_at(schema, root):
    while isinstance(schema, dict) and "$ref" in schema:
        target = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema if isinstance(schema, dict) else {}


def _types(schema):
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    for option in schema.get("oneOf", []) + schema.get("anyOf", []):
        types += _types(option)
    return types or (["string"] if any(isinstance(v, str) for v in schema.get("enum", [])) else [])


def _from_text(text, types):
    """``text`` as the first of ``types`` it reads as; ``text`` itself if none."""
    import yaml

    lowered = text.strip().lower()
    for kind in types:
        if kind == "null" and lowered in ("null", "none", "~"):
            return None
        if kind == "boolean" and lowered in ("true", "false"):
            return lowered == "true"
        if kind in ("integer", "number"):
            for parse in (int, float) if kind == "number" else (int,):
                try:
                    return parse(text)
                except ValueError:
                    pass
            if kind == "integer":
                try:
                    value = float(text)
                    if value.is_integer():
                        return int(value)
                except ValueError:
                    pass
        if kind in ("array", "object"):
            try:
                value = yaml.safe_load(text)
            except yaml.YAMLError:
                continue
            if isinstance(value, list if kind == "array" else dict):
                return value
    return text


def _coerce(value, schema, root):
    schema = _schema_at(schema, root)
    if isinstance(value, dict):
        props, extra = schema.get("properties", {}), schema.get("additionalProperties")
        for key in list(value):
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if value[key] is None and sub is not None and key not in props:
                del value[key]  # null drops an entry of a user-keyed mapping (see above)
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


def prepare_config(config, schema_file):
    """Type command-line values by the schema and apply null removals, in place (see above)."""
    import yaml

    root = yaml.safe_load(Path(schema_file).read_text())
    lm = config.get("lm") if isinstance(config.get("lm"), dict) else {}
    dropped = [name for name, path in (lm.get("prompt_sets") or {}).items() if path is None]
    _coerce(config, root, root)
    for name in dropped:
        if isinstance(lm.get("rewards"), dict):
            lm["rewards"].pop(name, None)
        if isinstance(lm.get("figures"), dict):
            for stem in [s for s, f in lm["figures"].items() if isinstance(f, dict) and f.get("prompt_set") == name]:
                del lm["figures"][stem]


# ---------------------------------------------------------------------------------------------
# Config errors. snakemake.utils.validate reports a failure with the whole schema and config
# (hundreds of lines); config_error turns it into one message: the key, what is wrong with it,
# what the key is for (or, for an unknown key, which keys are allowed there).
# ---------------------------------------------------------------------------------------------
def config_error(error):
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
    schema_file = "workflow/schemas/config.schema.yaml"
    return WorkflowError(f"{message}.\nEvery key, its range and its default: {schema_file}")


# ---------------------------------------------------------------------------------------------
# Checks the schema cannot express, made before any job runs (messages name the key).
# ---------------------------------------------------------------------------------------------
def check_closed_form_config(config):
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


def plot_options(stem):
    """The plotting options of one figure: its own size and axes, with the shared dpi, title
    switch and colours. Only this goes into a plot rule's params, so changing one figure's
    options redraws that figure alone."""
    plot = config["plot"]
    return {"dpi": plot["dpi"], "title": plot["title"], "colors": plot["colors"], **plot["figures"][stem]}

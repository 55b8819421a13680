# Helpers of the rule files (no rules here); glue to bonkl.pipeline, which holds the results layout
# (paths), the code dependencies (code_deps), and the config's preparation and checks (workflow_config).

from pathlib import Path

from bonkl.pipeline import code_deps, paths
from bonkl.pipeline.workflow_config import (
    CONFIG_SCHEMA,
    check_closed_form_config,
    check_working_directory,
    config_error,
    prepare_config,
)

# Targets. Each rule file registers, under a name of its own, what `rule all` builds -
#     TARGETS["closed_form"] = [...]
# `rule all` (in the Snakefile) asks for every registered file through all_targets(), an input
# function evaluated after every rule file has been read, so the order of the includes does not
# matter. Each stage also has a target rule of its own (closed_form, claims, ...).
TARGETS = {}


def all_targets(wildcards):
    """Every file of every registered stage (the input of `rule all`)."""
    return [file for files in TARGETS.values() for file in files]


def script_code(script, data=()):
    """The bonkl files workflow/scripts/<script> imports, and ``data`` files of bonkl: a rule's
    `input: code=`, so that editing a module reruns the rules that use it (bonkl.pipeline.code_deps)."""
    return code_deps.script_code(Path(workflow.basedir) / "workflow" / "scripts" / script, data=data)


def plot_options(stem):
    """The plotting options of one figure: its own size and axes, with the shared dpi, title
    switch and colours. Only this goes into a plot rule's params, so changing one figure's
    options redraws that figure alone."""
    plot = config["plot"]
    return {"dpi": plot["dpi"], "title": plot["title"], "colors": plot["colors"], **plot["figures"][stem]}

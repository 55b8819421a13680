# Rebuilds every figure of "Theoretical Guarantees on the Best-of-n Alignment Policy"
# (Beirami et al., ICML 2025):   snakemake --cores 2          (everything: rule all)
#                                 snakemake --cores 2 closed_form
# Outputs land in results/ (figures/, tables/), logs in logs/. See README.md.

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

# 9.1.1 stopped rerunning jobs whose code changed (snakemake#3491).
min_version("9.1.4")


configfile: "config/config.yaml"


# Helpers only (targets, code dependencies, config checks), from bonkl.pipeline.
include: "workflow/rules/common.smk"


# The default config and the paths in it are read from the working directory: a clear error when it
# lacks them (Snakemake says nothing when --configfile is given).
check_working_directory(workflow.basedir)

# Every key checked, and defaults filled, before any job runs; an error names the key.
# (--config values typed by the schema, null entries dropped first: bonkl.pipeline.workflow_config.)
prepare_config(config, Path(workflow.basedir) / CONFIG_SCHEMA)
try:
    validate(config, CONFIG_SCHEMA, set_default=True)
except WorkflowError as error:
    raise config_error(error) from None


report: "workflow/report/workflow.rst"


# Figures 1, 2, 3, 6, 7, 8, 9 from the closed forms.
include: "workflow/rules/closed_form.smk"
# The claims table: the paper's statements checked on random models.
include: "workflow/rules/claims.smk"
# Language-model experiments (Figures 4, 5, 10, 11, 12): model -> sample -> score -> estimate
# -> aggregate -> figures.
include: "workflow/rules/lm_common.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/sample.smk"
include: "workflow/rules/score.smk"
include: "workflow/rules/estimate.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/lm_figures.smk"
# Beyond the paper: best-of-n over sampler variants (lm.samplers), and Figure 14 (lm.practice).
include: "workflow/rules/samplers.smk"
include: "workflow/rules/practice.smk"


# Everything each rule file registered in TARGETS (common.smk); the order of includes is free.
rule all:
    default_target: True
    input:
        all_targets,


# On a cluster (workflow/profiles/slurm) only these rules become jobs: the sampling (the language
# model, GPUs), the user's rewards (a reward model may want a GPU) and the claims table (minutes of
# CPU at the default size). Every other rule takes seconds and runs in the Snakemake that submits,
# which saves a queue wait and a Snakemake start-up per job. (`workflow.localrules` is what the `localrules:` directive calls; this form also covers
# rules that exist only for some configs, such as provide_model.)
CLUSTER_RULES = {"sample", "sample_variant", "score_user", "score_user_variant", "claims_table"}
workflow.localrules(*(rule.name for rule in workflow.rules if rule.name not in CLUSTER_RULES))

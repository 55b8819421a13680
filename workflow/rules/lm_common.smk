# Helpers of the language-model stages (no rules here): the plan of files, checked up front.
# Prompt files, rewards, figures and the model path are checked now, before any job runs.

import bonkl.pipeline.lm_targets as lm_targets

LM_PLAN = lm_targets.LMPlan(config)
LM_NAME = LM_PLAN.name
LM_ROOT = LM_PLAN.root
MODEL_FILES = LM_PLAN.model_files()
LM_FIGURES = LM_PLAN.figure_files()

TARGETS["lm"] = LM_FIGURES if config["lm"]["enabled"] else []


def lm_model_spec():
    """What load_model needs; the model's name and how it was provided do not change samples."""
    model = config["lm"]["model"]
    return {key: model[key] for key in ("path", "gguf_file", "dtype", "device", "attn_implementation")}


def lm_figure_label(spec):
    """Which paper figure this is; the chrF figure has no counterpart in the paper."""
    if spec["reward"] == "chrf":
        return f"Fig. {spec['paper_figure']} (beyond the paper: chrF against a reference translation)"
    return f"Reproduces Fig. {spec['paper_figure']} of Beirami et al. (2025)"


def lm_title(stem):
    spec = config["lm"]["figures"][stem]
    return f"{lm_figure_label(spec)}: {spec['prompt_set']}, reward {spec['reward']}"


def lm_caption(stem):
    spec, sampling = config["lm"]["figures"][stem], config["lm"]["sampling"]
    return (f"{lm_figure_label(spec)}: KL divergence of best-of-n "
            f"against n for the {spec['prompt_set']} prompts (one panel each) with reward "
            f"{spec['reward']}; model {LM_NAME}, {sampling['num_samples']} samples per prompt "
            f"(seed {sampling['seed']}, at most {sampling['max_new_tokens']} new tokens). Curves: eq. 4, "
            f"the alternate bound (eq. 23), Corollary 4.2 with F from the pool, and the mean of the "
            f"estimator of eq. 25 with its tilted min/max (t = {config['lm']['band_tilt']}).")

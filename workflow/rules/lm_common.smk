# Helpers of the language-model stages (no rules here): the plan of files, checked up front.
# Prompt files, rewards, figures and the model path are checked now, before any job runs.

import bonkl.pipeline.lm_targets as lm_targets

LM_PLAN = lm_targets.LMPlan(config)
LM_NAME = LM_PLAN.name
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
    estimate = config["lm"]["estimate"]
    how = (
        "unbiased for the model's best-of-n (averaged over all n-subsets of the pool)"
        if estimate["method"] == "unbiased"
        else "plug-in (the pool's empirical distribution; shaded past the pool size, where it describes the pool)"
    )
    return (
        f"{lm_figure_label(spec)}: KL divergence of best-of-n "
        f"against n for the {spec['prompt_set']} prompts (one panel each) with reward "
        f"{spec['reward']}; model {LM_NAME}, {sampling['num_samples']} samples per prompt "
        f"(seed {sampling['seed']}, at most {sampling['max_new_tokens']} new tokens; a panel says when "
        f"fewer than 90% of its samples finished). Estimates {how}; ties broken "
        f"{'uniformly at random' if estimate['ties'] == 'random' else 'by log-probability'}. "
        f"Curves: eq. 4; eq. 23 and the Corollary 4.2 bound with F bounded by the samples' own "
        f"probabilities (both upper bounds in expectation only; open circles where Corollary 4.2 lies "
        f"above eq. 4); the mean of the estimator of eq. 25 at the winner's reward level, with "
        + (
            f"its tilted means at t = -{estimate['tilt']:g}, +{estimate['tilt']:g} (eq. 133)"
            if config["lm"]["plot"]["spread"] == "tilted"
            else "its 5% and 95% quantiles under best-of-n"
        )
        + f". Vertical bars: {estimate['bootstrap']['level']:.0%} studentized-bootstrap intervals "
        f"({estimate['bootstrap']['replicates']} resamples), only for n <= N/8, where the coverage study "
        f"(docs/coverage.md) found they hold their level; none for eq. 25/23 where distinct answers tie. "
        f"First panel: the average over the prompts with its t interval across prompts."
    )

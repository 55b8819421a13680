# Sampler variants (lm.samplers, beyond the paper): best-of-n over a tempered or truncated sampler q,
# as it is run. Each variant's pools, rewards and estimates go below samplers/<name>/ (paths.lm_root)
# through these rules, copies of sample, score, score_user and estimate with other outputs: the default
# pools (the model itself, temperature 1) keep their rules, params and files, whatever this section says.
# The pools keep log q (sampler_logprob), and their estimate tables read it: the KL of best-of-n to
# the reference model (kl_to_reference_estimator_mean) beside best-of-n's own step from q.


wildcard_constraints:
    sampler="|".join(LM_PLAN.samplers) or "NO_SAMPLER",


use rule sample as sample_variant with:
    output:
        paths.samples(LM_NAME, sampler="{sampler}"),
    log:
        paths.log("lm", LM_NAME, "samplers", "{sampler}", "sample", "{prompt_set}", "{prompt_id}"),
    params:
        model=lm_model_spec(),
        sampling=lambda w: LM_PLAN.samplers[w.sampler].sampling(config["lm"]["sampling"]),
        prompt=lambda w: LM_PLAN.prompt(w.prompt_set, w.prompt_id),


use rule score as score_variant with:
    input:
        samples=rules.sample_variant.output[0],
        code=script_code("score.py"),
    output:
        paths.rewards(LM_NAME, sampler="{sampler}"),
    log:
        paths.log("lm", LM_NAME, "samplers", "{sampler}", "score", "{prompt_set}", "{prompt_id}", "{reward}"),


use rule score_user as score_user_variant with:
    input:
        samples=rules.sample_variant.output[0],
        code=script_code("score.py"),
        reward=lambda w: LM_PLAN.rewards[w.reward].code_files(),
    output:
        paths.rewards(LM_NAME, sampler="{sampler}"),
    log:
        paths.log("lm", LM_NAME, "samplers", "{sampler}", "score", "{prompt_set}", "{prompt_id}", "{reward}"),


use rule estimate as estimate_variant with:
    input:
        samples=lambda w: LM_PLAN.variant_sample_files(w.sampler),
        rewards=lambda w: LM_PLAN.variant_reward_files(w.sampler, w.reward),
        code=script_code("estimate.py"),
    output:
        paths.estimate(LM_NAME, sampler="{sampler}"),
    log:
        paths.log("lm", LM_NAME, "samplers", "{sampler}", "estimate", "{prompt_set}", "{reward}"),
    params:
        n=config["lm"]["n"],
        estimate={**config["lm"]["estimate"], "sampler_logprob": True},


rule samplers:
    input:
        LM_PLAN.variant_estimate_files(),

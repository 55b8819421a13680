# Stage 3 (language model): rewards of every sample. Built-in rewards (bonkl.lm.rewards) take
# seconds and run where Snakemake runs; the user's (lm.user_rewards: a Python function or a reward
# model, bonkl.pipeline.reward_config) are jobs of their own rule, `score_user`, placed by an executor
# plugin with the resources of their entry. Its params hold the reward's spec: editing an entry
# rescores that reward alone, and a reward's own .py file is an input (editing it rescores too).


rule score:
    input:
        samples=rules.sample.output[0],
        code=script_code("score.py"),
    output:
        paths.rewards(LM_NAME),
    log:
        paths.log("lm", LM_NAME, "score", "{prompt_set}", "{prompt_id}", "{reward}"),
    wildcard_constraints:
        reward=LM_PLAN.reward_pattern(builtin=True),
    params:
        reference=lambda w: LM_PLAN.reference(w.prompt_set, w.prompt_id, w.reward),
    script:
        "../scripts/score.py"


use rule score as score_user with:
    input:
        samples=rules.sample.output[0],
        code=script_code("score.py"),
        reward=lambda w: LM_PLAN.rewards[w.reward].code_files(),
    wildcard_constraints:
        reward=LM_PLAN.reward_pattern(builtin=False),
    resources:
        gpu=lambda w: LM_PLAN.rewards[w.reward].resources["gpu"],
        mem_mb=lambda w: LM_PLAN.rewards[w.reward].resources["mem_mb"],
        runtime=lambda w: LM_PLAN.rewards[w.reward].resources["runtime"],
    params:
        reference=lambda w: LM_PLAN.reference(w.prompt_set, w.prompt_id, w.reward),
        reward=lambda w: LM_PLAN.rewards[w.reward].param(),
        prompt=lambda w: LM_PLAN.prompt(w.prompt_set, w.prompt_id)["text"],

# Stage 3 (language model): rewards of every sample (registry in bonkl.lm.rewards).


rule score:
    input:
        samples=rules.sample.output[0],
        code=script_code("score.py"),
    output:
        paths.rewards(LM_NAME),
    log:
        paths.log("lm", LM_NAME, "score", "{prompt_set}", "{prompt_id}", "{reward}"),
    params:
        reference=lambda w: LM_PLAN.reference(w.prompt_set, w.prompt_id, w.reward),
    script:
        "../scripts/score.py"

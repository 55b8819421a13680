# Stage 3 (language model): rewards of every sample (registry in bonkl.lm.rewards).


rule score:
    input:
        samples=rules.sample.output[0],
        code=script_code("score.py"),
    output:
        paths.rewards(LM_NAME),
    log:
        f"logs/lm/{LM_NAME}/score/{{prompt_set}}/{{prompt_id}}/{{reward}}.log",
    params:
        reference=lambda w: LM_PLAN.prompt(w.prompt_set, w.prompt_id).get("reference") if w.reward == "chrf" else None,
    script:
        "../scripts/score.py"

# Stage 5 (language model): every estimate table in one tidy table, and the average over the
# prompts of each set and reward (with its t interval across prompts).


rule aggregate:
    input:
        estimates=LM_PLAN.estimate_files(),
        code=script_code("aggregate.py"),
    output:
        table=report(paths.estimates_table(LM_NAME), category="Language model", caption="../report/lm_table.rst"),
        summary=paths.summary_table(LM_NAME),
    log:
        paths.log("lm", LM_NAME, "aggregate"),
    params:
        labels=LM_PLAN.labels(),
        level=config["lm"]["estimate"]["bootstrap"]["level"],
    script:
        "../scripts/aggregate.py"

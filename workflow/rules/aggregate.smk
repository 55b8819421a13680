# Stage 5 (language model): tilted min/max (eq. 133) and means of all prompts in one tidy table.


rule aggregate:
    input:
        estimates=LM_PLAN.estimate_files("estimates"),
        distributions=LM_PLAN.estimate_files("distribution"),
        code=script_code("aggregate.py"),
    output:
        report(paths.estimates_table(LM_NAME), category="Language model", caption="../report/lm_table.rst"),
    log:
        f"logs/lm/{LM_NAME}/aggregate.log",
    params:
        tilts=config["lm"]["tilts"],
        labels=LM_PLAN.labels(),
    script:
        "../scripts/aggregate.py"

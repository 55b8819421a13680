# Stage 5 (language model): tilted min/max (eq. 133) and means of all prompts in one tidy table.


rule aggregate:
    input:
        estimates=estimate_files(config, "estimates") if LM_ENABLED else [],
        distributions=estimate_files(config, "distribution") if LM_ENABLED else [],
        code=package_code("tilted.py", "pool.py", "pipeline/estimate_step.py"),
    output:
        report(f"{LM_ROOT}/tables/estimates.csv", category="Language model", caption="../report/lm_table.rst"),
    log:
        f"logs/lm/{LM_NAME}/aggregate.log",
    params:
        tilts=config["lm"]["tilts"],
        labels=estimate_labels(config) if LM_ENABLED else [],
    script:
        "../scripts/aggregate.py"

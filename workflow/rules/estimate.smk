# Stage 4 (language model): exact best-of-n estimators over each pool (Lemma 2.3; no Monte Carlo).


rule estimate:
    input:
        samples=f"{LM_ROOT}/samples/{{prompt_set}}/{{prompt_id}}.parquet",
        rewards=f"{LM_ROOT}/rewards/{{prompt_set}}/{{prompt_id}}/{{reward}}.parquet",
        code=package_code("pool.py", "bon.py", "estimators.py", "win_rate.py", "_logspace.py", "pipeline/estimate_step.py"),
    output:
        estimates=f"{LM_ROOT}/estimates/{{prompt_set}}/{{prompt_id}}/{{reward}}.estimates.parquet",
        distribution=f"{LM_ROOT}/estimates/{{prompt_set}}/{{prompt_id}}/{{reward}}.distribution.parquet",
    log:
        f"logs/lm/{LM_NAME}/estimate/{{prompt_set}}/{{prompt_id}}/{{reward}}.log",
    params:
        n=config["lm"]["n"],
    script:
        "../scripts/estimate.py"

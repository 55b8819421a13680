# Stage 4 (language model): estimates of the model's best-of-n from each pool (unbiased over the
# pool's n-subsets by default; exact sums, no Monte Carlo), with bootstrap intervals.


rule estimate:
    input:
        samples=f"{LM_ROOT}/samples/{{prompt_set}}/{{prompt_id}}.parquet",
        rewards=f"{LM_ROOT}/rewards/{{prompt_set}}/{{prompt_id}}/{{reward}}.parquet",
        code=script_code("estimate.py"),
    output:
        estimates=f"{LM_ROOT}/estimates/{{prompt_set}}/{{prompt_id}}/{{reward}}.estimates.parquet",
        distribution=f"{LM_ROOT}/estimates/{{prompt_set}}/{{prompt_id}}/{{reward}}.distribution.parquet",
    log:
        f"logs/lm/{LM_NAME}/estimate/{{prompt_set}}/{{prompt_id}}/{{reward}}.log",
    params:
        n=config["lm"]["n"],
        estimate=config["lm"]["estimate"],
    script:
        "../scripts/estimate.py"

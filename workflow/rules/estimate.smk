# Stage 4 (language model): estimates of the model's best-of-n from each pool (unbiased over the
# pool's n-subsets by default; exact sums, no Monte Carlo), with bootstrap intervals.


rule estimate:
    input:
        samples=rules.sample.output[0],
        rewards=rules.score.output[0],
        code=script_code("estimate.py"),
    output:
        estimates=paths.estimate(LM_NAME, "estimates"),
        distribution=paths.estimate(LM_NAME, "distribution"),
    log:
        f"logs/lm/{LM_NAME}/estimate/{{prompt_set}}/{{prompt_id}}/{{reward}}.log",
    params:
        n=config["lm"]["n"],
        estimate=config["lm"]["estimate"],
    script:
        "../scripts/estimate.py"

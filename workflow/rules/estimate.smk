# Stage 4 (language model): the estimate table of each prompt set and reward - every prompt's
# estimates of the model's best-of-n (unbiased over the pool's n-subsets by default; exact sums),
# with studentized-bootstrap intervals where their coverage holds. One job per set: the pools of
# a set are estimated together (bonkl.pool_table), which saves a Python start-up per prompt.


rule estimate:
    input:
        samples=lambda w: LM_PLAN.sample_files(w.prompt_set),
        rewards=lambda w: LM_PLAN.reward_files(w.prompt_set, w.reward),
        code=script_code("estimate.py"),
    output:
        paths.estimate(LM_NAME),
    log:
        paths.log("lm", LM_NAME, "estimate", "{prompt_set}", "{reward}"),
    threads: 2  # the intervals' chunks of pools (Snakemake gives at most --cores)
    params:
        n=config["lm"]["n"],
        estimate=config["lm"]["estimate"],
    script:
        "../scripts/estimate.py"

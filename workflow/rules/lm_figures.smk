# Stage 6 (language model): Figures 4, 5, 10, 11, 12, one panel per prompt.


rule lm_figure:
    input:
        table=f"{LM_ROOT}/tables/estimates.csv",
        code=package_code("plotting/estimates.py"),
    output:
        png=report("results/figures/{lm_figure}.png", category="Language model", caption="../report/lm_figure.rst"),
        pdf="results/figures/{lm_figure}.pdf",
        csv="results/figures/{lm_figure}.csv",
    log:
        "logs/figures/{lm_figure}.log",
    wildcard_constraints:
        lm_figure="|".join(config["lm"]["figures"]) or "NO_LM_FIGURE",
    params:
        spec=lambda w: config["lm"]["figures"][w.lm_figure],
        model=config["lm"]["model"]["name"],
        band_tilt=config["lm"]["band_tilt"],
        style=config["lm"]["plot"],
    script:
        "../scripts/plot_lm_figure.py"

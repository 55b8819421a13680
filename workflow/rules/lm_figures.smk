# Stage 6 (language model): Figures 4, 5, 10, 11, 12, one panel per prompt. As for the closed-form
# figures, `lm_figure_data` writes the plotted numbers (CSV) and `lm_figure_plot` only draws.


wildcard_constraints:
    lm_figure="|".join(config["lm"]["figures"]) or "NO_LM_FIGURE",


rule lm:
    input:
        LM_FIGURES,


rule lm_figure_data:
    input:
        table=rules.aggregate.output.table,
        summary=rules.aggregate.output.summary,
        code=script_code("lm_figure_data.py"),
    output:
        paths.figure("{lm_figure}", "csv"),
    log:
        paths.log("lm", "figures", "{lm_figure}_data"),
    params:
        spec=lambda w: config["lm"]["figures"][w.lm_figure],
    script:
        "../scripts/lm_figure_data.py"


rule lm_figure_plot:
    input:
        csv=rules.lm_figure_data.output[0],
        code=script_code("plot_lm_figure.py", data=["plotting/bonkl.mplstyle"]),
    output:
        png=report(paths.figure("{lm_figure}", "png"), category="Language model", caption="../report/figure.rst"),
        pdf=paths.figure("{lm_figure}", "pdf"),
    log:
        paths.log("lm", "figures", "{lm_figure}_plot"),
    params:
        caption=lambda w: lm_caption(w.lm_figure),
        title=lambda w: lm_title(w.lm_figure),
        options=config["lm"]["plot"],
        dpi=config["plot"]["dpi"],
    script:
        "../scripts/plot_lm_figure.py"

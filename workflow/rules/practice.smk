# Figure 14 (beyond the paper): best-of-n as it is run, over a sampler variant (lm.samplers) against
# best-of-n from the model itself at temperature 1 (lm.practice). As for the other figures,
# `practice_data` writes the plotted numbers (CSV) from the two estimate tables and `practice_plot`
# only draws: changing a plot option (panel_width, panel_height) redraws it alone.


wildcard_constraints:
    practice_figure="|".join(config["lm"]["practice"]) or "NO_PRACTICE_FIGURE",


TARGETS["practice"] = LM_PLAN.practice_files() if config["lm"]["enabled"] else []


rule practice:
    input:
        TARGETS["practice"],


rule practice_data:
    input:
        unpack(lambda w: LM_PLAN.practice_inputs(w.practice_figure)),
        code=script_code("practice_data.py"),
    output:
        paths.figure("{practice_figure}", "csv"),
    log:
        paths.log("lm", "figures", "{practice_figure}_data"),
    params:
        spec=lambda w: LM_PLAN.practice_spec(w.practice_figure),
    script:
        "../scripts/practice_data.py"


rule practice_plot:
    input:
        csv=rules.practice_data.output[0],
        code=script_code("plot_practice.py", data=["plotting/bonkl.mplstyle"]),
    output:
        png=report(paths.figure("{practice_figure}", "png"), category="Language model", caption="../report/figure.rst"),
        pdf=paths.figure("{practice_figure}", "pdf"),
    log:
        paths.log("lm", "figures", "{practice_figure}_plot"),
    params:
        title=lambda w: LM_PLAN.practice_title(w.practice_figure),
        caption=lambda w: LM_PLAN.practice_caption(w.practice_figure),
        options=lambda w: LM_PLAN.practice_options(w.practice_figure),
        dpi=config["plot"]["dpi"],
    script:
        "../scripts/plot_practice.py"

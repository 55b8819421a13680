# Closed-form figures (Figures 1, 2, 3, 6, 7, 8, 9 and 13): no sampling, every number from bonkl.
#
# The figures, their paper numbers, config sections and captions are one table,
# bonkl.plotting.closed_form.FIGURES. Each figure is two jobs: `closed_form_data` runs
# workflow/scripts/<figure>.py into results/figures/<figure>.csv (params: only that figure's
# config section; Figures 7 and 8 come from one job, `example2_data`), and `closed_form_plot`
# draws the PDF and PNG from that CSV (params: only plotting options). Changing a plot option
# redraws one figure; changing a figure's settings recomputes and redraws it alone.
# `input: code=script_code(...)` lists the bonkl modules each script uses (Snakemake does not
# track imported modules by itself; see bonkl.pipeline.code_deps): editing one reruns the rules that use it.

from bonkl.plotting.closed_form import FIGURES as CLOSED_FORM_FIGURES


wildcard_constraints:
    figure="|".join(CLOSED_FORM_FIGURES),


check_closed_form_config(config)


# Figures 7 and 8 share one computation.
rule example2_data:
    input:
        code=script_code("example2_policies.py"),
    output:
        simplex=paths.figure("fig07_example2_simplex", "csv"),
        tradeoff=paths.figure("fig08_example2_tradeoff", "csv"),
    log:
        paths.log("closed_form", "example2_data"),
    params:
        settings=config["example2"],
    script:
        "../scripts/example2_policies.py"


rule closed_form_data:
    input:
        code=lambda w: script_code(f"{w.figure}.py"),
    output:
        paths.figure("{figure}", "csv"),
    log:
        paths.log("closed_form", "{figure}_data"),
    wildcard_constraints:
        # every figure but those example2_data writes: each has its own workflow/scripts/<figure>.py
        figure="|".join(f for f in CLOSED_FORM_FIGURES if paths.figure(f, "csv") not in rules.example2_data.output),
    params:
        settings=lambda w: config[CLOSED_FORM_FIGURES[w.figure].settings],
    script:
        "../scripts/{wildcards.figure}.py"


rule closed_form_plot:
    input:
        table=rules.closed_form_data.output[0],
        code=script_code("plot_figure.py", data=["plotting/bonkl.mplstyle"]),
    output:
        png=report(paths.figure("{figure}", "png"), caption="../report/figure.rst", category="Closed form"),
        pdf=paths.figure("{figure}", "pdf"),
    log:
        paths.log("closed_form", "{figure}_plot"),
    params:
        options=lambda w: plot_options(w.figure),
        caption=lambda w: CLOSED_FORM_FIGURES[w.figure].caption,
    script:
        "../scripts/plot_figure.py"


TARGETS["closed_form"] = expand(
    [*rules.closed_form_plot.output, rules.closed_form_plot.input.table], figure=CLOSED_FORM_FIGURES
)


rule closed_form:
    input:
        TARGETS["closed_form"],

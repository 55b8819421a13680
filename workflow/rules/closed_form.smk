# Closed-form figures (Figures 1, 2, 3, 6, 7, 8, 9): no sampling, every number from bonkl.
#
# Each figure is two rules: `figNN_data` computes the numbers the figure plots into
# results/figures/figNN_<what>.csv (params: only that figure's config section), and
# `figNN_plot` draws the PDF and PNG from that CSV (params: only plotting options). Changing a
# plot option redraws one figure; changing a figure's settings recomputes and redraws it alone.
# `input: code=script_code(...)` lists the bonkl modules each script uses (Snakemake does not
# track imported modules by itself; see common.smk): editing one reruns the rules that use it.

CLOSED_FORM_FIGURES = [
    "fig01_example1_kl",
    "fig02_uniform_kl",
    "fig03_top_outcomes_kl",
    "fig06_example1_tradeoff",
    "fig07_example2_simplex",
    "fig08_example2_tradeoff",
    "fig09_example3_tradeoff",
    "fig13_beyond_paper",  # not in the paper: other selection rules and divergences
]
TARGETS["closed_form"] = [f for stem in CLOSED_FORM_FIGURES for f in figure_outputs(stem)]

check_closed_form_config(config)

PLOT_CODE = script_code("plot_figure.py", data=["plotting/bonkl.mplstyle"])


rule closed_form:
    input:
        TARGETS["closed_form"],


# ----------------------------------------------------------------------------------- Figure 1


rule fig01_data:
    input:
        code=script_code("fig01_example1_kl.py"),
    output:
        "results/figures/fig01_example1_kl.csv",
    log:
        "logs/closed_form/fig01_data.log",
    params:
        settings=config["example1_kl"],
    script:
        "../scripts/fig01_example1_kl.py"


rule fig01_plot:
    input:
        table="results/figures/fig01_example1_kl.csv",
        code=PLOT_CODE,
    output:
        png=report("results/figures/fig01_example1_kl.png", caption="../report/fig01.rst", category="Closed form"),
        pdf="results/figures/fig01_example1_kl.pdf",
    log:
        "logs/closed_form/fig01_plot.log",
    params:
        options=plot_options("fig01_example1_kl"),
    script:
        "../scripts/plot_figure.py"


# ----------------------------------------------------------------------------------- Figure 2


rule fig02_data:
    input:
        code=script_code("fig02_uniform_kl.py"),
    output:
        "results/figures/fig02_uniform_kl.csv",
    log:
        "logs/closed_form/fig02_data.log",
    params:
        settings=config["uniform"],
    script:
        "../scripts/fig02_uniform_kl.py"


rule fig02_plot:
    input:
        table="results/figures/fig02_uniform_kl.csv",
        code=PLOT_CODE,
    output:
        png=report("results/figures/fig02_uniform_kl.png", caption="../report/fig02.rst", category="Closed form"),
        pdf="results/figures/fig02_uniform_kl.pdf",
    log:
        "logs/closed_form/fig02_plot.log",
    params:
        options=plot_options("fig02_uniform_kl"),
    script:
        "../scripts/plot_figure.py"


# ----------------------------------------------------------------------------------- Figure 3


rule fig03_data:
    input:
        code=script_code("fig03_top_outcomes_kl.py"),
    output:
        "results/figures/fig03_top_outcomes_kl.csv",
    log:
        "logs/closed_form/fig03_data.log",
    params:
        settings=config["top_outcomes"],
    script:
        "../scripts/fig03_top_outcomes_kl.py"


rule fig03_plot:
    input:
        table="results/figures/fig03_top_outcomes_kl.csv",
        code=PLOT_CODE,
    output:
        png=report("results/figures/fig03_top_outcomes_kl.png", caption="../report/fig03.rst", category="Closed form"),
        pdf="results/figures/fig03_top_outcomes_kl.pdf",
    log:
        "logs/closed_form/fig03_plot.log",
    params:
        options=plot_options("fig03_top_outcomes_kl"),
    script:
        "../scripts/plot_figure.py"


# ----------------------------------------------------------------------------------- Figure 6


rule fig06_data:
    input:
        code=script_code("fig06_example1_tradeoff.py"),
    output:
        "results/figures/fig06_example1_tradeoff.csv",
    log:
        "logs/closed_form/fig06_data.log",
    params:
        settings=config["example1_tradeoff"],
    script:
        "../scripts/fig06_example1_tradeoff.py"


rule fig06_plot:
    input:
        table="results/figures/fig06_example1_tradeoff.csv",
        code=PLOT_CODE,
    output:
        png=report("results/figures/fig06_example1_tradeoff.png", caption="../report/fig06.rst", category="Closed form"),
        pdf="results/figures/fig06_example1_tradeoff.pdf",
    log:
        "logs/closed_form/fig06_plot.log",
    params:
        options=plot_options("fig06_example1_tradeoff"),
    script:
        "../scripts/plot_figure.py"


# ------------------------------------------------------------------- Figures 7 and 8 (Example 2)


rule example2_data:
    input:
        code=script_code("example2_policies.py"),
    output:
        simplex="results/figures/fig07_example2_simplex.csv",
        tradeoff="results/figures/fig08_example2_tradeoff.csv",
    log:
        "logs/closed_form/example2_data.log",
    params:
        settings=config["example2"],
    script:
        "../scripts/example2_policies.py"


rule fig07_plot:
    input:
        table="results/figures/fig07_example2_simplex.csv",
        code=PLOT_CODE,
    output:
        png=report("results/figures/fig07_example2_simplex.png", caption="../report/fig07.rst", category="Closed form"),
        pdf="results/figures/fig07_example2_simplex.pdf",
    log:
        "logs/closed_form/fig07_plot.log",
    params:
        options=plot_options("fig07_example2_simplex"),
    script:
        "../scripts/plot_figure.py"


rule fig08_plot:
    input:
        table="results/figures/fig08_example2_tradeoff.csv",
        code=PLOT_CODE,
    output:
        png=report("results/figures/fig08_example2_tradeoff.png", caption="../report/fig08.rst", category="Closed form"),
        pdf="results/figures/fig08_example2_tradeoff.pdf",
    log:
        "logs/closed_form/fig08_plot.log",
    params:
        options=plot_options("fig08_example2_tradeoff"),
    script:
        "../scripts/plot_figure.py"


# ----------------------------------------------------------------------------------- Figure 9


rule fig09_data:
    input:
        code=script_code("fig09_example3_tradeoff.py"),
    output:
        "results/figures/fig09_example3_tradeoff.csv",
    log:
        "logs/closed_form/fig09_data.log",
    params:
        settings=config["example3"],
    script:
        "../scripts/fig09_example3_tradeoff.py"


rule fig09_plot:
    input:
        table="results/figures/fig09_example3_tradeoff.csv",
        code=PLOT_CODE,
    output:
        png=report("results/figures/fig09_example3_tradeoff.png", caption="../report/fig09.rst", category="Closed form"),
        pdf="results/figures/fig09_example3_tradeoff.pdf",
    log:
        "logs/closed_form/fig09_plot.log",
    params:
        options=plot_options("fig09_example3_tradeoff"),
    script:
        "../scripts/plot_figure.py"


# ------------------------------------------------- Figure 13 (beyond the paper, Mroueh 2024 bounds)


rule fig13_data:
    input:
        code=script_code("fig13_beyond_paper.py"),
    output:
        "results/figures/fig13_beyond_paper.csv",
    log:
        "logs/closed_form/fig13_data.log",
    params:
        settings=config["beyond_paper"],
    script:
        "../scripts/fig13_beyond_paper.py"


rule fig13_plot:
    input:
        table="results/figures/fig13_beyond_paper.csv",
        code=PLOT_CODE,
    output:
        png=report("results/figures/fig13_beyond_paper.png", caption="../report/fig13.rst", category="Beyond the paper"),
        pdf="results/figures/fig13_beyond_paper.pdf",
    log:
        "logs/closed_form/fig13_plot.log",
    params:
        options=plot_options("fig13_beyond_paper"),
    script:
        "../scripts/plot_figure.py"

# The claims table: the paper's lemmas, theorems and Conjecture 4.4 checked numerically on random
# reference models (bonkl.claims), as CSV and Markdown.

TARGETS["claims"] = [paths.CLAIMS_CSV, paths.CLAIMS_MD]


rule claims:
    input:
        TARGETS["claims"],


rule claims_table:
    input:
        code=script_code("claims_table.py"),
    output:
        csv=report(paths.CLAIMS_CSV, caption="../report/claims.rst", category="Claims"),
        markdown=paths.CLAIMS_MD,
    log:
        paths.log("claims", "claims_table"),
    threads: config["claims"]["threads"]
    params:
        settings={k: v for k, v in config["claims"].items() if k != "threads"},
    script:
        "../scripts/claims_table.py"

"""The results layout, written once: where the workflow writes each file below ``results/``, and its logs.

The rule files name their outputs with these functions, :mod:`bonkl.pipeline.lm_targets` lists the
targets with them, and :mod:`bonkl.results` reads the files back through them, so moving a file is
one edit here. Paths are relative to the repository root (the workflow's working directory); an
argument left at its default is a Snakemake wildcard (``"{prompt_id}"``), which makes a rule's
pattern. :func:`below_results` gives a path's place inside a ``results/`` folder found elsewhere.
"""

from __future__ import annotations

RESULTS = "results"
LOGS = "logs"
TABLES_DIR = f"{RESULTS}/tables"
FIGURES_DIR = f"{RESULTS}/figures"
LM_DIR = f"{RESULTS}/lm"

#: The claims table (rule ``claims_table``), as CSV and Markdown.
CLAIMS_CSV = f"{TABLES_DIR}/claims.csv"
CLAIMS_MD = f"{TABLES_DIR}/claims.md"

#: Every figure's files: the drawing (PNG, PDF) and the CSV of the numbers it plots.
FIGURE_EXTENSIONS = ("png", "pdf", "csv")


def figure(stem: str, ext: str) -> str:
    """One file of a figure.

    >>> figure("fig01_example1_kl", "csv")
    'results/figures/fig01_example1_kl.csv'
    >>> figure("{figure}", "png")
    'results/figures/{figure}.png'
    """
    return f"{FIGURES_DIR}/{stem}.{ext}"


def figure_files(stem: str) -> list[str]:
    """What ``rule all`` asks for per figure."""
    return [figure(stem, ext) for ext in FIGURE_EXTENSIONS]


def lm_root(model: str, sampler: str | None = None) -> str:
    """Everything of one language model (``lm.model.name``): its samples, rewards, estimates, table.
    A sampler variant (``lm.samplers``) keeps its pools, rewards and estimates in a folder of its own.

    >>> lm_root("m", "t07_p095")
    'results/lm/m/samplers/t07_p095'
    """
    return f"{LM_DIR}/{model}" + (f"/samplers/{sampler}" if sampler is not None else "")


def samples(
    model: str, prompt_set: str = "{prompt_set}", prompt_id: str = "{prompt_id}", sampler: str | None = None
) -> str:
    """One prompt's pool of reference samples (rule ``sample``; of a sampler variant: ``sample_variant``).

    >>> samples("tiny-random")
    'results/lm/tiny-random/samples/{prompt_set}/{prompt_id}.parquet'
    """
    return f"{lm_root(model, sampler)}/samples/{prompt_set}/{prompt_id}.parquet"


def rewards_dir(
    model: str, prompt_set: str = "{prompt_set}", prompt_id: str = "{prompt_id}", sampler: str | None = None
) -> str:
    """The rewards of one prompt's samples, one file per reward."""
    return f"{lm_root(model, sampler)}/rewards/{prompt_set}/{prompt_id}"


def rewards(
    model: str,
    prompt_set: str = "{prompt_set}",
    prompt_id: str = "{prompt_id}",
    reward: str = "{reward}",
    sampler: str | None = None,
) -> str:
    """One reward of every sample of one prompt (rule ``score``).

    >>> rewards("m", "alpaca", "P1", "loglik")
    'results/lm/m/rewards/alpaca/P1/loglik.parquet'
    """
    return f"{rewards_dir(model, prompt_set, prompt_id, sampler)}/{reward}.parquet"


def estimate(model: str, prompt_set: str = "{prompt_set}", reward: str = "{reward}", sampler: str | None = None) -> str:
    """The estimate table of one prompt set and reward, every prompt and n (rule ``estimate``).

    >>> estimate("m", reward="chrf")
    'results/lm/m/estimates/{prompt_set}/chrf.parquet'
    """
    return f"{lm_root(model, sampler)}/estimates/{prompt_set}/{reward}.parquet"


def estimates_table(model: str) -> str:
    """The tidy table of every prompt's estimates (rule ``aggregate``)."""
    return f"{lm_root(model)}/tables/estimates.csv"


def summary_table(model: str) -> str:
    """The average over prompts of each prompt set and reward, per n (rule ``aggregate``)."""
    return f"{lm_root(model)}/tables/summary.csv"


def log(*parts: str) -> str:
    """A rule's log below ``logs/``, the parts as folders (they may hold wildcards).

    >>> log("lm", "tiny-random", "sample", "{prompt_set}", "{prompt_id}")
    'logs/lm/tiny-random/sample/{prompt_set}/{prompt_id}.log'
    """
    return "/".join([LOGS, *parts]) + ".log"


def below_results(path: str) -> str:
    """``path`` (built here) relative to the results folder.

    >>> below_results(CLAIMS_CSV)
    'tables/claims.csv'
    """
    head, _, rest = path.partition("/")
    if head != RESULTS or not rest:
        raise ValueError(f"{path!r} is not below {RESULTS}/")
    return rest

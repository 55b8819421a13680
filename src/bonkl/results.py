"""Find and read what the workflow wrote under ``results/`` (for the notebooks; nothing is recomputed).

The notebooks run with their working directory in ``notebooks/`` or at the repository root;
:func:`results_dir` finds ``results/`` from either, and the environment variable ``BONKL_RESULTS``
points it elsewhere (CI runs the notebooks against a temporary build of the tiny config). Every
reader raises :class:`FileNotFoundError` naming the missing file and the ``snakemake`` command
that writes it.

Files read, where :mod:`bonkl.pipeline.paths` (the layout the rules write) puts them: the claims
table (rule claims_table, target claims), a figure's numbers (closed_form_data, lm_figure_data), a
model's tidy table (aggregate, target lm), its samples (sample) and rewards (score).

``<model>`` is the config's ``lm.model.name``: ``smollm2-135m-instruct`` by default,
``tiny-random`` with ``--configfile .test/config_tiny/config.yaml``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .pipeline import paths

ENV_RESULTS = "BONKL_RESULTS"
ENV_MODEL = "BONKL_MODEL"

# The config file that builds each known model's results (others: the user's own config).
_CONFIGFILES = {"tiny-random": ".test/config_tiny/config.yaml", "gemma-2-9b-it": "config/paper.yaml"}


def _command(target: str, model: str | None = None) -> str:
    """The snakemake command line that builds ``target`` (a rule name or a file below the repo root)."""
    # The target goes before --configfile, which takes every argument after it as a config file.
    extra = f" --configfile {_CONFIGFILES[model]}" if model in _CONFIGFILES else ""
    return f"`snakemake --cores 2 {target}{extra}`"


def _missing(relative: str, why: str) -> FileNotFoundError:
    return FileNotFoundError(f"{relative} is missing: {why}")


def _repo_root(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` holding the workflow's Snakefile."""
    for folder in (start, *start.parents):
        if (folder / "Snakefile").is_file():
            return folder
    return None


def results_dir(root=None) -> Path:
    """The workflow's ``results/`` folder.

    ``root`` (a repository root, or a ``results/`` folder itself) wins; then ``$BONKL_RESULTS``
    (the ``results/`` folder); then the nearest folder with a ``Snakefile`` at or above the
    working directory (so ``notebooks/`` and the repository root both work); then the repository
    of this (editable) install. The folder need not exist yet: the readers say what to run.
    """
    if root is not None:
        root = Path(root).expanduser().resolve()
        return root / "results" if (root / "Snakefile").is_file() else root
    if os.environ.get(ENV_RESULTS):
        return Path(os.environ[ENV_RESULTS]).expanduser().resolve()
    for start in (Path.cwd().resolve(), Path(__file__).resolve().parent):
        repo = _repo_root(start)
        if repo is not None:
            return repo / "results"
    raise FileNotFoundError(
        f"cannot find the workflow's results/: no Snakefile at or above {Path.cwd()}; run from the "
        f"repository (or its notebooks/), or set ${ENV_RESULTS} to the results folder"
    )


def _local(relative: str, root=None) -> Path:
    """Where ``relative`` (a path of bonkl.pipeline.paths, ``results/...``: the form messages
    show, since the command to run is relative to the repository root) is in the results folder."""
    return results_dir(root) / paths.below_results(relative)


def list_models(root=None) -> list[str]:
    """Names of the language models with results (folders below ``results/lm/``), sorted."""
    lm = _local(paths.LM_DIR, root)
    if not lm.is_dir():
        return []
    return sorted(p.name for p in lm.iterdir() if p.is_dir() and not p.name.startswith("."))


def resolve_model(model: str | None = None, root=None) -> str:
    """``model``, else ``$BONKL_MODEL``, else the first model with a tidy table (then any model)."""
    model = model or os.environ.get(ENV_MODEL) or None
    if model:
        return model
    models = list_models(root)
    if not models:
        raise _missing(
            paths.LM_DIR,
            f"no language-model results yet; run {_command('lm')} (the embedded SmolLM2, about "
            f"15 minutes on 2 cores) or {_command('lm', 'tiny-random')} (a random model, a few minutes)",
        )
    with_table = [m for m in models if _local(paths.estimates_table(m), root).is_file()]
    return (with_table or models)[0]


def read_claims(root=None) -> pd.DataFrame:
    """The claims table (``results/tables/claims.csv``): claim, cases, violations, largest_slack, ..."""
    path = _local(paths.CLAIMS_CSV, root)
    if not path.is_file():
        raise _missing(paths.CLAIMS_CSV, f"run {_command('claims')}")
    return pd.read_csv(path)


def read_figure_table(stem: str, root=None) -> pd.DataFrame:
    """The numbers a figure plots, ``results/figures/<stem>.csv`` (e.g. ``fig04_alpaca_loglik``)."""
    relative = paths.figure(stem, "csv")
    path = _local(relative, root)
    if not path.is_file():
        from .plotting.closed_form import FIGURES

        target = "closed_form" if stem in FIGURES else "lm"
        raise _missing(relative, f"run {_command(target)} (or {_command(relative)})")
    return pd.read_csv(path)


def read_lm_table(model: str | None = None, root=None) -> pd.DataFrame:
    """The tidy estimator table of one model (rule ``aggregate``).

    One row per (prompt_set, prompt_id, reward, n) with every column of ``bonkl.columns`` (estimates
    of the model's best-of-n, their intervals where reported and ``ci_note``), and the run's
    method, ties, tilt and each pool's finished_fraction. ``model=None``: see :func:`resolve_model`.
    """
    model = resolve_model(model, root)
    relative = paths.estimates_table(model)
    path = _local(relative, root)
    if not path.is_file():
        raise _missing(
            relative,
            f"run {_command('lm', model)} (rule aggregate; or "
            f"{_command(relative, model)}); models with results: {list_models(root) or 'none'}",
        )
    return pd.read_csv(path, dtype={"prompt_id": str})


def read_lm_summary(model: str | None = None, root=None) -> pd.DataFrame:
    """The average over each prompt set's prompts, per reward and n (rule ``aggregate``;
    ``bonkl.summary``): ``num_prompts``, the means, ``<column>_se`` and the t interval."""
    model = resolve_model(model, root)
    relative = paths.summary_table(model)
    path = _local(relative, root)
    if not path.is_file():
        raise _missing(relative, f"run {_command('lm', model)} (rule aggregate)")
    return pd.read_csv(path)


def read_samples(model: str | None, prompt_set: str, prompt_id: str, root=None) -> pd.DataFrame:
    """The pool of reference samples of one prompt (rule ``sample``), as the workflow wrote it.

    Columns: prompt_id, sample_index, token_ids, text, logprob (nats, whole response incl. EOS),
    num_tokens, finished.
    """
    model = resolve_model(model, root)
    relative = paths.samples(model, prompt_set, prompt_id)
    path = _local(relative, root)
    if not path.is_file():
        raise _missing(
            relative,
            f"run {_command(relative, model)} (rule sample), or {_command('lm', model)} for every prompt",
        )
    return pd.read_parquet(path)


def read_rewards(model: str | None, prompt_set: str, prompt_id: str, reward: str, root=None) -> pd.DataFrame:
    """One reward of every sample of one prompt (rule ``score``): sample_index, reward."""
    model = resolve_model(model, root)
    relative = paths.rewards(model, prompt_set, prompt_id, reward)
    path = _local(relative, root)
    if not path.is_file():
        raise _missing(
            relative, f"run {_command(relative, model)} (rule score), or {_command('lm', model)} for every prompt"
        )
    return pd.read_parquet(path)


def list_rewards(model: str | None, prompt_set: str, prompt_id: str, root=None) -> list[str]:
    """The rewards scored for one prompt (the files :func:`read_rewards` reads), sorted."""
    folder = _local(paths.rewards_dir(resolve_model(model, root), prompt_set, prompt_id), root)
    return sorted(p.stem for p in folder.glob("*.parquet"))


def prompt_texts(root=None) -> dict[tuple[str, str], str]:
    """``{(prompt_set, prompt_id): text}`` from the prompt files beside ``results/`` (``config/prompts/``).

    Empty when there are none (the samples do not store their prompt); for display only.
    """
    from .files.prompt_sets import load_prompt_set

    texts = {}
    for path in sorted((results_dir(root).parent / "config" / "prompts").glob("*.yaml")):
        try:
            prompt_set = load_prompt_set(path)
        except ValueError:
            continue
        for prompt in prompt_set["prompts"]:
            texts[(prompt_set["prompt_set"], prompt["id"])] = prompt["text"]
    return texts


def read_pool(model: str | None, prompt_set: str, prompt_id: str, reward: str, root=None):
    """The pool the ``estimate`` rule used, rebuilt from the stored samples and rewards.

    Returns ``(pool, samples)``: the :class:`bonkl.pool.Pool` (distinct token sequences in
    increasing reward order, ties broken as in the workflow) and the samples merged with their
    reward and a ``key`` column matching ``pool.key``. Reads files only; samples no model.
    """
    from .files.keys import sequence_keys
    from .pool import make_pool

    samples = read_samples(model, prompt_set, prompt_id, root)
    rewards = read_rewards(model, prompt_set, prompt_id, reward, root)
    merged = samples.merge(rewards, on="sample_index", validate="one_to_one")
    merged["key"] = sequence_keys(merged)
    return make_pool(merged["logprob"], merged["reward"], merged["key"]), merged


__all__ = [
    "ENV_MODEL",
    "ENV_RESULTS",
    "list_models",
    "list_rewards",
    "prompt_texts",
    "read_claims",
    "read_figure_table",
    "read_lm_summary",
    "read_lm_table",
    "read_pool",
    "read_rewards",
    "read_samples",
    "resolve_model",
    "results_dir",
]

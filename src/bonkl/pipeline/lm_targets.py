"""Which language-model files the workflow builds, computed from the validated config."""

from __future__ import annotations

from pathlib import Path

from .prompt_sets import load_prompt_set


def lm_root(config: dict) -> str:
    """All language-model intermediates of one model live under ``results/lm/<model name>``."""
    return f"results/lm/{config['lm']['model']['name']}"


def prompt_sets(config: dict) -> dict:
    """``{set name: checked prompt set}`` for every set the config names (errors before any job)."""
    return {name: load_prompt_set(path) for name, path in config["lm"]["prompt_sets"].items()}


def prompt_ids(config: dict, prompt_set: str) -> list[str]:
    return [prompt["id"] for prompt in prompt_sets(config)[prompt_set]["prompts"]]


def rewards_for(config: dict, prompt_set: str) -> list[str]:
    return list(config["lm"]["rewards"][prompt_set])


def estimate_labels(config: dict) -> list[dict]:
    """One label per (prompt set, prompt, reward) the estimators run on."""
    return [{"prompt_set": name, "prompt_id": pid, "reward": reward}
            for name in config["lm"]["prompt_sets"]
            for pid in prompt_ids(config, name)
            for reward in rewards_for(config, name)]


def estimate_files(config: dict, kind: str) -> list[str]:
    """``kind`` is ``estimates`` or ``distribution``."""
    root = lm_root(config)
    return [f"{root}/estimates/{l['prompt_set']}/{l['prompt_id']}/{l['reward']}.{kind}.parquet"
            for l in estimate_labels(config)]


def lm_figure_files(config: dict) -> list[str]:
    """PNG, PDF and CSV of each language-model figure (Figures 4, 5, 10, 11, 12)."""
    return [f"results/figures/{stem}.{ext}" for stem in config["lm"]["figures"]
            for ext in ("png", "pdf", "csv")]


def check_figures(config: dict) -> None:
    """Each figure's prompt set and reward must be ones the config computes."""
    for stem, spec in config["lm"]["figures"].items():
        if spec["prompt_set"] not in config["lm"]["prompt_sets"]:
            raise ValueError(f"config lm.figures.{stem}.prompt_set {spec['prompt_set']!r} is not a key of "
                             f"lm.prompt_sets {sorted(config['lm']['prompt_sets'])}")
        if spec["reward"] not in config["lm"]["rewards"].get(spec["prompt_set"], []):
            raise ValueError(f"config lm.figures.{stem}.reward {spec['reward']!r} is not computed for "
                             f"{spec['prompt_set']!r}; add it to lm.rewards.{spec['prompt_set']}")


def model_files(config: dict) -> list[str]:
    """The model file the sampling rules wait for: the embedded GGUF when it is to be fetched."""
    model = config["lm"]["model"]
    if model.get("fetch_embedded"):
        return [str(Path(model["path"]) / model["gguf_file"])]
    return []


def check_lm_config(config: dict) -> None:
    """Everything about the language-model section that the schema cannot see, checked up front:
    prompt files, figure specs, reward names, chrF references, the model folder."""
    from ..lm.rewards import REWARDS

    sets = prompt_sets(config)
    for name in config["lm"]["prompt_sets"]:
        if name not in config["lm"]["rewards"]:
            raise ValueError(f"config lm.rewards has no entry for prompt set {name!r}; add e.g. "
                             f"lm.rewards.{name}: [loglik, neg_length]")
    for name, rewards in config["lm"]["rewards"].items():
        if name not in sets:
            raise ValueError(f"config lm.rewards.{name}: no such prompt set; known: {sorted(sets)}")
        for reward in rewards:
            if reward not in REWARDS:
                raise ValueError(f"config lm.rewards.{name}: unknown reward {reward!r}; known: {sorted(REWARDS)}")
            if reward == "chrf":
                lacking = [p["id"] for p in sets[name]["prompts"] if "reference" not in p]
                if lacking:
                    raise ValueError(f"config lm.rewards.{name} asks for chrf, but prompts {lacking} of "
                                     f"{config['lm']['prompt_sets'][name]} have no 'reference' translation")
    check_figures(config)
    model = config["lm"]["model"]
    if not model.get("fetch_embedded"):
        path = Path(model["path"])
        looks_local = path.is_absolute() or model["path"].startswith(".") or path.exists()
        if looks_local and not path.exists():
            raise ValueError(f"config lm.model.path {model['path']!r} does not exist; give a local model "
                             "folder or a hub id (org/name), or set lm.model.fetch_embedded: true")
        gguf = model.get("gguf_file")
        if gguf and path.exists() and not (path / gguf).is_file():
            raise ValueError(f"config lm.model.gguf_file {gguf!r} is not in {model['path']!r}")

"""Prompt sets as data (config/prompts/*.yaml), checked before any model is loaded."""

from __future__ import annotations

from pathlib import Path

import yaml


def load_prompt_set(path) -> dict:
    """Read and check a prompt file: ``{prompt_set, prompts: [{id, text, reference?}]}``."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"prompt file {path} does not exist; point the config's prompt_sets at a YAML file")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("prompts"), list) or not data["prompts"]:
        raise ValueError(f"prompt file {path}: expected a mapping with a non-empty list 'prompts'")
    seen = set()
    for index, prompt in enumerate(data["prompts"]):
        where = f"prompt file {path}, prompts[{index}]"
        if not isinstance(prompt, dict):
            raise ValueError(f"{where}: expected a mapping with 'id' and 'text'")
        unknown = set(prompt) - {"id", "text", "reference"}
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: id, text, reference")
        pid, text = prompt.get("id"), prompt.get("text")
        if not isinstance(pid, str) or not pid or not pid.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"{where}: 'id' must be a non-empty name of letters, digits, '-' or '_'")
        if pid in seen:
            raise ValueError(f"{where}: duplicate id {pid!r}")
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{where}: 'text' must be a non-empty string")
        if "reference" in prompt and not (isinstance(prompt["reference"], str) and prompt["reference"].strip()):
            raise ValueError(f"{where}: 'reference' must be a non-empty string when given")
        seen.add(pid)
    return {"prompt_set": data.get("prompt_set", path.stem), "prompts": data["prompts"]}


def prompt_by_id(prompt_set: dict, prompt_id: str) -> dict:
    """The prompt with this id, or a clear error listing the ids."""
    for prompt in prompt_set["prompts"]:
        if prompt["id"] == prompt_id:
            return prompt
    raise ValueError(f"no prompt {prompt_id!r}; known: {[p['id'] for p in prompt_set['prompts']]}")

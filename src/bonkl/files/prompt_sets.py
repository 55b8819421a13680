"""Prompt sets as data (config/prompts/*.yaml), checked before any model is loaded.

A prompt file is checked against :data:`PROMPT_SET_SCHEMA` (JSON Schema); every error names the
file, where in it, and what a prompt file must hold.
"""

from __future__ import annotations

from pathlib import Path

import yaml

# A prompt id names files and a workflow wildcard. (?!\n): jsonschema matches with Python's re, whose
# $ also matches before a final newline, so "Q1\n" would pass without it.
ID_PATTERN = r"^[A-Za-z0-9_-]+$(?!\n)"
PROMPT_SET_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["prompts"],
    "properties": {
        "prompt_set": {"type": "string", "minLength": 1},
        "prompts": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "text"],
                "properties": {
                    "id": {"type": "string", "pattern": ID_PATTERN},
                    "text": {"type": "string", "pattern": r"\S"},
                    "reference": {"type": "string", "pattern": r"\S"},
                },
            },
        },
    },
}
SHAPE = (
    "a prompt file is a mapping {prompt_set: name (optional), prompts: [{id, text, reference?}, ...]} "
    "with ids of letters, digits, '-' or '_' and non-empty texts"
)


def load_prompt_set(path) -> dict:
    """Read and check a prompt file: ``{prompt_set, prompts: [{id, text, reference?}]}``."""
    import jsonschema

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"prompt file {path} does not exist; point the config's prompt_sets at a YAML file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise ValueError(f"prompt file {path} is not UTF-8 text ({error.reason} at byte {error.start})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ValueError(f"prompt file {path} is not valid YAML{where}: {problem}") from None
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(PROMPT_SET_SCHEMA).iter_errors(data))
    if error is not None:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
        raise ValueError(f"prompt file {path}, {where or 'top level'}: {error.message}; {SHAPE}")
    seen = set()
    for index, prompt in enumerate(data["prompts"]):
        if prompt["id"] in seen:
            raise ValueError(
                f"prompt file {path}, prompts[{index}].id: duplicate id {prompt['id']!r}; give every prompt its own id"
            )
        seen.add(prompt["id"])
    return {"prompt_set": data.get("prompt_set", path.stem), "prompts": data["prompts"]}


def prompt_by_id(prompt_set: dict, prompt_id: str) -> dict:
    """The prompt with this id, or a clear error listing the ids."""
    for prompt in prompt_set["prompts"]:
        if prompt["id"] == prompt_id:
            return prompt
    raise ValueError(f"no prompt {prompt_id!r}; known: {[p['id'] for p in prompt_set['prompts']]}")

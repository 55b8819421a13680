"""Rewards of sampled responses, and the fixed order that breaks their ties.

Each reward takes the samples frame of ``bonkl.lm.sampling.sample_responses`` (columns
``token_ids``, ``text``, ``logprob``, ``num_tokens``) and an optional reference text, and returns a
float64 array, one value per row. No torch needed.

* ``loglik``: the response's log-likelihood under the reference model (= ``logprob``);
* ``neg_length``: minus the number of generated tokens (end-of-sequence token included). A sample
  cut at the token cap has no length yet, only "longer than the cap": it gets ``-(cap + 1)``, below
  every finished sample and tied with every other cut one (best-of-n then breaks the tie);
* ``chrf``: sacrebleu's sentence chrF (0-100) of ``text`` against the reference translation.

Ties (frequent for ``neg_length``) are broken where best-of-n is taken, in ``bonkl.pool``: uniformly
at random by default, as ``argmax`` over i.i.d. draws does (``ties="logprob"`` ranks the likelier
sample higher instead).

Rewards the user brings (a Python function, a Hugging Face reward model) are described by
``bonkl.lm.reward_spec.RewardSpec`` and called, like these, through ``reward_spec.load_reward``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def loglik(samples: pd.DataFrame, reference: str | None = None) -> np.ndarray:
    return samples["logprob"].to_numpy(dtype=np.float64)


def neg_length(samples: pd.DataFrame, reference: str | None = None) -> np.ndarray:
    length = samples["num_tokens"].to_numpy(dtype=np.float64)
    cut = ~samples["finished"].to_numpy(dtype=bool)
    return -(length + cut)  # a cut sample has num_tokens == cap: "longer than the cap" is cap + 1


def chrf(samples: pd.DataFrame, reference: str | None = None) -> np.ndarray:
    if reference is None:
        raise ValueError("reward 'chrf' needs a reference translation for the prompt")
    from sacrebleu.metrics import CHRF

    metric = CHRF()
    return np.array([metric.sentence_score(text, [reference]).score for text in samples["text"]], dtype=np.float64)


REWARDS = {"loglik": loglik, "neg_length": neg_length, "chrf": chrf}
#: The rewards that compare a response with its prompt's reference translation.
NEEDS_REFERENCE = frozenset({"chrf"})


def reference_for(reward: str, prompt: dict) -> str | None:
    """What ``reward`` is called with as ``reference`` for ``prompt`` (a prompt file's entry): its
    reference translation for the rewards that need one, else None. The workflow asks this for every
    prompt before any job, so a prompt without the reference a reward needs stops the run at once."""
    if reward not in NEEDS_REFERENCE:
        return None
    if "reference" not in prompt:
        raise ValueError(
            f"reward {reward!r} needs a reference translation, and prompt {prompt['id']!r} has none; "
            "add one ('reference: ...') or drop the reward for this prompt set"
        )
    return prompt["reference"]


def get_reward(name: str):
    """The reward function called ``name``; a clear error lists the valid names."""
    try:
        return REWARDS[name]
    except KeyError:
        raise ValueError(f"unknown reward {name!r}; valid rewards: {sorted(REWARDS)}") from None

"""The sampler's settings and logits processing against transformers' own warpers, and properties."""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict

import numpy as np
import pytest
import torch
from exact import generate_processors
from hypothesis import given, settings
from hypothesis import strategies as st

from bonkl.lm.processors import SamplerSettings, process_logits

WARPERS = ["TemperatureLogitsWarper", "TopKLogitsWarper", "TopPLogitsWarper", "MinPLogitsWarper"]
GRID = [
    SamplerSettings(temperature=t, top_k=k, top_p=p, min_p=m)
    for t, k, p, m in itertools.product([1.0, 0.7, 1.5], [0, 1, 3, 10], [1.0, 0.3, 0.8, 0.95], [0.0, 0.05, 0.3])
]


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("temperature", 0.0, "> 0"),
        ("temperature", -1.0, "> 0"),
        ("temperature", float("inf"), "> 0"),
        ("temperature", "1", "> 0"),
        ("top_k", -1, ">= 0"),
        ("top_k", 2.5, "integer"),
        ("top_k", True, "integer"),
        ("top_p", 0.0, r"\(0, 1\]"),
        ("top_p", 1.5, r"\(0, 1\]"),
        ("top_p", float("nan"), r"\(0, 1\]"),
        ("min_p", 1.0, r"\[0, 1\)"),
        ("min_p", -0.1, r"\[0, 1\)"),
    ],
)
def test_invalid_settings_name_the_setting_and_its_range(name, value, allowed):
    with pytest.raises(ValueError, match=f"sampler setting {name} must be .*{allowed}") as error:
        SamplerSettings(**{name: value})
    assert "\n" not in str(error.value)


def test_settings_are_plain_frozen_values():
    default = SamplerSettings()
    assert not default.active and asdict(default) == {"temperature": 1.0, "top_k": 0, "top_p": 1.0, "min_p": 0.0}
    mixed = SamplerSettings(temperature=1, top_k=np.int64(3), top_p=np.float32(0.5))
    assert type(mixed.temperature) is float and type(mixed.top_k) is int and type(mixed.top_p) is float
    assert json.loads(json.dumps(asdict(mixed))) == asdict(mixed)  # what the manifest stores
    assert mixed.active and SamplerSettings(min_p=0.1).active and SamplerSettings(temperature=0.5).active
    with pytest.raises(AttributeError):
        mixed.top_k = 4
    logits = torch.randn(3, 9)
    assert process_logits(logits, default) is logits  # off: untouched, not even copied


def test_order_is_that_of_generate(tiny):
    """transformers' generate applies temperature, top-k, top-p, min-p, in that order."""
    model, _ = tiny
    every = generate_processors(model, SamplerSettings(temperature=0.7, top_k=3, top_p=0.8, min_p=0.1))
    assert [type(p).__name__ for p in every] == WARPERS
    assert len(generate_processors(model, SamplerSettings())) <= 1  # at most min_p=0, a no-op


def test_processing_is_transformers_bit_for_bit(tiny, monkeypatch):
    """On logits with many ties (rounded to halves; bfloat16), every setting of the grid gives what
    generate's warpers give, to the bit, once their top-p sort is made stable like ours. Without
    that, the kept logits are still the same multiset: only which of equal tokens survives differs."""
    model, _ = tiny
    gen = torch.Generator().manual_seed(0)
    batches = []
    for vocab in (7, 64, 1000):
        batches.append(torch.round(torch.randn(16, vocab, generator=gen) * 6) / 2)
        batches.append((torch.randn(16, vocab, generator=gen) * 4).bfloat16().float())
    ids = torch.zeros(16, 1, dtype=torch.long)
    sort = torch.sort
    ties = {"top_k": 0, "top_p": 0}
    for setting, logits in itertools.product(GRID, batches):
        reference = generate_processors(model, setting)
        ours = process_logits(logits, setting)
        theirs = reference(ids, logits.clone())
        assert torch.equal(torch.sort(ours, stable=True)[0], torch.sort(theirs, stable=True)[0])
        ties["top_p"] += int(not torch.equal(ours, theirs))
        monkeypatch.setattr(torch, "sort", lambda *a, **k: sort(*a, **{**k, "stable": True}))
        assert torch.equal(ours, reference(ids, logits.clone())), setting
        monkeypatch.setattr(torch, "sort", sort)
        if setting.top_k and setting.top_p == 1.0 and not setting.min_p:
            ties["top_k"] += int((ours > -torch.inf).sum(-1).gt(setting.top_k).any())
    assert ties["top_k"] > 0 and ties["top_p"] > 0  # the grid did exercise ties at both boundaries
    assert logits.equal(batches[-1])  # pure: the input is not modified


def test_ties_at_the_boundaries():
    """Top-k keeps every token tied with the k-th; top-p keeps the smallest set reaching p, the
    higher token id first among equal logits; min-p compares with the top token's probability."""
    tied = torch.tensor([[2.0, 2.0, 2.0, 1.0, 0.0]])
    assert (process_logits(tied, SamplerSettings(top_k=2)) > -torch.inf).tolist() == [[True] * 3 + [False] * 2]
    two = torch.tensor([[1.0, 1.0, 0.0]])  # probabilities 0.42, 0.42, 0.16
    kept = process_logits(two, SamplerSettings(top_p=0.4)) > -torch.inf
    assert kept.tolist() == [[False, True, False]]
    assert (process_logits(two, SamplerSettings(top_p=0.85)) > -torch.inf).all()  # 0.84 < 0.85: all
    halves = torch.log(torch.tensor([[0.5, 0.3, 0.2]]))
    assert (process_logits(halves, SamplerSettings(top_p=0.8)) > -torch.inf).tolist() == [[True, True, False]]
    ratio = torch.log(torch.tensor([[0.6, 0.3, 0.06, 0.04]]))
    assert (process_logits(ratio, SamplerSettings(min_p=0.1)) > -torch.inf).tolist() == [[True, True, False, False]]
    # min-p after temperature: at temperature 2 the ratio 0.1 becomes sqrt(0.1) ~ 0.32
    assert (process_logits(ratio, SamplerSettings(temperature=2.0, min_p=0.3)) > -torch.inf).sum() == 3


LOGITS = st.lists(
    st.one_of(st.integers(-8, 8).map(lambda i: i / 2), st.floats(-20, 20, allow_nan=False, width=32)),
    min_size=1,
    max_size=24,
).map(lambda values: torch.tensor([values], dtype=torch.float32))
TEMPERATURE = st.sampled_from([0.3, 0.7, 1.0, 1.5, 4.0])
TOP_K = st.integers(0, 12)
TOP_P = st.floats(0.01, 1.0)
MIN_P = st.floats(0.0, 0.95)
PROPERTIES = settings(max_examples=150, deadline=None)


def support(logits, setting):
    return (process_logits(logits, setting) > -torch.inf)[0]


@PROPERTIES
@given(LOGITS, TEMPERATURE, TOP_K, TOP_P, MIN_P)
def test_q_is_a_distribution_on_the_top_tokens(logits, temperature, top_k, top_p, min_p):
    """q sums to 1, keeps a most likely token, keeps an upper set of the logits (every kept logit
    >= every removed one) and leaves the kept logits as temperature made them."""
    setting = SamplerSettings(temperature, top_k, top_p, min_p)
    processed = process_logits(logits, setting)[0]
    kept, raw = processed > -torch.inf, logits[0]
    assert abs(float(torch.softmax(processed.double(), dim=-1).sum()) - 1) < 1e-12
    assert bool(kept[raw == raw.max()].any())
    assert bool(kept.all()) or float(raw[kept].min()) >= float(raw[~kept].max())
    assert torch.equal(processed[kept], raw[kept] / temperature)


@PROPERTIES
@given(LOGITS, TEMPERATURE, TOP_K, TOP_P, TOP_P)
def test_support_shrinks_as_top_p_decreases(logits, temperature, top_k, p, other):
    low, high = sorted([p, other])
    small = support(logits, SamplerSettings(temperature, top_k, low))
    large = support(logits, SamplerSettings(temperature, top_k, high))
    assert bool((small <= large).all())


@PROPERTIES
@given(LOGITS, TEMPERATURE, TOP_K, TOP_K, MIN_P, MIN_P)
def test_support_shrinks_as_top_k_decreases_and_min_p_grows(logits, temperature, k, other_k, m, other_m):
    low_k, high_k = sorted([k or 10**6, other_k or 10**6])  # 0 = off = keep every token
    assert bool(
        (
            support(logits, SamplerSettings(temperature, low_k))
            <= support(logits, SamplerSettings(temperature, high_k))
        ).all()
    )
    low_m, high_m = sorted([m, other_m])
    strict, loose = (support(logits, SamplerSettings(temperature, min_p=x)) for x in (high_m, low_m))
    assert bool((strict <= loose).all())


@PROPERTIES
@given(LOGITS, TEMPERATURE, TOP_P, MIN_P)
def test_top_p_and_min_p_thresholds(logits, temperature, top_p, min_p):
    """Top-p keeps the smallest set of most likely tokens whose mass reaches p; min-p keeps the
    tokens whose probability is at least min_p times the top token's (float32 slack: 1e-5)."""
    p = torch.softmax(logits[0].double() / temperature, dim=-1)
    kept = support(logits, SamplerSettings(temperature, top_p=top_p))
    assert float(p[kept].sum()) >= top_p - 1e-5
    assert float(p[kept].sum() - p[kept].min()) < top_p + 1e-5  # without its least likely token: short
    kept = support(logits, SamplerSettings(temperature, min_p=min_p))
    assert bool((p[kept] >= min_p * p.max() * (1 - 1e-5)).all())
    assert bool((p[~kept] < min_p * p.max() * (1 + 1e-5)).all())

"""Blockwise best-of-n (Appendix B, Theorem B.1) on a toy autoregressive model enumerated exactly."""

import itertools
import math

import mpmath as mp
import numpy as np
import pytest
from mpref import assert_close, reference

import bonkl

EOS = 2  # tokens 0, 1 and the end-of-sequence token
MAX_LEN = 5  # a sequence stops at EOS or after 5 tokens (a truncated sequence is still an outcome)


def _seeded(sequence, salt):
    return np.random.default_rng([salt] + [t + 1 for t in sequence])


def next_token_probs(prefix):
    """A fixed, prefix-dependent next-token distribution (EOS always possible), normalised in mpmath."""
    weights = [mp.mpf(float(w)) for w in _seeded(prefix, 1).uniform(0.2, 1.0, size=3)]
    total = mp.fsum(weights)
    return [w / total for w in weights]


def reward(sequence):
    """A reward on partial sequences, unique (a random draw keyed by the sequence)."""
    return float(_seeded(sequence, 2).random()) + 1e-9 * len(sequence)


def finished(sequence):
    return len(sequence) >= MAX_LEN or (sequence and sequence[-1] == EOS)


def continuations(prefix, block):
    """Every continuation of ``prefix`` by one block (up to ``block`` tokens, stopping at the end),
    with its probability under the reference, in mpmath."""
    out = {(): mp.mpf(1)}
    for _ in range(block):
        grown = {}
        for tail, prob in out.items():
            if finished(prefix + tail):
                grown[tail] = grown.get(tail, 0) + prob
                continue
            for token, q in enumerate(next_token_probs(prefix + tail)):
                grown[tail + (token,)] = prob * q
        out = grown
    return out


def best_of_n_over(options, prefix, n):
    """Lemma 2.3 written out: order the continuations by reward, ``F^n - (F^-)^n``."""
    ordered = sorted(options, key=lambda tail: reward(prefix + tail))
    result, below = {}, mp.mpf(0)
    for tail in ordered:
        top = below + options[tail]
        result[tail] = top**n - below**n
        below = top
    return result


def enumerate_policies(n, block):
    """``{sequence: (pi_{n,B}(y), pi(y))}`` over every complete sequence, exactly."""
    out = {}
    stack = [((), mp.mpf(1), mp.mpf(1))]
    while stack:
        prefix, p_block, p_ref = stack.pop()
        if finished(prefix):
            out[prefix] = (p_block, p_ref)
            continue
        options = continuations(prefix, block)
        chosen = best_of_n_over(options, prefix, n)
        for tail, q in options.items():
            stack.append((prefix + tail, p_block * chosen[tail], p_ref * q))
    return out


def kl_and_block_count(n, block):
    table = enumerate_policies(n, block)
    kl = mp.fsum(a * mp.log(a / b) for a, b in table.values() if a > 0)
    blocks = mp.fsum(a * math.ceil(len(y) / block) for y, (a, _) in table.items())
    return kl, blocks, table


@pytest.mark.parametrize("block", [1, 2, 3])
@pytest.mark.parametrize("n", [1, 2, 4, 16])
def test_theorem_b_1_blockwise_kl_below_blocks_times_formula(n, block):
    with mp.workdps(40):
        kl, blocks, table = kl_and_block_count(n, block)
        assert abs(mp.fsum(a for a, _ in table.values()) - 1) < mp.mpf("1e-30")
        assert abs(mp.fsum(b for _, b in table.values()) - 1) < mp.mpf("1e-30")
        bound = blocks * mp.mpf(float(bonkl.kl_bon(n)))
        assert kl <= bound * (1 + mp.mpf("1e-14")) + mp.mpf("1e-30")
        if n > 1:
            assert kl > 0


@pytest.mark.parametrize("n", [2, 4, 16])
def test_theorem_b_1_one_block_is_plain_best_of_n(n):
    """With a block as long as the longest sequence, blockwise best-of-n is best-of-n on sequences:
    its KL is ``kl_exact`` on the sequences sorted by reward."""
    with mp.workdps(40):
        kl, blocks, table = kl_and_block_count(n, MAX_LEN)
        assert abs(blocks - 1) < mp.mpf("1e-30")
        ordered = sorted(table, key=reward)
        masses = np.array([float(table[y][1]) for y in ordered])
    assert_close(bonkl.kl_exact(masses / masses.sum(), n), kl, what=f"one-block KL (n={n})")


@pytest.mark.parametrize(("n", "block"), [(4, 2), (16, 1)])
def test_theorem_b_1_estimator_from_sampled_lengths(n, block):
    """``blockwise_kl_bound`` on lengths drawn from the blockwise policy estimates ``E[ceil(len/B)] KL_bon(n)``."""
    with mp.workdps(40):
        _, blocks, table = kl_and_block_count(n, block)
    sequences = list(table)
    probs = np.array([float(table[y][0]) for y in sequences])
    rng = np.random.default_rng(11)
    draws = rng.choice(len(sequences), size=20_000, p=probs / probs.sum())
    lengths = np.array([len(sequences[i]) for i in draws])
    counts = np.ceil(lengths / block)
    sigma = counts.std(ddof=1) / np.sqrt(counts.size) * bonkl.kl_bon(n)
    estimate = bonkl.blockwise_kl_bound(lengths, block, n)
    assert abs(estimate - float(blocks) * bonkl.kl_bon(n)) <= 4 * sigma


def ref_bound(lengths, block, n):
    n = mp.mpf(n)
    mean_blocks = mp.fsum(mp.ceil(mp.mpf(length) / block) for length in lengths) / len(lengths)
    return mean_blocks * (mp.log(n) - (n - 1) / n)


@pytest.mark.parametrize(
    ("lengths", "block", "n"),
    [
        ([1, 2, 3, 4], 2, 4),
        ([0, 5, 17, 64, 65], 16, 1000),
        ([7], 1, 2),
        ([1, 1, 1], 8, 1.5),
        ([100, 250], 100, 1e6),
        ([0, 0], 3, 10),
    ],
)
def test_theorem_b_1_bound_closed_form(lengths, block, n):
    ref = reference(ref_bound, lengths, block, n)
    assert_close(bonkl.blockwise_kl_bound(lengths, block, n), ref, what=f"blockwise_kl_bound({lengths}, {block}, {n})")


def test_theorem_b_1_bound_vectorised_over_n():
    ns = np.array([1.0, 2.0, 1e4])
    got = bonkl.blockwise_kl_bound([3, 4, 9], 4, ns)
    np.testing.assert_allclose(got, [bonkl.blockwise_kl_bound([3, 4, 9], 4, n) for n in ns], rtol=1e-15)
    np.testing.assert_allclose(got, (1 + 1 + 3) / 3 * bonkl.kl_bon(ns), rtol=1e-15)


def test_blockwise_enumeration_covers_every_sequence():
    """Self-check of the toy model: every sequence that ends at its first EOS, or is cut at the
    maximum length, is enumerated once."""
    expected = sum(
        1
        for length in range(1, MAX_LEN + 1)
        for seq in itertools.product(range(3), repeat=length)
        if (EOS not in seq[:-1]) and (seq[-1] == EOS or length == MAX_LEN)
    )
    with mp.workdps(20):
        assert len(enumerate_policies(2, 2)) == expected

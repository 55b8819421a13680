"""Best-of-n from a sampler q (tempered, truncated) and an evaluation reward (docs/MATH.md, "Best-of-n
from another sampler"): the pool checks."""

import numpy as np
import pytest

from bonkl.pools import build_pools

# -- pools: what no sampler can produce ----------------------------------------------------------


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            {"sampler_logprob": [-1.0, -2.0, -1.5, -3.0]},
            r"prompt 'b': identical samples \(key 'x', rows 2, 3\).*sampler log-probability, -3.0 and -1.5",
        ),
        (
            {"eval_reward": [0.0, 1.0, 2.0, 2.5]},
            r"prompt 'b': identical samples \(key 'x', rows 2, 3\).*evaluation reward, 2.0 and 2.5",
        ),
        ({"sampler_logprob": np.log([0.5, 0.6, 0.3, 0.3])}, r"prompt 'a' \(rows 0, 1\).*under the sampler sum to 1.1"),
        ({"sampler_logprob": [-1.0, 0.5, -1.0, -1.0]}, r"sampler_logprob must be a natural log-probability.*row 1"),
        ({"sampler_logprob": [-1.0, np.nan, -1.0, -1.0]}, r"sampler_logprob must be finite.*row 1"),
        ({"eval_reward": [0.0, 1.0, np.inf, np.inf]}, r"eval_reward must be finite.*row 2"),
        ({"eval_reward": [0.0, 1.0]}, r"eval_reward must have one entry per sample \(4\), got 2"),
    ],
)
def test_pools_refuse_what_no_sampler_can_produce(extra, message):
    with pytest.raises(ValueError, match=message):
        build_pools(
            ["a", "a", "b", "b"], np.log([0.2, 0.3, 0.1, 0.1]), [0.0, 1.0, 2.0, 2.0], ["x", "y", "x", "x"], **extra
        )


def test_reference_mass_is_still_checked_with_a_sampler():
    with pytest.raises(ValueError, match=r"prompt 'a'.*probabilities sum to 1.2"):
        build_pools(["a", "a"], np.log([0.6, 0.6]), [0.0, 1.0], ["x", "y"], sampler_logprob=np.log([0.5, 0.5]))


def test_pools_accept_rounding_in_the_new_columns():
    pools = build_pools(
        ["a"] * 3,
        [-1.0, -1.0, -2.0],
        [0.0, 0.0, 1.0],
        ["x", "x", "y"],
        sampler_logprob=[-0.5, -0.5 - 1e-13, -1.2],
        eval_reward=[3.0, 3.0 + 1e-12, 4.0],
    )
    group = pools.groups[0]
    assert list(group.count[0]) == [2.0, 1.0] and list(group.eval_reward[0]) == [3.0, 4.0]
    np.testing.assert_allclose(group.drawn_from_sampler().logprob[0], [-0.5, -1.2])

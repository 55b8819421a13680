"""The tilted mean of Appendix C.2 (eq. 133): ``(1/t) log E[exp(t X)]``, a smooth min (t < 0) or max (t > 0)."""

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mpref import assert_close, property_settings, ref_tilted_mean, reference

import bonkl

TILTS = [-1e4, -10.0, -1.0, -1e-3, -1e-12, 1e-12, 1e-3, 0.3, 1.0, 10.0, 1e4]

# KLhat values of a best-of-n pool (0 to about log n) with their best-of-n probabilities.
KL_VALUES = np.array([0.0, 0.05, 1.2, 3.3, 6.9, 12.8])
KL_WEIGHTS = np.array([0.0, 0.1, 0.2, 0.4, 0.2999, 1e-4])


@pytest.mark.parametrize("t", TILTS)
def test_eq_133_tilted_mean_matches_mpmath(t):
    ref = reference(ref_tilted_mean, KL_VALUES, t, KL_WEIGHTS)
    assert_close(bonkl.tilted_mean(KL_VALUES, t, KL_WEIGHTS), ref, what=f"tilted_mean(t={t})")
    values = np.array([-3.0, 0.5, 0.5, 2.0, 7.25])
    assert_close(bonkl.tilted_mean(values, t), reference(ref_tilted_mean, values, t), what=f"unweighted (t={t})")


def test_eq_133_tilt_zero_and_infinite():
    mean = np.sum(KL_VALUES * KL_WEIGHTS) / KL_WEIGHTS.sum()
    assert bonkl.tilted_mean(KL_VALUES, 0.0, KL_WEIGHTS) == pytest.approx(mean, rel=1e-15)
    # the value of weight 0 (here 0.0, the minimum) is not an outcome: the min is over positive weights
    assert bonkl.tilted_mean(KL_VALUES, -np.inf, KL_WEIGHTS) == 0.05
    assert bonkl.tilted_mean(KL_VALUES, np.inf, KL_WEIGHTS) == 12.8
    assert bonkl.tilted_mean(KL_VALUES, np.inf) == 12.8 and bonkl.tilted_mean(KL_VALUES, -np.inf) == 0.0


def test_eq_133_vectorised_over_t():
    tilts = np.array([-np.inf] + TILTS[:5] + [0.0] + TILTS[5:] + [np.inf])
    got = bonkl.tilted_mean(KL_VALUES, tilts, KL_WEIGHTS)
    assert got.shape == tilts.shape
    np.testing.assert_allclose(got, [bonkl.tilted_mean(KL_VALUES, t, KL_WEIGHTS) for t in tilts], rtol=1e-15)
    assert np.all(np.diff(got) >= -1e-15)


def test_eq_133_limits_are_approached():
    """``t -> 0`` gives the mean (to first order ``mean + t Var/2``), ``|t| -> inf`` the max and min."""
    w = KL_WEIGHTS / KL_WEIGHTS.sum()
    mean = np.sum(w * KL_VALUES)
    variance = np.sum(w * (KL_VALUES - mean) ** 2)
    for t in (1e-6, -1e-6):
        assert bonkl.tilted_mean(KL_VALUES, t, KL_WEIGHTS) == pytest.approx(mean + t * variance / 2, abs=1e-11)
    assert bonkl.tilted_mean(KL_VALUES, 1e6, KL_WEIGHTS) == pytest.approx(12.8, abs=1e-5)
    assert bonkl.tilted_mean(KL_VALUES, -1e6, KL_WEIGHTS) == pytest.approx(0.05, abs=1e-5)


samples = st.lists(st.floats(-50.0, 50.0), min_size=1, max_size=30)
tilts = st.one_of(
    st.floats(-6.0, 4.0).map(lambda e: float(10.0**e)),
    st.floats(-6.0, 4.0).map(lambda e: -float(10.0**e)),
    st.sampled_from([0.0, 1e-12, -1e-12, 1e4, -1e4]),
)


@property_settings(100)
@given(x=samples, t=tilts, data=st.data())
def test_eq_133_tilted_mean_matches_mpmath_on_random_samples(x, t, data):
    weights = np.array(data.draw(st.lists(st.floats(0.0, 1.0), min_size=len(x), max_size=len(x))))
    if weights.sum() == 0:
        weights[0] = 1.0
    if t == 0:
        with mp.workdps(50):
            ws = [mp.mpf(float(w)) for w in weights]
            ref = mp.fsum(w * mp.mpf(v) for w, v in zip(ws, x)) / mp.fsum(ws)
    else:
        ref = reference(ref_tilted_mean, x, t, weights)
    assert_close(bonkl.tilted_mean(x, t, weights), ref, what=f"tilted_mean(t={t})")


@property_settings(200)
@given(x=samples, t=tilts, factor=st.floats(1.0, 100.0))
def test_eq_133_between_min_and_max_and_non_decreasing_in_t(x, t, factor):
    x = np.array(x)
    low, high = bonkl.tilted_mean(x, t), bonkl.tilted_mean(x, t * factor if t > 0 else t / factor)
    scale = 1e-13 * (1 + np.abs(x).max())
    assert x.min() - scale <= low <= x.max() + scale
    assert high >= low - scale


@property_settings(50)
@given(value=st.floats(-50.0, 50.0), t=tilts)
def test_eq_133_constant_value(value, t):
    assert bonkl.tilted_mean([value, value, value], t) == pytest.approx(value, rel=1e-14, abs=1e-14)


def test_eq_133_input_checks():
    with pytest.raises(ValueError, match="weights must have one entry per value"):
        bonkl.tilted_mean([1.0, 2.0], 1.0, [1.0])
    with pytest.raises(ValueError, match="weights must be finite, non-negative and not all zero"):
        bonkl.tilted_mean([1.0, 2.0], 1.0, [1.0, -1.0])
    with pytest.raises(ValueError, match="weights must be finite, non-negative and not all zero"):
        bonkl.tilted_mean([1.0, 2.0], 1.0, [0.0, 0.0])
    with pytest.raises(ValueError, match="x must be a non-empty array of finite values"):
        bonkl.tilted_mean([], 1.0)
    with pytest.raises(ValueError, match="x must be a non-empty array of finite values"):
        bonkl.tilted_mean([1.0, np.nan], 1.0)
    with pytest.raises(ValueError, match="t must not be NaN"):
        bonkl.tilted_mean([1.0, 2.0], np.nan)

"""Benchmark ``bonkl.kl_exact`` against the formula as printed, for speed and for accuracy.

    python benchmarks/bench_kl_exact.py [--quick]

The straightforward implementation is Lemma 2.3 with powers and differences, exactly as printed:
``F = cumsum(p)``, ``pi_n = F**n - (F - p)**n``, ``KL = sum pi_n log(pi_n / p)`` (``0 log 0 = 0``).

1. Speed: both on the same Dirichlet(1) models (10^6 and 10^7 outcomes; ``--quick``: 10^6 only)
   and the same 30 values of ``n`` log-spaced from 1 to 10^6, in one process; the time of each, the
   ratio, and their largest relative disagreement.
2. Accuracy: the largest relative error of each against ``mpmath`` on hard cases. The reference
   renormalises the float masses exactly (``P = p / sum p``), forms the CDF exactly and takes
   ``F^n - (F^-)^n`` with 50 significant digits to spare: the working precision is 50 digits plus
   the decimal range of the masses (``1 - 1e-300`` must stay distinct from 1), plus the digits
   that ``n (F - F^-)/F`` cancels. Outcomes far below the top are dropped once a bound on all
   their terms together, ``S (log m + |log S| + max |log P|)`` with ``S = F^n`` the best-of-n mass
   below, is under ``10^-(digits + 5)`` of the partial sum (exact enough; it makes large ``n``
   cheap). A model of repeated masses (blocks of equal masses) is where this pays off: its CDF
   within a block is ``F_0 + k a``, formed by multiplication rather than summation, and at large
   ``n`` only the top of the top block is summed.

The relative error is ``|KL - KL_ref| / KL_ref`` (``n = 1`` exactly is left out: ``KL_ref = 0``).
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import mpmath as mp
import numpy as np

import bonkl


def kl_naive(p, n):
    """The formula as printed: powers and differences in float64, one value per ``n``."""
    p = np.asarray(p, dtype=np.float64)
    f = np.cumsum(p)
    f_minus = f - p
    out = np.empty(np.size(n))
    with np.errstate(all="ignore"):
        for i, n_value in enumerate(np.atleast_1d(n)):
            pin = f**n_value - f_minus**n_value
            out[i] = np.sum(np.where(pin > 0, pin * np.log(pin / p), 0.0))
    return out


# ---------------------------------------------------------------- mpmath reference


def kl_reference(p, n, *, blocks=None, digits=50):
    """``KL(pi_n || pi)`` to ``digits`` significant digits (see the module docstring).

    ``p``: float masses in increasing reward order (renormalised exactly), or ``blocks``: a list of
    ``(count, mass)`` pairs (``mass`` a float, renormalised exactly) in increasing reward order.
    """
    if blocks is None:
        blocks_list = [(1, float(x)) for x in p]
    else:
        blocks_list = [(int(c), float(m)) for c, m in blocks]
    masses = [m for _, m in blocks_list if m > 0]
    span = max(0, -math.floor(math.log10(min(masses)))) + 20
    n_mp_digits = max(0, math.ceil(math.log10(n))) + 5
    # n near 1: pi_n/p - 1 is of order n - 1 and the KL of order (n-1)^2: keep digits for that too
    near_one = max(0, -math.floor(math.log10(n - 1))) if n > 1 else 0
    dps = digits + span + n_mp_digits + 2 * near_one
    with mp.workdps(dps):
        total = mp.fsum(mp.mpf(m) * c for c, m in blocks_list)  # exact at this precision
        n_mp = mp.mpf(n)
        max_log_p = max(abs(mp.log(mp.mpf(m) / total)) for m in masses)
        result = mp.mpf(0)
        upper = mp.mpf(1)  # F at the top of the current block (exactly 1 at the top)
        count_left = sum(c for c, _ in blocks_list)
        threshold = mp.mpf(10) ** -(digits + 5)
        for count, mass in reversed(blocks_list):
            a = mp.mpf(mass) / total
            if a == 0:
                continue
            block_bottom = upper - count * a
            log_a = mp.log(a)
            f_hi = upper
            pow_hi = f_hi**n_mp
            for k in range(count):
                f_lo = upper - (k + 1) * a
                if f_lo < 0:  # only the exact-zero bottom can reach here through rounding at dps
                    f_lo = mp.mpf(0)
                pow_lo = f_lo**n_mp if f_lo > 0 else mp.mpf(0)
                pin = pow_hi - pow_lo
                if pin > 0:
                    result += pin * (mp.log(pin) - log_a)
                count_left -= 1
                # everything below carries best-of-n mass pow_lo: bound its terms together
                if pow_lo > 0 and result > 0:
                    bound = pow_lo * (mp.log(count_left + 1) + abs(mp.log(pow_lo)) + max_log_p)
                    if bound < threshold * result:
                        return result
                elif pow_lo == 0:
                    return result
                pow_hi = pow_lo
            upper = block_bottom
        return result


# ---------------------------------------------------------------- models


def dirichlet(rng, size, alpha):
    """Symmetric Dirichlet in log space (no zeros), floored at 1e-300, normalised in float."""
    log_g = np.log(rng.gamma(alpha + 1.0, size=size)) + np.log(rng.random(size)) / alpha
    p = np.maximum(np.exp(log_g - log_g.max()), 1e-300)
    return p / p.sum()


def hard_cases(quick):
    """``(category, description, p or None, blocks or None, n values)`` for the accuracy table.

    Every model has its own seed, so ``--quick`` sees the same models (fewer of them).
    """
    seeds = iter(range(1000))

    def rng():
        return np.random.default_rng([20250101, next(seeds)])

    cases = []
    regular_n = [1.001, 1.5, 2, 3.7, 10, 100, 1e3, 1e4, 1e5, 1e6]
    for size, alpha in [(2, 1.0), (3, 0.1), (7, 5.0), (20, 0.05), (50, 1.0), (200, 0.5)]:
        cases.append(("small Dirichlet", f"L={size} alpha={alpha}", dirichlet(rng(), size, alpha), None, regular_n))
    cases.append(("small Dirichlet", "L=2 (0.5, 0.5), Example 1", np.array([0.5, 0.5]), None, regular_n))
    near_one = [1 + 1e-12, 1 + 1e-9, 1 + 1e-6, 1 + 1e-4, 1.01]
    for size, alpha in [(2, 1.0), (10, 1.0), (50, 0.2)]:
        cases.append(("n near 1", f"L={size} alpha={alpha}", dirichlet(rng(), size, alpha), None, near_one))
    huge_n = [1e6, 1e7, 1e9, 1e12]
    for top in [1e-6, 1e-9, 1e-12]:
        p = dirichlet(rng(), 30, 1.0) * (1 - 3 * top)
        p = np.concatenate((p, [top, top, top]))  # three small masses at the top: n*top ~ 1 matters
        cases.append(("huge n", f"L=33, top masses {top:g}", p / p.sum(), None, huge_n))
    tiny_n = [1.5, 10, 1e3, 1e6]
    generator = rng()
    p = dirichlet(generator, 20, 1.0)
    p[generator.random(20) < 0.5] = 1e-300
    cases.append(("tiny masses", "L=20, half the masses 1e-300", p / p.sum(), None, tiny_n))
    p = np.concatenate((dirichlet(rng(), 10, 1.0), [1e-300]))
    cases.append(("tiny masses", "L=11, top mass 1e-300", p / p.sum(), None, tiny_n))
    p = np.concatenate(([1e-300, 1e-250, 1e-200], dirichlet(rng(), 5, 1.0), [1e-150, 1e-100, 1e-50, 1e-20]))
    cases.append(("tiny masses", "L=12, 1e-300..1e-20 at both ends", p / p.sum(), None, tiny_n + [1e12]))
    for _ in range(2):
        p = 10.0 ** -rng().uniform(0, 300, 15)
        cases.append(
            ("tiny masses", f"L=15, log-uniform 1e-300..1, top={p[-1] / p.sum():.2g}", p / p.sum(), None, tiny_n)
        )
    p = np.concatenate((10.0 ** -np.linspace(300, 20, 14), [1.0]))
    cases.append(("tiny masses", "L=15, 1e-300..1e-20 below a top of mass ~1", p / p.sum(), None, tiny_n))
    # repeated masses (mpmath forms the CDF by multiplication inside a block)
    rep_n = [2, 10, 1e3, 1e4, 1e6] if quick else [2, 10, 100, 1e3, 1e4, 1e5, 1e6]
    size = 2_000 if quick else 10_000
    cases.append(("repeated masses", f"uniform L={size}", None, [(size, 1.0 / size)], rep_n))
    blocks = [(size // 2, 1e-3 / (size // 2)), (size // 4, 0.5 / (size // 4)), (size // 4, (1 - 0.501) / (size // 4))]
    cases.append(("repeated masses", f"3 blocks, L={size}", None, blocks, rep_n))
    big = 10**5 if quick else 10**6
    cases.append(("repeated masses", f"uniform L={big} (large n)", None, [(big, 1.0 / big)], [1e5, 1e6, 1e7]))
    return cases


def expand(blocks):
    return np.concatenate([np.full(c, m) for c, m in blocks])


# ---------------------------------------------------------------- main


def bench_speed(quick):
    print("== Speed: 30 values of n log-spaced in [1, 1e6], Dirichlet(1) masses ==")
    ns = np.geomspace(1, 1e6, 30)
    rng = np.random.default_rng(1)
    print(f"{'outcomes':>10} {'bonkl.kl_exact s':>17} {'naive s':>9} {'naive/bonkl':>12} {'max rel diff':>13}")
    for size in [10**6] + ([] if quick else [10**7]):
        p = rng.dirichlet(np.ones(size))
        repeats = 3 if size <= 10**6 else 1
        t_fast, t_naive = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fast = bonkl.kl_exact(p, ns)
            t1 = time.perf_counter()
            slow = kl_naive(p, ns)
            t2 = time.perf_counter()
            t_fast.append(t1 - t0)
            t_naive.append(t2 - t1)
        rel = np.max(np.abs(fast[1:] - slow[1:]) / np.abs(fast[1:]))
        print(f"{size:>10} {min(t_fast):>17.3f} {min(t_naive):>9.3f} {min(t_naive) / min(t_fast):>12.1f} {rel:>13.2e}")
    print()


def bench_accuracy(quick):
    print("== Accuracy against mpmath (50 significant digits beyond the cancellations) ==")
    rows = []
    started = time.perf_counter()
    for category, description, p, blocks, ns in hard_cases(quick):
        masses = expand(blocks) if blocks is not None else p
        masses = masses / masses.sum() if blocks is not None else masses
        ns = np.asarray(ns, dtype=np.float64)
        fast = np.atleast_1d(bonkl.kl_exact(masses, ns))
        slow = kl_naive(masses, ns)
        for i, n in enumerate(ns):
            if blocks is not None:
                # the reference sees the float masses the implementations see (equal within a block)
                starts = np.cumsum([0] + [c for c, _ in blocks[:-1]])
                ref = kl_reference(None, float(n), blocks=[(c, masses[s]) for s, (c, _) in zip(starts, blocks)])
            else:
                ref = kl_reference(masses, float(n))
            ref_f = float(ref)
            err_fast = abs(fast[i] - ref) / ref if ref > 0 else mp.mpf(abs(fast[i]))
            err_slow = abs(slow[i] - ref) / ref if ref > 0 else mp.mpf(abs(slow[i]))
            rows.append(
                (
                    category,
                    description,
                    n,
                    ref_f,
                    float(err_fast),
                    float(err_slow),
                    float(abs(fast[i] - ref)),
                    float(abs(slow[i] - ref)),
                )
            )
    elapsed = time.perf_counter() - started
    print(f"{'category':<16} {'model':<34} {'n':>16} {'KL (mpmath)':>12} {'bonkl rel err':>14} {'naive rel err':>14}")
    for row in rows:
        print(f"{row[0]:<16} {row[1]:<34} {row[2]:>16.13g} {row[3]:>12.5g} {row[4]:>14.2e} {row[5]:>14.2e}")
    print()
    print("Largest errors per category (relative, and absolute in nats):")
    print(f"{'category':<16} {'cases':>6} {'bonkl rel':>10} {'naive rel':>10} {'bonkl abs':>10} {'naive abs':>10}")
    categories = list(dict.fromkeys(r[0] for r in rows))
    for category in categories + ["all"]:
        sel = [r for r in rows if category in ("all", r[0])]
        worst = [max(r[k] for r in sel) for k in (4, 5, 6, 7)]
        print(f"{category:<16} {len(sel):>6} " + " ".join(f"{w:>10.2e}" for w in worst))
    sel = [r for r in rows if r[3] > 1e-8]
    worst = [max(r[k] for r in sel) for k in (4, 5, 6, 7)]
    print(f"{'all, KL > 1e-8':<16} {len(sel):>6} " + " ".join(f"{w:>10.2e}" for w in worst))
    print("Both implementations sum pi_n log(pi_n/p), whose terms are of order (n-1) and cancel to a KL of")
    print("order (n-1)^2 (or to a tiny KL when one mass is near 1): there they resolve the KL only to about")
    print("1e-16 nats, so relative errors are about 1e-16/KL and the absolute errors are the ones to read.")
    print(f"(mpmath reference: {elapsed:.1f} s)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10^6 outcomes only, smaller repeated-mass models")
    args = parser.parse_args(argv)
    print(f"numpy {np.__version__}, mpmath {mp.__version__}, bonkl {bonkl.__version__}\n")
    bench_speed(args.quick)
    bench_accuracy(args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of verify.numerics.quadrature.attention_quadrature against the naive way (mpmath.quad of the definition).

    python bench/bench_quadrature.py               # d = 1, 2, 3 (ours) and d = 1 (naive)
    python bench/bench_quadrature.py --naive-2d    # also the nested 2-d mpmath.quad (minutes)

Parameters are the "random moderate" ones of the performance target: K, Q, V entries ~ N(0, 0.5^2),
Gamma = A A^T / d + 0.5 I with A ~ N(0, 1), m, z ~ N(0, 1).  Cold = first call (Hermite nodes computed);
warm = median of 5 further calls (nodes cached).  Not part of the test run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from mpmath import mp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from verify.numerics.quadrature import attention_quadrature, hermite_rule  # noqa: E402

DPS = 40
NAIVE_DPS = 30


def random_params(d, seed):
    rng = np.random.default_rng(seed)
    K, Q, V = (rng.normal(0.0, 0.5, (d, d)) for _ in range(3))
    A = rng.normal(size=(d, d))
    return K, Q, V, rng.normal(size=d), A @ A.T / d + 0.5 * np.eye(d), rng.normal(size=d)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def naive_attention(K, Q, V, m, cov, z, dps):
    """T[mu](z) by mpmath.quad of numerator and denominator integrals over R^d (d = 1 or 2), from the definition."""
    d = len(m)
    with mp.workdps(dps):
        K, Q, V, cov = (mp.matrix(M.tolist()) for M in (K, Q, V, cov))
        m, z = mp.matrix(list(m)), mp.matrix(list(z))
        prec = cov ** -1
        norm = 1 / mp.sqrt((2 * mp.pi) ** d * mp.det(cov))
        qz = Q * z

        def weight(x):
            dx = x - m
            score = (K * x).T * qz
            return mp.exp(score[0] - (dx.T * prec * dx)[0] / 2) * norm

        if d == 1:
            line = [-mp.inf, m[0], mp.inf]
            den = mp.quad(lambda t: weight(mp.matrix([t])), line)
            mom = [mp.quad(lambda t: weight(mp.matrix([t])) * t, line)]
        else:
            lines = ([-mp.inf, m[0], mp.inf], [-mp.inf, m[1], mp.inf])
            den = mp.quad(lambda s, t: weight(mp.matrix([s, t])), *lines)
            mom = [mp.quad(lambda s, t, k=k: weight(mp.matrix([s, t])) * (s, t)[k], *lines) for k in range(2)]
        num = V * mp.matrix(mom)
        return [num[r] / den for r in range(d)]


def digits(a, b):
    with mp.workdps(60):
        return min(float(-mp.log10(abs(x - y) / abs(y))) if x != y else 60.0 for x, y in zip(a, b))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naive-2d", action="store_true", help="also run the nested 2-d mpmath.quad (~200 s)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    print(f"attention_quadrature at dps={DPS}  (naive: mpmath.quad at dps={NAIVE_DPS})")
    print(f"{'d':>2} {'cold [s]':>10} {'warm median [s]':>16} {'naive [s]':>10} {'naive/ours':>11} {'digits':>7}")
    for d in (1, 2, 3):
        params = random_params(d, args.seed + d)
        hermite_rule.cache_clear()
        ours, cold = timed(lambda: attention_quadrature(*params, dps=DPS))
        warm = statistics.median(timed(lambda: attention_quadrature(*params, dps=DPS))[1] for _ in range(5))
        naive_t = ratio = agree = "-"
        if d == 1 or (d == 2 and args.naive_2d):
            runs = [timed(lambda: naive_attention(*params, dps=NAIVE_DPS)) for _ in range(3 if d == 1 else 1)]
            naive, naive_s = runs[0][0], statistics.median(t for _, t in runs)
            naive_t, ratio, agree = f"{naive_s:.3g}", f"{naive_s / warm:.3g}", f"{digits(ours, naive):.1f}"
        print(f"{d:>2} {cold:>10.4f} {warm:>16.5f} {naive_t:>10} {ratio:>11} {agree:>7}")
    if not args.naive_2d:
        print("naive d=2 skipped: nested mpmath.quad of three 2-d integrals took 198 s here; run with --naive-2d")
    print("digits = agreeing significant digits of ours vs naive (bounded by the naive dps)")


if __name__ == "__main__":
    main()

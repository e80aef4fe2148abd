r"""Benchmark of the in-context-regression Monte Carlo engine (verify.icl.risk) against the naive way.

Run:  python bench/bench_icl_mc.py            (about a minute; not part of the test run)

1. Throughput for R_L (float64, d = 5, L = 1000): tokens per second of ``verify.icl.risk.icl_risk_mc`` versus
   :func:`naive_icl_risk_mc`, a straightforward vectorised numpy implementation of the definition
   (x = G C^T, y = x w + s eps, z = (x, y), scores = z U(x_q, 0), stable softmax, prediction = softmax . (z v)).
   Median of >= 5 repeats each, interleaved in one process.  Requirement: ratio >= 2.
2. Variance of the paired gap estimator ``icl_risk_gap_mc`` versus the difference of independent estimates
   R_L (``icl_risk_mc``) - R_\infty (``icl_risk_infinite_mc``) on the same number of prompts.  Requirement:
   stderr ratio independent / paired >= 10.
3. The rate of R_L - R_\infty in L (L = 10, 100, 1000, 10000), fitted by ``fit_rate``.

Point: \Sigma Toeplitz(0.5), d = 5, (U, V) = (0.7 U_\star, V_\star) (Bayes point with U scaled by 0.7), noise 0.

``naive_icl_risk_mc`` is also imported by tests/test_icl.py as the independent cross-check of the fast engine.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

if __name__ == "__main__":  # allow `python bench/bench_icl_mc.py` from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from verify.icl.risk import (  # noqa: E402
    bayes_point,
    icl_risk_gap_mc,
    icl_risk_infinite,
    icl_risk_infinite_mc,
    icl_risk_mc,
    toeplitz_sigma,
)
from verify.numerics.montecarlo import Estimate, fit_rate, mean_estimate  # noqa: E402


def naive_icl_risk_mc(U, V, Sigma, L, n_prompts, seed, noise=0.0, chunk_prompts=64) -> Estimate:
    r"""Straightforward Monte Carlo of R_L: sample every token coordinate and apply softmax attention.

    Per prompt: w ~ N(0, I), x_q ~ N(0, \Sigma), y_q = w.x_q + s eps_q; x_l = G_l C^T (C = chol \Sigma),
    y_l = x_l.w + s eps_l, z_l = (x_l, y_l); scores z_l . U(x_q, 0); p_L = softmax(scores) . (z_l . V[d]);
    sample 1/2 (p_L - y_q)^2.
    """
    U, V, Sigma = (np.asarray(a, dtype=float) for a in (U, V, Sigma))
    d = Sigma.shape[0]
    C = np.linalg.cholesky(Sigma)
    rng = np.random.default_rng(seed)
    v = V[d]
    losses = np.empty(n_prompts)
    for start in range(0, n_prompts, chunk_prompts):
        m = min(chunk_prompts, n_prompts - start)
        w = rng.standard_normal((m, d))
        xq = rng.standard_normal((m, d)) @ C.T
        yq = np.einsum("ni,ni->n", w, xq) + noise * rng.standard_normal(m)
        x = rng.standard_normal((m, L, d)) @ C.T
        y = np.einsum("nld,nd->nl", x, w)
        if noise:
            y += noise * rng.standard_normal((m, L))
        z = np.concatenate([x, y[:, :, None]], axis=2)  # (m, L, d+1)
        h = xq @ U[:, :d].T  # U (x_q, 0)
        scores = np.einsum("nlk,nk->nl", z, h)
        scores -= scores.max(axis=1, keepdims=True)
        wts = np.exp(scores)
        wts /= wts.sum(axis=1, keepdims=True)
        values = z @ v
        p = np.einsum("nl,nl->n", wts, values)
        losses[start : start + m] = 0.5 * (p - yq) ** 2
    return mean_estimate(losses)


def _timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def main() -> None:
    d, L = 5, 1000
    Sigma = toeplitz_sigma(d, 0.5)
    Ub, Vb = bayes_point(Sigma)
    U, V = 0.7 * Ub, Vb
    r_inf = icl_risk_infinite(U, V, Sigma)
    print(f"point: d={d}, Sigma Toeplitz(0.5), (U, V) = (0.7 U*, V*), noise 0;  R_inf (closed form) = {r_inf:.6g}")

    # ------------------------------------------------------------------ 1. throughput
    n_fast, n_naive, repeats = 20000, 2000, 7
    icl_risk_mc(U, V, Sigma, L, 512, seed=99)  # warm-up
    naive_icl_risk_mc(U, V, Sigma, L, 128, seed=99)
    t_fast, t_naive = [], []
    for r in range(repeats):
        fast, t = _timed(icl_risk_mc, U, V, Sigma, L, n_fast, seed=r)
        t_fast.append(n_fast * L / t)
        naive, t = _timed(naive_icl_risk_mc, U, V, Sigma, L, n_naive, seed=1000 + r)
        t_naive.append(n_naive * L / t)
    tf, tn = statistics.median(t_fast), statistics.median(t_naive)
    print("\n[1] R_L Monte Carlo throughput, float64, d=5, L=1000 (median of %d repeats)" % repeats)
    print(f"    ours  : {tf / 1e6:8.2f} M tokens/s   (last run R_L = {fast})")
    print(f"    naive : {tn / 1e6:8.2f} M tokens/s   (last run R_L = {naive})")
    print(f"    ratio : {tf / tn:8.2f} x   (requirement >= 2)")
    z = (fast.mean - naive.mean) / math.hypot(fast.stderr, naive.stderr)
    print(f"    agreement ours vs naive: z = {z:+.2f}")
    # per-prompt standard deviations (Rao-Blackwellisation also lowers the variance)
    sd_fast, sd_naive = fast.stderr * math.sqrt(fast.n), naive.stderr * math.sqrt(naive.n)
    print(f"    per-prompt sd: ours {sd_fast:.4g}, naive {sd_naive:.4g}  "
          f"-> work-normalised speed-up {tf / tn * (sd_naive / sd_fast) ** 2:.1f} x")

    # ------------------------------------------------------------------ 2. paired vs independent
    n = 20000
    paired, tp = _timed(icl_risk_gap_mc, U, V, Sigma, L, n, seed=11)
    paired_nocv, _ = _timed(icl_risk_gap_mc, U, V, Sigma, L, n, seed=11, control_variate=False)
    rl, t1 = _timed(icl_risk_mc, U, V, Sigma, L, n, seed=12)
    ri, t2 = _timed(icl_risk_infinite_mc, U, V, Sigma, n, seed=13)
    indep = rl - ri
    print(f"\n[2] R_L - R_inf at L={L}, {n} prompts each (equal cost: paired {tp:.2f} s, independent {t1 + t2:.2f} s)")
    print(f"    paired (control variate) : {paired}")
    print(f"    paired (no control var.) : {paired_nocv}")
    print(f"    independent difference   : {indep}   (R_L {rl}, R_inf {ri})")
    print(f"    reference R_L(MC) - R_inf(closed form): {rl.mean - r_inf:.4g} +- {rl.stderr:.2g}")
    print(f"    stderr ratio independent / paired     : {indep.stderr / paired.stderr:8.1f}  (requirement >= 10)")
    print(f"    stderr ratio independent / paired noCV: {indep.stderr / paired_nocv.stderr:8.1f}")
    print(f"    stderr ratio R_L alone / paired (R_inf free): {rl.stderr / paired.stderr:8.1f}")

    # ------------------------------------------------------------------ 3. rate in L
    Ls = [10, 100, 1000, 10000]
    budget = {10: 400_000, 100: 200_000, 1000: 40_000, 10000: 8_000}
    gaps = []
    print("\n[3] rate of R_L - R_inf (paired, control variate)")
    for Lk in Ls:
        g, t = _timed(icl_risk_gap_mc, U, V, Sigma, Lk, budget[Lk], seed=100 + Lk)
        gaps.append(g)
        print(f"    L={Lk:6d}: {g}   L*gap = {Lk * g.mean:.4g}   ({t:.1f} s)")
    fit = fit_rate(Ls, gaps)
    print(f"    fit L=10..10000 : {fit}")
    tail = fit_rate(Ls[1:], gaps[1:])
    print(f"    fit L=100..10000: {tail}")
    for (La, ga), (Lb, gb) in zip(zip(Ls, gaps), zip(Ls[1:], gaps[1:])):
        slope = math.log(gb.mean / ga.mean) / math.log(Lb / La)
        se = math.hypot(ga.stderr / ga.mean, gb.stderr / gb.mean) / math.log(Lb / La)
        print(f"    local slope {La}->{Lb}: {slope:+.4f} +- {se:.2g}")


if __name__ == "__main__":
    main()

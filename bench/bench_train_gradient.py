r"""Benchmark of the finite-L batch risk and its analytic gradient (verify.icl.training_finite) against the naive way.

Run:  python bench/bench_train_gradient.py            (about half a minute; not part of the test run)

Value and gradient in (U, V) of  R = 1/(2B) \sum_b (p_L - y_q)^2  (softmax attention) on one batch of B = 64 prompts,
d = 5, L = 1000, \Sigma Toeplitz(0.5), label noise 0.3, (U, V) = (0.7 U_\star, V_\star) plus N(0, 0.05^2) entries (off the
invariant subspace).  :func:`naive_risk_and_grad` is a straightforward numpy implementation: a loop over prompts,
tokens stacked z_l = (x_l, y_l), stable softmax, and the explicit L x L softmax Jacobian
J = diag(\pi) - \pi\pi^T  (dp/ds = J v, dR/dU = \sum_b e_b Z_b^T (J v) q^T, dR/dV = e_{d+1} \sum_b e_b (Z_b^T \pi)^T).
Both run side by side in one process, interleaved, median of 7 repeats each.  Requirements (asserted):
ratio >= 3 and the same numbers to 1e-12 (max |difference| / max |entry|, risk and both gradients).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

if __name__ == "__main__":  # allow `python bench/bench_train_gradient.py` from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from verify.icl.risk import bayes_point, toeplitz_sigma  # noqa: E402
from verify.icl.prompts import sample_prompts  # noqa: E402
from verify.icl.training_finite import softmax_risk_and_grad  # noqa: E402


def naive_risk_and_grad(U, V, X, Y, Xq, Yq):
    """Per-prompt loop with the explicit softmax Jacobian (the straightforward way)."""
    B, L, d = X.shape
    risk, dU, dV = 0.0, np.zeros((d + 1, d + 1)), np.zeros((d + 1, d + 1))
    for b in range(B):
        Z = np.column_stack([X[b], Y[b]])  # (L, d+1)
        q = np.append(Xq[b], 0.0)
        s = Z @ U @ q
        pi = np.exp(s - s.max())
        pi /= pi.sum()
        v = Z @ V[d]
        p = pi @ v
        e = (p - Yq[b]) / B
        risk += 0.5 * (p - Yq[b]) ** 2 / B
        J = np.diag(pi) - np.outer(pi, pi)
        dU += e * np.outer(Z.T @ (J @ v), q)
        dV[d] += e * (Z.T @ pi)
    return risk, dU, dV


def _median_time(fn, args, repeats):
    out, times = None, []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(repeats: int = 7) -> dict:
    d, L, B = 5, 1000, 64
    S = toeplitz_sigma(d, 0.5)
    rng = np.random.default_rng(2026)
    batch = sample_prompts(S, L, B, rng, noise=0.3)
    Us, Vs = bayes_point(S)
    U = 0.7 * Us + 0.05 * rng.standard_normal(Us.shape)
    V = Vs + 0.05 * rng.standard_normal(Vs.shape)
    fast_t, naive_t = [], []
    for _ in range(repeats):  # interleaved, so that machine load hits both alike
        t, fast = _median_time(softmax_risk_and_grad, (U, V, *batch), 1)
        fast_t.append(t)
        t, naive = _median_time(naive_risk_and_grad, (U, V, *batch), 1)
        naive_t.append(t)
    tf, tn = statistics.median(fast_t), statistics.median(naive_t)
    diff = max(abs(fast[0] - naive[0]) / abs(naive[0]),
               float(np.abs(fast[1] - naive[1]).max() / np.abs(naive[1]).max()),
               float(np.abs(fast[2] - naive[2]).max() / np.abs(naive[2]).max()))
    ratio = tn / tf
    print(f"R_L value + gradient, d={d}, L={L}, B={B}: training_finite {tf * 1e3:.2f} ms, naive (loop + L x L Jacobian) "
          f"{tn * 1e3:.1f} ms (medians of {repeats}): {ratio:.1f}x faster; max relative difference {diff:.1e}")
    assert ratio >= 3.0, f"speed-up {ratio:.2f} < 3"
    assert diff <= 1e-12, f"relative difference {diff:.2e} > 1e-12"
    return {"fast_ms": tf * 1e3, "naive_ms": tn * 1e3, "ratio": ratio, "max_rel_diff": diff}


if __name__ == "__main__":
    main()

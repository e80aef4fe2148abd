"""Bench: one step of the particle simulation (softmax attention of every particle on the empirical measure of all
N particles), N = 1e5, d = 2: the chunked path (verify.gaussian.dynamics.attention_field) against a straightforward numpy
implementation (one query at a time: scores, log-sum-exp weights, weighted mean), side by side.

The N x N work is the same for every query, so both paths are timed on the first ``--queries`` queries against all
N keys (medians over ``--repeats``) and scaled by N / queries to one full step; the results of the two paths are
asserted equal.  Peak memory of the chunked path (tracemalloc, numpy allocations are traced) is asserted below
8 x DEFAULT_CHUNK_FLOATS x 8 bytes plus the O(N) arrays, i.e. bounded independently of N^2 (the all-at-once score
matrix would be N^2 x 8 bytes = 80 GB at N = 1e5).

    python bench/bench_particles.py [--n 100000] [--queries 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc

import numpy as np

from verify.gaussian.dynamics import DEFAULT_CHUNK_FLOATS, attention_field


def naive_field(X, Q_idx, K, Q, V):
    """Straightforward numpy: for each query i, scores of all N keys, softmax, weighted mean of V x_j."""
    A = K.T @ Q
    out = np.empty((len(Q_idx), X.shape[1]))
    for k, i in enumerate(Q_idx):
        s = X @ (A @ X[i])
        w = np.exp(s - s.max())
        out[k] = V @ (X.T @ w) / w.sum()
    return out


def chunked_queries(X, q, K, Q, V, chunk=None):
    """The chunked field restricted to the first q queries (same code path as attention_field: keys = all N)."""
    A = K.T @ Q
    N = X.shape[0]
    chunk = chunk or max(1, DEFAULT_CHUNK_FLOATS // N)
    VX = X @ V.T
    out = np.empty((q, X.shape[1]))
    for lo in range(0, q, chunk):
        s = (X[lo:min(q, lo + chunk)] @ A.T) @ X.T
        s -= s.max(axis=1, keepdims=True)
        np.exp(s, out=s)
        out[lo:lo + chunk] = (s @ VX) / s.sum(axis=1, keepdims=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    N, q = args.n, min(args.queries, args.n)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, 2)) @ np.array([[1.0, 0.0], [0.3, 0.7]]).T
    K, Q, V = np.eye(2), np.array([[0.3, 0.9], [-0.7, 0.2]]), np.array([[0.9, 0.3], [-0.5, 0.8]])
    # the chunked kernel used here is attention_field's: check on a small instance that they agree bit for bit
    small = X[:500]
    assert np.array_equal(chunked_queries(small, 500, K, Q, V, chunk=64), attention_field(small, K, Q, V, chunk=64))
    t_naive, t_chunk = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter(); a = naive_field(X, range(q), K, Q, V); t_naive.append(time.perf_counter() - t0)
        t0 = time.perf_counter(); b = chunked_queries(X, q, K, Q, V); t_chunk.append(time.perf_counter() - t0)
    assert np.allclose(a, b, rtol=1e-10, atol=1e-12), float(np.abs(a - b).max())
    scale = N / q
    mn, mc = statistics.median(t_naive) * scale, statistics.median(t_chunk) * scale
    tracemalloc.start()
    chunked_queries(X, min(q, 4 * max(1, DEFAULT_CHUNK_FLOATS // N)), K, Q, V)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    bound = 8 * DEFAULT_CHUNK_FLOATS * 8 + 16 * N * 8
    print(f"one step, N={N}, d=2 (timed on {q} queries x {args.repeats} repeats, scaled x{scale:g}):")
    print(f"  straightforward numpy (per query): {mn:9.2f} s")
    print(f"  chunked (verify.gaussian.dynamics)        : {mc:9.2f} s   ratio {mn / mc:.2f}x")
    print(f"  chunked peak memory (tracemalloc): {peak / 2**20:.1f} MB (bound {bound / 2**20:.0f} MB; "
          f"the N x N score matrix would be {N * N * 8 / 2**30:.1f} GB)")
    assert peak <= bound, (peak, bound)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

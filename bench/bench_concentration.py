r"""Benchmark of the concentration engine (verify.concentration.montecarlo: Props 3.1 / 3.4 of arXiv 2512.11784).

Run:  python bench/bench_concentration.py [--quick]     (a few minutes on a busy 2-core machine; not a test)

1. Monte Carlo throughput of E || T[\hat\mu_L] - T[\mu] ||^2_{L^2(\nu)} (\mu = N(0, I_2), U = V = I, d = 2):
   prompt tokens per second of the streamed engine ``concentration_error`` (prompts vectorised per block, tokens
   in chunks with a running log-sum-exp; ``queries`` = 1 and 8 queries per prompt) against
   ``naive_concentration_error``, the straightforward numpy way (per query: materialise its L tokens, softmax,
   error; a Python loop over queries).  Also weight evaluations (token x query pairs) per second.  Median of the
   repeats, interleaved in one process; wall (perf_counter) and CPU (process_time) seconds.
2. One exact Gaussian curve (d = 1, sigma = u = v = 1, L = 10^2 .. 10^12, 11 values) by
   ``concentration_error_gaussian``: median wall and CPU seconds (requirement <= 60 s), and its method error
   (relative difference to the refined quadrature).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

if __name__ == "__main__":  # allow `python bench/bench_concentration.py` from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from verify.concentration.montecarlo import (  # noqa: E402
    concentration_error,
    concentration_error_gaussian,
    gaussian_method_error,
    naive_concentration_error,
)
from verify.numerics.measures import isotropic_gaussian  # noqa: E402


def _timed(fn, *args, **kw):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args, **kw)
    return out, time.perf_counter() - w0, time.process_time() - c0


def throughput(L: int, n_prompts: int, repeats: int) -> dict:
    mu = isotropic_gaussian(1.0, 2)
    I2 = np.eye(2)
    runs = {"naive": [], "engine q=1": [], "engine q=8": []}
    for r in range(repeats):
        runs["naive"].append(_timed(naive_concentration_error, mu, I2, I2, L, n_prompts, r)[1:])
        runs["engine q=1"].append(_timed(concentration_error, mu, I2, I2, L, n_prompts, r)[1:])
        runs["engine q=8"].append(_timed(concentration_error, mu, I2, I2, L, n_prompts, r, queries=8)[1:])
    out = {}
    for name, ts in runs.items():
        wall = statistics.median(t[0] for t in ts)
        cpu = statistics.median(t[1] for t in ts)
        q = 8 if name.endswith("q=8") else 1
        out[name] = {"wall": wall, "cpu": cpu, "tokens_per_s": n_prompts * L / wall,
                     "weights_per_s": n_prompts * L * q / wall}
    return out


def exact_curve(repeats: int) -> dict:
    Ls = [10**k for k in range(2, 13)]
    walls, cpus = [], []
    for _ in range(repeats):
        curve, wall, cpu = _timed(concentration_error_gaussian, 1.0, [[1.0]], [[1.0]], Ls)
        walls.append(wall)
        cpus.append(cpu)
    err = gaussian_method_error(1.0, [[1.0]], [[1.0]], Ls)
    return {"wall": statistics.median(walls), "cpu": statistics.median(cpus), "curve": curve, "method_error": err}


def main(argv=None) -> int:
    quick = "--quick" in (argv if argv is not None else sys.argv[1:])
    repeats = 3 if quick else 5
    print("1. Monte Carlo throughput (d = 2, N(0, I), U = V = I); medians of", repeats, "repeats")
    for L, n in ((1000, 400), (100000, 40)) if quick else ((1000, 2000), (100000, 200)):
        res = throughput(L, n, repeats)
        base = res["naive"]["tokens_per_s"]
        for name, r in res.items():
            print(f"   L={L:>6} n={n:>5} {name:<11} wall {r['wall']:7.3f} s  cpu {r['cpu']:7.3f} s  "
                  f"{r['tokens_per_s']:.3g} tokens/s  {r['weights_per_s']:.3g} weights/s  "
                  f"(x{r['tokens_per_s'] / base:.2f} tokens/s vs naive)")
    print("2. exact Gaussian curve, d = 1, L = 1e2..1e12 (11 values)")
    ex = exact_curve(1 if quick else 3)
    print(f"   wall {ex['wall']:.2f} s  cpu {ex['cpu']:.2f} s (requirement <= 60 s); max method error "
          f"{np.max(ex['method_error']):.2g}")
    print("   E(L):", " ".join(f"{v:.4g}" for v in ex["curve"]))
    return 0 if ex["wall"] <= 60.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Scale figures of the sweep engine: throughput against the number of Dask workers, the overhead of
the distributed path on a small sweep, and the projected cost of the audit's Monte Carlo grid at L = 10^7, d = 8.

    python bench/bench_sweep.py            # ~1-2 min on 2 shared cores
    python bench/bench_sweep.py --repeats 5

1. Throughput: 8 audit Monte Carlo cells (d = 8, L = 10^4, 200 prompts x 4 queries each, ~1 s) in-process, on a
   LocalCluster of 1 worker and of 2 workers (cluster started once, warmed by one cell per worker, then timed);
   median cells/s over the repeats and the speed-up over in-process.
2. Overhead: 24 trivial cells (~1 ms) in-process, on a cold LocalCluster(2) (start-up included) and on the warm one.
3. Projection: seconds per prompt (4 queries) of one d = 8 Monte Carlo cell at L = 10^3, 10^4, 10^5, 3 x 10^5
   (median), and the cost of the audit grid's Monte Carlo part at d = 8 with L = 10 ... 10^7 (3 measures x 7
   (sigma, case) x 7 L; prompts per L as the default grid, 100 for L >= 10^5).  Assumption: above L = 3 x 10^5 the
   cost per prompt is linear in L (tokens are drawn in chunks of ~10^6 floats, so the working set stops growing);
   the local power of L between 10^5 and 3 x 10^5 is printed, and the total with it as a pessimistic bound.  The
   2-worker figure is the ideal halving on idle cores (the measured speed-up of part 1 is printed beside it).
   In-process numpy may use both cores through BLAS threads; Dask workers run one thread each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from verify.studies import audit  # noqa: E402
from verify.concentration.montecarlo import concentration_error  # noqa: E402
from verify.numerics.measures import isotropic_gaussian  # noqa: E402
from verify.sweep import Backend, Cell, cell_seed, run_sweep  # noqa: E402

G = {"mc_prompts": {10**4: 200}}


def mc_cells(n: int, seed: int = 0) -> list[Cell]:
    case = {"case": "U=V=I", "U": np.eye(8), "V": np.eye(8), "measure": "gaussian", "L": 10**4}
    sigmas = np.linspace(0.8, 2.0, n)
    return [Cell(("bench", seed, float(s)), audit._run_task, (("mc", 8, float(s), case), G, seed)) for s in sigmas]


def tiny(seed: int, k: int) -> float:
    return float(np.random.default_rng(cell_seed(seed, ("tiny", k))).standard_normal(1000).mean())


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def throughput(repeats: int) -> dict:
    from dask.distributed import LocalCluster

    cells = mc_cells(8)
    rows, ref = {}, None
    for name, n in (("in-process", 0), ("LocalCluster(1)", 1), ("LocalCluster(2)", 2)):
        cluster, start = None, 0.0
        if n:
            t0 = time.perf_counter()
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0")
            start = time.perf_counter() - t0
        with Backend(scheduler=cluster.scheduler_address) if n else Backend() as b:
            run_sweep(mc_cells(n or 1, seed=99), backend=b)  # warm-up: imports in every worker
            times = []
            for _ in range(repeats):
                dt, out = timed(lambda: run_sweep(cells, backend=b))
                times.append(dt)
                ref = ref or out
                assert out == ref, "a backend changed the bits"
        if cluster is not None:
            cluster.close()
        med = statistics.median(times)
        rows[name] = {"start": start, "seconds": med, "cells_per_s": len(cells) / med}
    base = rows["in-process"]["cells_per_s"]
    for r in rows.values():
        r["speedup"] = r["cells_per_s"] / base
    return rows


def overhead(repeats: int) -> dict:
    cells = [Cell(("tiny", k), tiny, (0, k)) for k in range(24)]
    inproc = statistics.median(timed(lambda: run_sweep(cells))[0] for _ in range(repeats))
    cold, ref = timed(lambda: run_sweep(cells, workers=2))
    with Backend(workers=2) as b:
        run_sweep(cells[:2], backend=b)
        warm = statistics.median(timed(lambda: run_sweep(cells, backend=b))[0] for _ in range(repeats))
    assert ref == run_sweep(cells)
    return {"cells": len(cells), "in-process": inproc, "cold LocalCluster(2)": cold, "warm LocalCluster(2)": warm,
            "per-cell overhead (warm)": (warm - inproc) / len(cells)}


def projection(repeats: int, speedup2: float) -> dict:
    d, Ls, top = 8, (10**3, 10**4, 10**5, 3 * 10**5), 3 * 10**5
    per_prompt = {}
    for L in Ls:
        n = 4 if L >= 10**5 else 8
        ts = [timed(lambda: concentration_error(isotropic_gaussian(1.0, d), np.eye(d), np.eye(d), L, n,
                                                cell_seed(0, ("proj", L, r)), queries=4, blocks=2))[0] / n
              for r in range(repeats)]
        per_prompt[L] = statistics.median(ts)
    slope = float(np.log(per_prompt[top] / per_prompt[10**5]) / np.log(top / 10**5))
    prompts = {10: 2000, 100: 2000, 1000: 800, 10**4: 200, 10**5: 100, 10**6: 100, 10**7: 100}

    def grid_seconds(power):  # L <= 10^3 costs at most the L = 10^3 prompt; above 3e5, per_prompt[top] (L/top)^power
        return 3 * 7 * sum(n * (per_prompt[min(max(L, 10**3), top)] if L <= top else per_prompt[top] * (L / top) ** power)
                           for L, n in prompts.items())

    return {"per_prompt": per_prompt, "slope": slope, "cells": 3 * 7 * len(prompts),
            "L=1e7 cell": prompts[10**7] * per_prompt[top] * (10**7 / top),
            "total_1": grid_seconds(1.0), "total_2": grid_seconds(1.0) / 2,
            "total_1_fitted": grid_seconds(max(slope, 1.0)), "speedup2": speedup2}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    t = throughput(args.repeats)
    print("1. throughput, 8 audit Monte Carlo cells (d=8, L=1e4, 200 prompts x 4 queries), median of "
          f"{args.repeats}:")
    print(f"   {'backend':<18}{'start-up s':>11}{'sweep s':>9}{'cells/s':>9}{'speed-up':>10}")
    for name, r in t.items():
        print(f"   {name:<18}{r['start']:>11.1f}{r['seconds']:>9.2f}{r['cells_per_s']:>9.2f}{r['speedup']:>10.2f}")
    o = overhead(args.repeats)
    print(f"2. overhead, {o['cells']} trivial cells: in-process {o['in-process']:.3f} s | cold LocalCluster(2) "
          f"{o['cold LocalCluster(2)']:.1f} s (start-up included) | warm {o['warm LocalCluster(2)']:.3f} s "
          f"| {1e3 * o['per-cell overhead (warm)']:.1f} ms per cell")
    p = projection(args.repeats, t["LocalCluster(2)"]["speedup"])
    pp = "  ".join(f"L={L:.0e}: {1e3 * s:.2f} ms" for L, s in p["per_prompt"].items())
    print(f"3. d=8 Monte Carlo, seconds per prompt (4 queries): {pp}; local power of L (1e5 -> 3e5) {p['slope']:.2f}")
    print(f"   audit Monte Carlo grid at d=8, L=10..1e7 ({p['cells']} cells), linear in L above 3e5 (chunked tokens): "
          f"one L=1e7 cell (100 prompts) {p['L=1e7 cell'] / 60:.0f} min; the grid {p['total_1'] / 3600:.1f} h on 1 "
          f"worker, {p['total_2'] / 3600:.1f} h on 2 idle cores (ideal 2x; measured here {p['speedup2']:.2f}x); "
          f"with the local power instead of 1: {p['total_1_fitted'] / 3600:.1f} h on 1")
    print(f"   load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine)")


if __name__ == "__main__":
    main()

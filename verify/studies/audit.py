r"""``verify audit``: Props 3.1/3.4 of arXiv 2512.11784 measured: error curves, local slopes, the paper's constants,
findings.  A study of :mod:`verify.studies` (``run``, ``ok``, ``summary``, ``write``).

The audit is a grid of independent cells.  A cell is one curve (an exact Gaussian curve over L, or one Monte Carlo
measurement at one L); the randomness of a Monte Carlo cell is ``SeedSequence(seed, spawn_key=(crc32(cell key),))``,
never the order in which cells run.

* **Measurements** of E(L) = E\|T[\hat\mu_L] - T[\mu]\|^2_{L^2(\nu)}, \nu = N(0, I_d):
  - ``method="exact"``: \mu = N(0, \sigma^2 I_d), :func:`verify.concentration.montecarlo.concentration_error_gaussian`
    (the exact reduction, no sampling), L = 10 ... 10^12; stderr = the method error (relative difference of the
    default and the refined quadrature, measured on a reference curve);
  - ``method="exact-far"``: the same reduction through :func:`verify.concentration.exponent.exact_error` (radial panels of
    2), L up to 10^60: the local slope's convergence to -\alpha.  Stated error 1e-2 relative (measured against the
    full radial rule: <= 8.3e-3 on sigma = 1, 2, 3 for L = 10^14 ... 10^60; local slopes differ by <= 5.2e-4);
  - ``method="montecarlo"``: :func:`verify.concentration.montecarlo.concentration_error` (batch means over 20 blocks, ESS and
    the top-1% share of the per-query errors), Gaussian, uniform-cube and Rademacher \mu, L = 10 ... 10^5;
  - ``statement="prop-3.1-linear"``: the same error for linear attention T_lin (exact closed form c/L and Monte
    Carlo), the contrast that shows where the \sigma-dependent rate comes from.
* **Fits**: local log-log slopes between consecutive L with 95% intervals (delta method; for exact curves the
  method error); ``kind="settled"`` where the last local slopes agree within 1/\ell (then the fitted exponent);
  ``pre_asymptotic`` when the slope the fit reports (the local slope, or the settled mean) is farther than 1/\ell
  from the sharp exponent -\alpha.
* **Paper form** c_1 \sigma^6 \ln L / L^{c_2/\sigma^2}: per curve the largest c_2 for which the ratio
  R(L) = E(L) L^{c_2/\sigma^2} / (\sigma^6 \ln L) does not grow at the largest measured L, and the smallest c_1 with
  E(L) <= c_1 \sigma^6 \ln L / L^{c_2/\sigma^2} at every measured L >= 2 (c_2 = the largest valid for all \sigma >= 1).
* **Findings**: list of {id, summary, evidence}.
* **Checks** (:func:`ok`): Monte Carlo agrees with the exact curve where its error bars hold (L <= ``MC_TRUSTED_L``),
  the exact linear-attention slopes are -1, every measurement is finite.
"""

from __future__ import annotations

import json
import math
import time
import zlib
from pathlib import Path
from statistics import NormalDist

import numpy as np

from verify.concentration.exponent import FAST_RADIAL, exact_error, sharp_exponent
from verify.concentration.montecarlo import (boundary_witness, concentration_error, concentration_error_gaussian,
                                             concentration_error_grad, concentration_error_linear,
                                             concentration_error_linear_gaussian, gaussian_method_error)
from verify.numerics.measures import Rademacher, UniformCube, isotropic_gaussian
from verify.studies.figures import legend_beside, output_dir, pyplot, save
from verify.sweep import Backend, Cell, run_sweep

__all__ = ["run", "ok", "summary", "write", "GRID", "local_fits", "paper_constants", "findings", "headlines",
           "run_audit", "write_report"]

Z95 = NormalDist().inv_cdf(0.975)
SIGMAS = (0.5, 1.0, 1.5, 2.0, 3.0)


def _rot(d: int, angle: float = 0.7) -> np.ndarray:
    """A fixed orthogonal matrix (rotations in the planes (0,1), (2,3), ...)."""
    R = np.eye(d)
    for k in range(0, d - 1, 2):
        c, s = math.cos(angle * (k + 1)), math.sin(angle * (k + 1))
        R[k:k + 2, k:k + 2] = [[c, -s], [s, c]]
    return R


def _cases(d: int, quick: bool) -> list[dict]:
    """(U, V) pairs per d: U = V = I, and a scaled orthogonal U (U U^T = u^2 I, so the exact method applies) with a
    non-identity V."""
    out = [{"case": "U=V=I", "U": np.eye(d), "V": np.eye(d)}]
    if not quick:
        V2 = np.diag(np.linspace(1.0, 0.5, d)) + (0.2 * np.eye(d, k=1) if d > 1 else 0)
        out.append({"case": "U=0.6R, V=diag", "U": 0.6 * _rot(d), "V": V2})
    return out


MC_TRUSTED_L = 1000
"""Largest L at which the audit compares Monte Carlo with the exact curve by |z| (see the montecarlo-vs-exact finding)."""

GRID = {
    "quick": {"exact": [(1, (0.5, 1.0, 2.0))], "exact_Ls": [10**k for k in (1, 2, 3, 4, 6, 8)],
              "far": (1.0,), "far_Ls": [10.0**k for k in (12, 20, 30)],
              "mc": [("gaussian", 1, (1.0,)), ("rademacher", 1, (1.0,))], "mc_Ls": (10, 100, 1000),
              "mc_prompts": {10: 400, 100: 400, 1000: 200}, "grad": (1.0,)},
    "default": {"exact": [(1, SIGMAS), (2, SIGMAS), (4, SIGMAS)], "exact_Ls": [10**k for k in range(1, 13)],
                "far": (0.5, 1.0, 1.5, 2.0, 3.0), "far_Ls": [10.0**k for k in (12, 15, 20, 25, 30, 40, 50, 60)],
                "mc": [("gaussian", 1, SIGMAS), ("cube", 1, SIGMAS), ("rademacher", 1, SIGMAS), ("gaussian", 2, (1.0, 2.0)),
                       ("gaussian", 4, (1.0,)), ("cube", 2, SIGMAS), ("rademacher", 2, SIGMAS), ("cube", 4, SIGMAS),
                       ("rademacher", 4, SIGMAS)],
                "mc_Ls": (10, 100, 1000, 10**4, 10**5),
                "mc_prompts": {10: 2000, 100: 2000, 1000: 800, 10**4: 200, 10**5: 100}, "grad": (1.0, 2.0)},
}


def _measure(name: str, sigma: float, d: int):
    if name == "gaussian":
        return isotropic_gaussian(sigma, d)
    if name == "cube":
        return UniformCube(d, sigma)
    if name == "rademacher":
        return Rademacher(d, sigma)
    raise ValueError(f"measure: unknown {name!r}")


def _cell_seed(seed: int, key: str) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed, spawn_key=(zlib.crc32(key.encode()),))


def _finite(x):
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else x


def _row(statement, measure, d, sigma, U, L, value, stderr, ess, method, case, **extra) -> dict:
    extra = {k: _finite(float(v)) for k, v in extra.items()}
    return dict(statement=statement, measure=measure, d=int(d), sigma=float(sigma), u_norm=float(np.linalg.norm(U, 2)),
                L=float(L), value=float(value), stderr=float(stderr), ess=None if ess is None else float(ess),
                method=method, case=case, **extra)


# ------------------------------------------------------------------------------------------ fits


def _curves(measurements: list[dict]) -> dict:
    groups: dict = {}
    for m in measurements:
        key = (m["statement"], m["measure"], m["d"], m["sigma"], m["u_norm"], m["case"], m["method"])
        groups.setdefault(key, []).append(m)
    return {k: sorted(v, key=lambda m: m["L"]) for k, v in groups.items()}


def local_fits(measurements: list[dict]) -> list[dict]:
    r"""Local slopes d ln E / d ln L between consecutive L of every curve, with 95% intervals (delta method), the
    sharp prediction -\alpha (softmax) or -1 (linear attention), and a ``settled`` fit per curve (the mean of the
    last three local slopes).  ``pre_asymptotic`` compares the slope the record reports with the prediction."""
    fits = []
    for (st, meas, d, sg, un, case, method), rows in _curves(measurements).items():
        pred = -1.0 if st.endswith("linear") or un == 0 else -sharp_exponent(sg, [[un]])
        local = []
        for a, b in zip(rows[:-1], rows[1:]):
            if a["value"] <= 0 or b["value"] <= 0:
                continue
            dx = math.log(b["L"]) - math.log(a["L"])
            slope = (math.log(b["value"]) - math.log(a["value"])) / dx
            se = math.hypot(a["stderr"] / a["value"], b["stderr"] / b["value"]) / dx
            ell = 0.5 * (math.log(a["L"]) + math.log(b["L"]))
            rec = dict(statement=st, measure=meas, d=d, sigma=sg, u_norm=un, case=case, method=method, kind="local",
                       slope=slope, ci_low=slope - Z95 * se, ci_high=slope + Z95 * se, L_min=a["L"], L_max=b["L"],
                       predicted_exponent=pred, pre_asymptotic=bool(abs(slope - pred) > max(1.0 / ell, Z95 * se)))
            local.append(rec)
        fits += local
        if len(local) >= 3:
            last = local[-3:]
            ell = math.log(last[-1]["L_max"])
            spread = max(r["slope"] for r in last) - min(r["slope"] for r in last)
            mean = float(np.mean([r["slope"] for r in last]))
            half = max(spread / 2, max(r["ci_high"] - r["slope"] for r in last))
            fits.append(dict(statement=st, measure=meas, d=d, sigma=sg, u_norm=un, case=case, method=method,
                             kind="settled" if spread <= 1.0 / ell else "unsettled", slope=mean, ci_low=mean - half,
                             ci_high=mean + half, L_min=last[0]["L_min"], L_max=last[-1]["L_max"], predicted_exponent=pred,
                             pre_asymptotic=bool(abs(mean - pred) > 1.0 / ell)))  # the slope this fit reports
    return fits


def paper_constants(measurements: list[dict]) -> list[dict]:
    r"""Per (measure, d, case, method): for each \sigma the largest c_2 with R(L) = E L^{c_2/\sigma^2}/(\sigma^6 \ln L)
    not growing at the largest measured L (c_2 <= \sigma^2 (1/\ell - slope)); c_2 = its minimum over \sigma >= 1
    (the constants may not depend on \sigma); c_1 = the smallest constant with the bound at every L >= 2, every \sigma."""
    out = []
    by_group: dict = {}
    for (st, meas, d, sg, un, case, method), rows in _curves(measurements).items():
        if st != "prop-3.1" or method == "exact-far":
            continue
        by_group.setdefault((meas, d, un, case, method), []).append((sg, rows))
    for (meas, d, un, case, method), items in by_group.items():
        per_sigma = {}
        for sg, rows in items:
            rows = [r for r in rows if r["L"] >= 2 and r["value"] > 0]
            if len(rows) < 2:
                continue
            a, b = rows[-2], rows[-1]
            slope = (math.log(b["value"]) - math.log(a["value"])) / (math.log(b["L"]) - math.log(a["L"]))
            ell = math.log(b["L"])
            per_sigma[sg] = (sg * sg * (1.0 / ell - slope), rows)
        valid = [v[0] for s, v in per_sigma.items() if s >= 1.0]
        if not valid:
            continue
        c2 = min(valid)
        c2_sharp = sharp_exponent(1.0, [[un]]) if un > 0 else 1.0
        res = dict(measure=meas, d=d, u_norm=un, case=case, method=method, c2_largest=c2, c2_sharp=c2_sharp,
                   c2_per_sigma={str(s): v[0] for s, v in sorted(per_sigma.items())})
        for name, cc in (("c1_smallest", c2), ("c1_at_sharp_c2", c2_sharp)):
            res[name] = max(r["value"] * r["L"] ** (cc / s**2) / (s**6 * math.log(r["L"]))
                            for s, (_, rows) in per_sigma.items() if s >= 1.0 for r in rows)
        res["holds_for_L_ge_2"] = all(r["value"] <= res["c1_smallest"] * s**6 * math.log(r["L"]) / r["L"] ** (c2 / s**2)
                                      * (1 + 1e-12) for s, (_, rows) in per_sigma.items() if s >= 1.0 for r in rows)
        out.append(res)
    return out


# ------------------------------------------------------------------------------------------ the sweep


def _progress(progress, k, n, what):
    if progress:
        progress(f"[{k}/{n}] {what}")


def _describe(task, g) -> str:
    kind, d, sg, case = task
    if kind == "method":
        return "method error of the exact reduction (default vs refined quadrature, sigma=1, d=1)"
    if kind == "exact":
        return f"exact  d={d} sigma={sg} {case['case']} L=10..{g['exact_Ls'][-1]:.0e}"
    if kind == "far":
        return f"exact  d=1 sigma={sg} L up to {g['far_Ls'][-1]:.0e}"
    if kind == "mc":
        return f"montecarlo {case['measure']} d={d} sigma={sg} L={case['L']}"
    if kind == "grad":
        return f"montecarlo grad_{case['wrt']} T (Prop 3.4) d={d} sigma={sg} L={case['L']}"
    return "linear attention T_lin: exact and Monte Carlo"


def _run_task(task, g, seed):
    """One cell of the grid (a curve or one Monte Carlo measurement); its randomness depends on its key only."""
    kind, d, sg, case = task
    U, V = case["U"], case["V"]
    if kind == "method":  # relative difference of the default and the refined quadrature on a reference curve
        return float(np.max(gaussian_method_error(1.0, [[1.0]], [[1.0]], [10**k for k in (2, 6, 12)])))
    if kind == "exact":
        vals = concentration_error_gaussian(sg, U, V, g["exact_Ls"])
        return [_row("prop-3.1", "gaussian", d, sg, U, L, v, 0.0, None, "exact", case["case"])
                for L, v in zip(g["exact_Ls"], vals)]
    if kind == "far":
        vals = exact_error(sg, 1.0, 1, g["far_Ls"], **FAST_RADIAL)
        return [_row("prop-3.1", "gaussian", 1, sg, U, L, v, v * 1e-2, None, "exact-far", case["case"])
                for L, v in zip(g["far_Ls"], vals)]
    if kind == "mc":
        L, meas = case["L"], case["measure"]
        key = f"mc/{meas}/{d}/{sg}/{case['case']}/{L}"
        est = concentration_error(_measure(meas, sg, d), U, V, int(L), g["mc_prompts"][L], _cell_seed(seed, key),
                                  queries=4)
        return [_row("prop-3.1", meas, d, sg, U, L, est.mean, est.stderr, est.ess, "montecarlo", case["case"],
                     top1_share=est.top1_share, ess_min=est.ess_min)]
    if kind == "grad":
        L, wrt = case["L"], case["wrt"]
        est = concentration_error_grad(isotropic_gaussian(sg, d), U, V, int(L), g["mc_prompts"][L],
                                       _cell_seed(seed, f"grad/{wrt}/{d}/{sg}/{L}"), wrt=wrt, queries=4)
        return [_row(f"prop-3.4-grad-{wrt}", "gaussian", d, sg, U, L, est.mean, est.stderr, est.ess, "montecarlo",
                     case["case"], top1_share=est.top1_share)]
    rows = []
    for L in g["mc_Ls"]:
        v = concentration_error_linear_gaussian(sg, U, V, L)
        rows.append(_row("prop-3.1-linear", "gaussian", 1, sg, U, L, v, 0.0, float(L), "exact", case["case"]))
        est = concentration_error_linear(isotropic_gaussian(sg, 1), U, V, int(L), g["mc_prompts"][L],
                                         _cell_seed(seed, f"linear/{L}"), queries=4)
        rows.append(_row("prop-3.1-linear", "gaussian", 1, sg, U, L, est.mean, est.stderr, est.ess, "montecarlo",
                         case["case"], top1_share=est.top1_share))
    return rows


def run(*, quick: bool = False, seed: int = 0, progress=None, workers: int | None = None,
        scheduler: str | None = None, log=None) -> dict:
    """Run the audit grid; returns {measurements, fits, constants, findings, checks, meta} (JSON-ready).

    The cells run in-process, on a Dask LocalCluster of ``workers`` processes or on the Dask cluster at
    ``scheduler`` (:mod:`verify.sweep`); the result does not depend on it.  ``log``: a JSON-lines file of finished
    cells (keyed by seed, grid and cell), appended as they finish and skipped on a rerun: an interrupted audit
    resumes."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
    backend = Backend(workers, scheduler)  # validates workers/scheduler (and that dask is there) before any work
    g = GRID["quick" if quick else "default"]
    t0 = time.perf_counter()
    tasks = []
    for d, sigmas in g["exact"]:
        for case in _cases(d, quick):
            for sg in sigmas:
                if case["case"] != "U=V=I" and sg not in (1.0, 2.0) and d > 1:
                    continue
                tasks.append(("exact", d, sg, case))
    tasks += [("far", 1, sg, _cases(1, True)[0]) for sg in g["far"]]
    for meas, d, sigmas in g["mc"]:
        for case in _cases(d, quick):  # U = V = I at every sigma; the second (U, V) at sigma = 1, 2
            for sg in sigmas:
                if case["case"] != "U=V=I" and sg not in (1.0, 2.0):
                    continue
                for L in g["mc_Ls"]:
                    tasks.append(("mc", d, sg, dict(case, measure=meas, L=L)))
    for sg in g.get("grad", ()):
        for wrt in ("V", "U"):
            for L in g["mc_Ls"]:
                tasks.append(("grad", 1, sg, dict(_cases(1, True)[0], wrt=wrt, L=L)))
    tasks.append(("linear", 1, 1.0, _cases(1, True)[0]))
    rows, meta = [], {"quick": quick, "seed": seed}
    if not quick:
        tasks.insert(0, ("method", 1, 1.0, _cases(1, True)[0]))
    n = len(tasks)
    grid = zlib.crc32(json.dumps(g, sort_keys=True, default=str).encode())
    keys = [("audit", grid, int(seed), kind, d, float(sg), case["case"], case.get("measure", ""), case.get("L", 0),
             case.get("wrt", "")) for kind, d, sg, case in tasks]
    heavy_first = sorted(range(n), key=lambda k: ({"far": 0, "method": 1, "exact": 2}.get(tasks[k][0], 3),
                                                   -tasks[k][3].get("L", 0), -tasks[k][2]))
    index = {keys[k]: k for k in range(n)}
    with backend:
        done = run_sweep([Cell(keys[k], _run_task, (tasks[k], g, seed)) for k in heavy_first], backend=backend,
                         log=log, progress=lambda i, total, key: _progress(progress, i, total,
                                                                           _describe(tasks[index[key]], g)))
    results = {index[key]: value for key, value in done.items()}
    method_rel = 1e-9  # quick: the stated order of the method error (measured ~1e-10 by the default audit)
    for k in range(n):  # in task order, whatever the completion order: same result on any number of workers
        if tasks[k][0] == "method":
            method_rel = max(1e-12, results[k])
        else:
            rows += results[k]
    meta["exact_method_relative_error"] = method_rel
    for r in rows:
        if r["method"] == "exact" and r["statement"] == "prop-3.1":
            r["stderr"] = r["value"] * method_rel
    fits = local_fits(rows)
    constants = paper_constants(rows)
    result = {"measurements": rows, "fits": fits, "constants": constants, "meta": meta}
    result["findings"] = findings(result, seed=seed)
    result["checks"] = _checks(result)
    meta["seconds"] = round(time.perf_counter() - t0, 1)
    return result


run_audit = run
"""An alias of :func:`run`: the name :mod:`verify.reports.html` calls when it runs an absent audit."""


def _montecarlo_vs_exact(result: dict) -> list[tuple]:
    """(z, MC / exact, top-1% share, (d, sigma, u, case, L)) of every Gaussian Monte Carlo measurement of Prop 3.1
    that has an exact counterpart."""
    exact = {(m["d"], m["sigma"], m["u_norm"], m["case"], m["L"]): m["value"] for m in result["measurements"]
             if m["method"] == "exact" and m["statement"] == "prop-3.1"}
    return [((m["value"] - exact[k]) / m["stderr"], m["value"] / exact[k], m.get("top1_share"), k)
            for m in result["measurements"] if m["method"] == "montecarlo" and m["statement"] == "prop-3.1"
            and m["measure"] == "gaussian" and m["stderr"] > 0
            and (k := (m["d"], m["sigma"], m["u_norm"], m["case"], m["L"])) in exact]


def _checks(result: dict) -> dict:
    """The audit's own consistency checks (each True when it held)."""
    zs = [z for z, _, _, key in _montecarlo_vs_exact(result) if key[4] <= MC_TRUSTED_L]
    lin = [f["slope"] for f in result["fits"] if f["statement"] == "prop-3.1-linear" and f["method"] == "exact"
           and f["kind"] == "local"]
    return {
        "montecarlo-agrees-with-exact": all(abs(z) <= 5 for z in zs),
        "linear-attention-slope-is-minus-1": all(abs(s + 1.0) <= 1e-9 for s in lin),
        "measurements-finite": all(math.isfinite(m["value"]) and math.isfinite(m["stderr"])
                                   for m in result["measurements"]),
    }


def ok(result: dict) -> bool:
    """Whether the audit's consistency checks held (Monte Carlo within 5 standard errors of the exact curve at
    L <= ``MC_TRUSTED_L``, exact linear-attention slopes -1, finite measurements): the exit status of ``verify audit``."""
    checks = result.get("checks") or {}
    return bool(checks) and all(checks.values())


# ------------------------------------------------------------------------------------------ findings


def _last_local(fits, **want):
    sel = [f for f in fits if f["kind"] == "local" and all(f[k] == v for k, v in want.items())]
    return max(sel, key=lambda f: f["L_max"]) if sel else None


def findings(result: dict, seed: int = 0) -> list[dict]:
    """The audit's findings, each {id, summary, evidence}; the evidence names statements, checks and measurements."""
    fits, constants = result["fits"], result["constants"]
    out = []
    w = boundary_witness(n_prompts=4000, seed=seed)
    out.append({"id": "L1-boundary-defect", "summary": (
        f"Props 3.1/3.4 as displayed fail at L = 1: witness d=1, mu=nu=N(0,1), K=0, Q=V=M=sigma=1 has left side "
        f"{w['left']:g} (exact; Monte Carlo {w['left_mc'].mean:.4f} +- {w['left_mc'].stderr:.2g}) and right side "
        f"c1 sigma^6 ln 1 = {w['right']:g} for every c1, c2. Repaired statement: L >= 2."),
        "evidence": "prop-3-1-literal (derivations left/right side at L = 1, evidence witness-left-side); "
                    "verify.concentration.montecarlo.boundary_witness"})
    grads = []
    for wrt in ("V", "U"):
        e = concentration_error_grad(isotropic_gaussian(1.0, 1), np.zeros((1, 1)), np.ones((1, 1)), 1, 4000,
                                     _cell_seed(seed, f"grad-witness/{wrt}"), wrt=wrt)
        grads.append(f"grad_{wrt}: {e.mean:.4f} +- {e.stderr:.2g}")
    out[-1]["summary"] += (" Prop 3.4 at the same witness (U = 0, V = 1): Monte Carlo left sides " + ", ".join(grads)
                           + " (both exactly 1: E z_1^2 and E z^2), right sides 0.")
    gl = [f for f in fits if f["statement"].startswith("prop-3.4") and f["kind"] == "local"]
    if gl:
        parts = []
        for st in ("prop-3.4-grad-V", "prop-3.4-grad-U"):
            for sg in sorted({f["sigma"] for f in gl if f["statement"] == st}):
                f = _last_local(fits, statement=st, sigma=sg)
                o = _last_local(fits, statement="prop-3.1", measure="gaussian", d=1, sigma=sg, u_norm=1.0,
                                method="montecarlo", case="U=V=I")
                parts.append(f"{st[9:]} sigma={sg:g}: {f['slope']:.3f} [{f['ci_low']:.3f}, {f['ci_high']:.3f}]"
                             + (f" (output: {o['slope']:.3f})" if o else "") + f" at L={f['L_max']:.0e}")
        out.append({"id": "prop-3.4-gradients", "summary": (
            "Gradient concentration (Prop 3.4), Monte Carlo, mu = N(0, sigma^2), d = 1, U = V = 1, local slopes at the "
            "largest L: " + "; ".join(parts) + ". The gradients are self-normalised averages with the same log-normal "
            "weights, so the Laplace argument gives the same exponent alpha (polynomial factors aside); at L <= 1e5 the "
            "slopes are pre-asymptotic and the extra sigma^6 ln L of grad_U is not separable from them."),
            "evidence": "audit measurements statement=prop-3.4-grad-V/U; verify.concentration_error_grad"})
    far_last = {}
    for f in fits:
        if f["method"] == "exact-far" and f["kind"] == "local":
            if f["sigma"] not in far_last or f["L_max"] > far_last[f["sigma"]]["L_max"]:
                far_last[f["sigma"]] = f
    if far_last:
        parts = [f"sigma={s:g}: slope {f['slope']:.4f} at L={f['L_min']:.0e}..{f['L_max']:.0e} vs -alpha = "
                 f"{f['predicted_exponent']:.4f} (sigma^2 x exponent = {-s * s * f['slope']:.3f})" for s, f in sorted(far_last.items())]
        out.append({"id": "exponent-sigma-dependence", "summary": (
            "The exponent is alpha(sigma||U||) = (sqrt(1 + 4/s^2) - 1)/2 (1 for s^2 <= 1/2), not c2/sigma^2 with a "
            "constant c2: sigma^2 alpha(sigma u) increases with sigma (to 1/u^2). Local slopes of the exact curve "
            "converge to -alpha like 1/ln L: " + "; ".join(parts) + "."),
            "evidence": "sharp-exponent (derivations; evidence slope-convergence, slope-convergence-1e60); fits with "
                        "method exact-far"})
    for c in constants:
        if c["method"] == "exact" and c["case"] == "U=V=I":
            out.append({"id": f"largest-c2-d{c['d']}", "summary": (
                f"d={c['d']}, U=V=I: the largest c2 for which the paper form c1 sigma^6 ln L / L^(c2/sigma^2) keeps "
                f"holding for every sigma >= 1 is c2 = alpha(||U||) = {c['c2_sharp']:.4f} (sharp, at sigma = 1); the "
                f"measured curves (L <= 10^12) allow c2 <= {c['c2_largest']:.4f} with c1 >= {c['c1_smallest']:.4g}; with "
                f"c2 = {c['c2_sharp']:.4f}, c1 >= {c['c1_at_sharp_c2']:.4g}. The bound with these constants holds at every "
                f"measured L >= 2: {c['holds_for_L_ge_2']}."),
                "evidence": "sharp-exponent (derivation 'sigma^2 alpha(sigma u) increases with sigma'; check "
                            "repaired-bound-c2); audit constants"})
    sig = [1.0, 2.0, 3.0, 10.0, 100.0]
    vals = ", ".join(f"sigma={s:g}: {s * s * sharp_exponent(s, [[1.0]]):.4f}" for s in sig)
    out.append({"id": "sigma2-alpha-limit", "summary": (
        f"sigma^2 alpha(sigma u) increases to 1/u^2 as sigma -> infinity (u = ||U||_op); u = 1: {vals}. So the paper's "
        "form is right at large sigma with c2 -> 1/||U||^2, but any sigma-independent c2 is at most alpha(||U||)."),
        "evidence": "sharp-exponent (derivations 'sigma^2 alpha -> 1/u^2', 'sigma^2 alpha(sigma u) increases with sigma')"})
    lin = _last_local(fits, statement="prop-3.1-linear", method="montecarlo")
    sm = _last_local(fits, statement="prop-3.1", measure="gaussian", d=1, sigma=1.0, u_norm=1.0, method="exact")
    out.append({"id": "linear-attention-rate", "summary": (
        "Prop 3.1 (arXiv 2512.11784) is about the softmax T; for linear attention T_lin the same error is an average of "
        "L i.i.d. terms: error = sigma^4 (||U||_F^2 ||V||_F^2 + ||VU||_F^2)/L exactly"
        + (f" (Monte Carlo local slope {lin['slope']:.3f} [{lin['ci_low']:.3f}, {lin['ci_high']:.3f}] at L={lin['L_max']:.0e})"
           if lin else "")
        + (f", while softmax decays like L^-alpha (sigma = 1: exact local slope {sm['slope']:.3f} at L={sm['L_max']:.0e}, "
           f"alpha = 0.618)" if sm else "") + ": the sigma-dependent rate exists only for softmax."),
        "evidence": "audit measurements statement=prop-3.1-linear vs prop-3.1; verify.concentration_error_linear"})
    zs = _montecarlo_vs_exact(result)
    if zs:
        # Batch-means error bars hold while the per-query errors are well sampled; at large L the estimate is carried
        # by rare tail queries (per-query error ~ e^{tau^2}/L, tau = sigma |U z|: its variance over z grows without
        # bound once 2 s^2 >= 1/2) and the Monte Carlo falls below the exact value with too small a stderr.
        small = [t for t in zs if t[3][4] <= MC_TRUSTED_L]
        large = [t for t in zs if t[3][4] > MC_TRUSTED_L]
        worst = max(small, key=lambda t: abs(t[0])) if small else None
        text = (f"Brute-force Monte Carlo (batch means) against the exact Gaussian curve, {len(zs)} common points. "
                + (f"At L <= {MC_TRUSTED_L:.0e} ({len(small)} points): largest |z| {abs(worst[0]):.2f} (d={worst[3][0]}, "
                   f"sigma={worst[3][1]:g}, u={worst[3][2]:.2g}, L={worst[3][4]:.0e}), "
                   f"{'agreement' if abs(worst[0]) <= 5 else 'DISAGREEMENT (|z| > 5)'}. " if worst else ""))
        if large:
            lw = max(large, key=lambda t: abs(t[0]))
            text += (f"At L > {MC_TRUSTED_L:.0e} ({len(large)} points) the heavy tails show: MC/exact ratios "
                     f"{min(t[1] for t in large):.2f}..{max(t[1] for t in large):.2f} (the sample misses the rare tail "
                     f"queries that carry the mean), |z| up to {abs(lw[0]):.2f} (d={lw[3][0]}, sigma={lw[3][1]:g}, "
                     f"u={lw[3][2]:.2g}, L={lw[3][4]:.0e}), top-1% share of the per-query errors up to "
                     f"{max((t[2] or 0) for t in large):.2f}: there the batch-means stderr understates the spread, "
                     "the exact curve is the reference, and slopes fitted on sampled L alone are pre-asymptotic.")
        out.append({"id": "montecarlo-vs-exact", "summary": text,
                    "evidence": "sharp-exponent::exact-vs-montecarlo; audit measurements method=montecarlo vs exact"})
    bounded = [c for c in constants if c["measure"] in ("rademacher", "cube")]
    if bounded:
        txt = "; ".join(f"{c['measure']} d={c['d']} {c['case']}: " + ", ".join(
            f"sigma={sg}: {(_last_local(fits, measure=c['measure'], d=c['d'], case=c['case'], sigma=float(sg), method='montecarlo') or {}).get('slope', float('nan')):.3f}"
            for sg in c["c2_per_sigma"]) for c in bounded)
        out.append({"id": "bounded-measures", "summary": (
            "For bounded sub-Gaussian prompts (Rademacher, uniform cube) the weights are bounded and the error decays "
            "like 1/L (Monte Carlo local slopes at the largest L: " + txt + "); the sigma-dependent exponent "
            "comes from the Gaussian tails, and the Gaussian case (exact curves) is what makes c2/sigma^2 necessary."),
            "evidence": "audit measurements method=montecarlo, measure=rademacher/cube; fits"})
    out.append({"id": "sigma-ge-1-hypothesis", "summary": (
        "Prop 3.1 (arXiv 2512.11784) assumes sigma >= 1 and ||T[mu]||_{L4(nu)} <= sigma^2 M, with constants depending "
        "on d, V, K, Q and M. The sharp exponent shows why sigma >= 1 is not enough for a sigma-free c2 above "
        "alpha(||U||_op): alpha(sigma||U||) sigma^2 varies with sigma."),
        "evidence": "arXiv 2512.11784, Prop 3.1; sharp-exponent"})
    dd = {c["d"]: c for c in fits if c["method"] == "exact" and c["kind"] == "local" and c["case"] == "U=V=I"
          and c["sigma"] == 1.0}
    slopes_d = {d: _last_local(fits, statement="prop-3.1", method="exact", case="U=V=I", sigma=1.0, d=d) for d in dd}
    txt = ", ".join(f"d={d}: {f['slope']:.3f} at L={f['L_max']:.0e}" for d, f in sorted(slopes_d.items()) if f)
    out.append({"id": "prop-3.4-rate-in-d", "summary": (
        "Prop 3.4 (arXiv 2512.11784) bounds the squared L2(nu) errors of the gradients by c1 sigma^6 ln L / "
        "L^(c2/sigma^2) (grad_V) and c1 sigma^12 (ln L)^2 / L^(c2/sigma^2) (grad_U): a rate that does not improve with "
        "d. The measurements agree, and a rate improving with d (such as L^(-d/2): L^-1/2, L^-1, L^-2 at d = 1, 2, 4) "
        "would contradict them: the sharp exponent depends on sigma||U||_op only, not on d" +
        (f" (sigma = 1, U = V = I, exact local slopes at the largest L: {txt}; the small spread is the query prefactor "
         f"rho^(d-1), a slope correction (d-1)/(2 ln L) = 0.018 (d=2), 0.054 (d=4) at L = 10^12)" if txt else "") + "."),
        "evidence": "arXiv 2512.11784, Prop 3.4; audit fits method=exact for d = 1, 2, 4"})
    return out


# ------------------------------------------------------------------------------------------ report


def _num(v, digits: int = 3) -> str:
    """A number at the precision it carries, with a real minus sign (``-0.607`` -> ``−0.607``)."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{v:.{digits}f}".replace("-", "−")


def _L(v) -> str:
    """A prompt length: ``1e8``, ``1e60``, ``1000``."""
    v = float(v)
    if v < 1e4:
        return f"{v:g}"
    mantissa, exponent = f"{v:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}" if mantissa != "1" else f"1e{int(exponent)}"


def _wrapped(text: str, first: str, rest: str) -> list[str]:
    import shutil
    import textwrap

    width = max(80, shutil.get_terminal_size((100, 24)).columns)
    return textwrap.wrap(text, width, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False)


def headlines(result: dict) -> list[tuple[str, str]]:
    """The audit's headline findings, each (one sentence, the id of the finding that carries the evidence), from
    the measurements, fits and constants of ``result``."""
    fits, constants = result["fits"], result["constants"]
    out = [("Props 3.1 and 3.4 as displayed fail at L = 1: for d = 1, μ = ν = N(0, 1), K = 0, Q = V = M = σ = 1 the "
            "left side is 1 and the right side c₁σ⁶ ln 1 = 0 (repaired statement: L ≥ 2).", "L1-boundary-defect")]
    far = {}
    for f in fits:
        if f["method"] == "exact-far" and f["kind"] == "local" and f["L_max"] > far.get(f["sigma"], {}).get("L_max", 0):
            far[f["sigma"]] = f
    if far:
        parts = "; ".join(f"σ = {s:g}: {_num(f['slope'], 4)} at L = {_L(f['L_max'])} against −α = "
                          f"{_num(f['predicted_exponent'], 4)}" for s, f in sorted(far.items()))
        out.append(("The rate of Prop 3.1 for Gaussian prompts is L^(−α(σ‖U‖)), α(s) = (√(1 + 4/s²) − 1)/2 (1 for "
                    f"s² ≤ ½), not L^(−c₂/σ²): the exact local slope converges to −α like 1/ln L ({parts}).",
                    "exponent-sigma-dependence"))
    for c in constants:
        if c["method"] == "exact" and c["case"] == "U=V=I":
            out.append((f"The largest σ-free c₂ is α(‖U‖) = {_num(c['c2_sharp'], 4)} (d = {c['d']}, U = V = I); "
                        f"with it the bound holds at every measured L ≥ 2 with c₁ = {_num(c['c1_at_sharp_c2'], 4)}"
                        f" ({'holds' if c['holds_for_L_ge_2'] else 'FAILS'} on the grid).", f"largest-c2-d{c['d']}"))
            break
    lin = _last_local(fits, statement="prop-3.1-linear", method="montecarlo")
    if lin:
        out.append(("Linear attention has no σ-dependent rate: its error is exactly σ⁴(‖U‖²‖V‖² + ‖VU‖²)/L "
                    f"(Monte Carlo local slope {_num(lin['slope'])} [{_num(lin['ci_low'])}, {_num(lin['ci_high'])}] "
                    f"at L = {_L(lin['L_max'])}).", "linear-attention-rate"))
    zs = _montecarlo_vs_exact(result)
    small = [t for t in zs if t[3][4] <= MC_TRUSTED_L]
    if small:
        worst = max(small, key=lambda t: abs(t[0]))
        out.append((f"Brute-force Monte Carlo agrees with the exact reduction where its error bars hold (L ≤ "
                    f"{_L(MC_TRUSTED_L)}: {len(small)} points, largest |z| {abs(worst[0]):.2f}).", "montecarlo-vs-exact"))
    return out


def summary(result: dict) -> str:
    """The terminal summary: what was run, the headline findings, the settled slopes against the sharp exponent, the
    paper-form constants, the consistency checks, then every finding in full."""
    m = result["meta"]
    quick = bool(m.get("quick"))
    lines = [f"verify audit: Props 3.1/3.4 of arXiv 2512.11784 measured — {len(result['measurements'])} measurements, "
             f"{len(result['fits'])} fits in {m['seconds']} s (seed {m['seed']}{', quick mode' if quick else ''})"]
    if quick:
        g = GRID["quick"]
        lines += _wrapped(f"quick mode: shorter curves (exact to L = {_L(g['exact_Ls'][-1])} and "
                          f"{_L(g['far_Ls'][-1])}, Monte Carlo to L = {_L(g['mc_Ls'][-1])}) and fewer σ, d and prompts: "
                          "slopes at such L are pre-asymptotic and Monte Carlo rates noisy; rerun without --quick for "
                          "the full audit.", "  ", "  ")
    lines += ["", "Headline findings"]
    for k, (text, fid) in enumerate(headlines(result), 1):
        lines += _wrapped(f"{text} [{fid}]", f"  {k}. ", "     ")
    lines += ["", "Local slope at the largest L against the sharp exponent −α (prop-3.1, settled fits)",
              f"  {'method':<10} {'measure':<10} {'d':>2} {'σ':>4} {'‖U‖':>5} {'slope':>8} {'95% CI':>20} "
              f"{'at L':>6} {'−α':>8}  note"]
    for f in result["fits"]:
        if f["kind"] != "local" and f["statement"] == "prop-3.1":
            ci = f"[{_num(f['ci_low'])}, {_num(f['ci_high'])}]"
            note = "pre-asymptotic" if f["pre_asymptotic"] else ("" if f["kind"] == "settled" else f["kind"])
            lines.append(f"  {f['method']:<10} {f['measure']:<10} {f['d']:>2} {f['sigma']:>4g} {f['u_norm']:>5.3g} "
                         f"{_num(f['slope']):>8} {ci:>20} {_L(f['L_max']):>6} {_num(f['predicted_exponent']):>8}"
                         f"  {note}".rstrip())
    if result["constants"]:
        lines += ["", "Paper-form constants c₁σ⁶ ln L / L^(c₂/σ²) (σ ≥ 1, every measured L ≥ 2)",
                  f"  {'method':<10} {'measure':<10} {'d':>2} {'case':<10} {'largest c₂':>10} {'sharp c₂':>9} "
                  f"{'c₁ ≥':>8} {'holds':>6}"]
        for c in result["constants"]:
            lines.append(f"  {c['method']:<10} {c['measure']:<10} {c['d']:>2} {c['case']:<10} "
                         f"{_num(c['c2_largest'], 4):>10} {_num(c['c2_sharp'], 4):>9} {c['c1_smallest']:>8.4g} "
                         f"{'yes' if c['holds_for_L_ge_2'] else 'NO':>6}")
    checks = result.get("checks", {})
    lines += ["", "Consistency checks: " + ", ".join(f"{name} {'held' if held else 'FAILED'}"
                                                    for name, held in checks.items())]
    lines += ["", "All findings"]
    for f in result["findings"]:
        lines += _wrapped(f"{f['id']}: {f['summary']}", "  - ", "    ")
    return "\n".join(lines)


def write(result: dict, directory, *, figures: bool = True) -> list[Path]:
    """Write report.md, audit.json and (``figures``) the PNG figures into ``directory`` (created with its parents);
    returns the paths, report.md first."""
    out = output_dir(directory)
    paths = [out / "audit.json"]
    paths[0].write_text(json.dumps(result, indent=1, default=str))
    figs = _figures(result, out) if figures else []
    paths += figs
    md = ["# verify audit: Props 3.1/3.4 measured", "",
          f"arXiv 2512.11784, Props 3.1 and 3.4. Seed {result['meta']['seed']}, quick={result['meta']['quick']}, "
          f"{result['meta']['seconds']} s, {len(result['measurements'])} measurements, {len(result['fits'])} fits", "",
          "## Findings", ""]
    for f in result["findings"]:
        md += [f"- **{f['id']}**: {f['summary']}  ", f"  *evidence*: {f['evidence']}", ""]
    md += ["## Figures", ""] + [f"![{p.stem}]({p.name})" for p in figs] + ["", "## Paper-form constants", "",
           "| measure | d | case | method | c2 largest | c2 sharp | c1 smallest | c1 at sharp c2 | holds L>=2 |",
           "|---|---|---|---|---|---|---|---|---|"]
    for c in result["constants"]:
        md.append(f"| {c['measure']} | {c['d']} | {c['case']} | {c['method']} | {c['c2_largest']:.4f} | {c['c2_sharp']:.4f} "
                  f"| {c['c1_smallest']:.4g} | {c['c1_at_sharp_c2']:.4g} | {c['holds_for_L_ge_2']} |")
    md += ["", "## Settled / last fits", "", "| statement | measure | d | sigma | u | method | kind | slope | 95% CI | L | "
           "predicted | pre-asymptotic |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for f in result["fits"]:
        if f["kind"] != "local":
            md.append(f"| {f['statement']} | {f['measure']} | {f['d']} | {f['sigma']:g} | {f['u_norm']:.3g} | {f['method']} "
                      f"| {f['kind']} | {f['slope']:.4f} | [{f['ci_low']:.4f}, {f['ci_high']:.4f}] | "
                      f"{f['L_min']:.0e}..{f['L_max']:.0e} | {f['predicted_exponent']:.4f} | {f['pre_asymptotic']} |")
    md += ["", "## Consistency checks", ""] + [f"- {name}: {'held' if held else 'FAILED'}"
                                               for name, held in result.get("checks", {}).items()]
    (out / "report.md").write_text("\n".join(md) + "\n")
    return [out / "report.md"] + paths


write_report = write
"""An alias of :func:`write`: the name :mod:`verify.reports.html` calls to write an audit it ran."""


def _figures(result: dict, out: Path) -> list[Path]:
    """error_vs_L.png, local_slope.png and exponent_vs_sigma.png: every line named in a legend beside the data,
    fitted slopes with their exponent, titles saying what is shown."""
    from matplotlib.lines import Line2D

    plt = pyplot()
    rows, fits, paths = result["measurements"], result["fits"], []
    curves = _curves(rows)
    cst = {(c["measure"], c["d"], c["case"], c["method"]): c for c in result["constants"]}
    fig, ax = plt.subplots(figsize=(9.5, 5))
    handles = []
    for (st, meas, d, sg, un, case, method), rs in sorted(curves.items(), key=lambda kv: kv[0][3]):
        if st != "prop-3.1" or d != 1 or case != "U=V=I" or meas != "gaussian" or method != "exact":
            continue
        L = np.array([r["L"] for r in rs])
        E = np.array([r["value"] for r in rs])
        alpha = sharp_exponent(sg, [[un]])
        line, = ax.loglog(L, E, "-", lw=1.8, label=rf"$\sigma = {sg:g}$ exact ($-\alpha = {-alpha:.3f}$)")
        handles.append(line)
        mc = curves.get(("prop-3.1", "gaussian", 1, sg, un, case, "montecarlo"))
        if mc:
            ax.errorbar([r["L"] for r in mc], [r["value"] for r in mc], yerr=[Z95 * r["stderr"] for r in mc], fmt="o",
                        ms=4, capsize=2, color=line.get_color())
        slope = (math.log(E[-1]) - math.log(E[-2])) / (math.log(L[-1]) - math.log(L[-2]))
        fitted, = ax.loglog(L, E[-1] * (L / L[-1]) ** slope, ":", color=line.get_color(), lw=1.2,
                            label=rf"$\sigma = {sg:g}$: $L^{{{slope:.3f}}}$ (local slope at $L = 10^{{{math.log10(L[-1]):.0f}}}$)")
        handles.append(fitted)
        c = cst.get(("gaussian", 1, case, "exact"))
        if c and sg >= 1:
            Lb = L[L >= 2]
            ax.loglog(Lb, c["c1_smallest"] * sg**6 * np.log(Lb) / Lb ** (c["c2_largest"] / sg**2), "--",
                      color=line.get_color(), lw=0.9)
    handles += [Line2D([], [], color="grey", marker="o", ls="none", label="Monte Carlo, 95% interval"),
                Line2D([], [], color="grey", ls="--", lw=0.9,
                       label=r"paper form $c_1\sigma^6\ln L\,/\,L^{c_2/\sigma^2}$ (fitted $c_1, c_2$)")]
    ax.set_xlabel("prompt length $L$")
    ax.set_ylabel(r"$\mathbb{E}\,\|T[\hat\mu_L] - T[\mu]\|^2_{L^2(\nu)}$")
    ax.set_title(r"Prop 3.1: the error of softmax attention on $L$ Gaussian tokens ($d = 1$, $U = V = 1$)", fontsize=10)
    legend_beside(ax, handles)
    fig.tight_layout()
    paths.append(save(fig, out / "error_vs_L.png"))

    fig, ax = plt.subplots(figsize=(9.5, 4.6))
    handles = []
    for sg in sorted({f["sigma"] for f in fits}):
        sel = sorted([f for f in fits if f["kind"] == "local" and f["sigma"] == sg and f["d"] == 1 and f["case"] == "U=V=I"
                      and f["statement"] == "prop-3.1" and f["method"] in ("exact", "exact-far")], key=lambda f: f["L_max"])
        if not sel:
            continue
        Lm = [math.sqrt(f["L_min"] * f["L_max"]) for f in sel]
        line, = ax.semilogx(Lm, [f["slope"] for f in sel], "o-", ms=3,
                            label=rf"$\sigma = {sg:g}$: local slope of the exact curve")
        ax.axhline(sel[0]["predicted_exponent"], color=line.get_color(), ls="--", lw=0.9)
        handles += [line, Line2D([], [], color=line.get_color(), ls="--", lw=0.9,
                                 label=rf"$-\alpha({sg:g}) = {sel[0]['predicted_exponent']:.3f}$ (sharp)")]
    ax.set_xlabel("prompt length $L$ (geometric middle of each pair of points)")
    ax.set_ylabel(r"local slope $d\ln E/d\ln L$")
    ax.set_title(r"The local slope converges to the sharp exponent $-\alpha(\sigma\|U\|)$ like $1/\ln L$", fontsize=10)
    legend_beside(ax, handles)
    fig.tight_layout()
    paths.append(save(fig, out / "local_slope.png"))

    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    ss = np.linspace(0.3, 3.2, 200)
    c2 = sharp_exponent(1.0, [[1.0]])
    best_by = {}
    for method in ("exact-far", "exact"):
        best = {}
        for f in fits:
            if f["kind"] == "local" and f["method"] == method and f["d"] == 1 and f["case"] == "U=V=I":
                if f["sigma"] not in best or f["L_max"] > best[f["sigma"]]["L_max"]:
                    best[f["sigma"]] = f
        best_by[method] = best
    panels = ((axes[0], lambda x: 1.0, r"exponent of the decay in $L$", "the exponent"),
              (axes[1], lambda x: x * x, r"$\sigma^2\times$ exponent", r"$\sigma^2\times$ the exponent: the paper's $c_2$ "
                                                                           "would be flat"))
    for ax, scale, ylab, title in panels:
        ax.plot(ss, [scale(s) * sharp_exponent(s, [[1.0]]) for s in ss], "-", label=r"sharp $\alpha(\sigma)$")
        ax.plot(ss, [scale(s) * c2 / s**2 for s in ss], "--",
                label=rf"paper form $c_2/\sigma^2$, $c_2 = \alpha(1) = {c2:.3f}$")
        ax.plot(ss, [scale(s) / s**2 for s in ss], ":", label=r"$c_2/\sigma^2$, $c_2 = 1 = \lim\,\sigma^2\alpha$")
        for (method, best), mk in zip(best_by.items(), ("o", "s")):
            if best:
                top = max(f["L_max"] for f in best.values())
                ax.plot(list(best), [-scale(s) * f["slope"] for s, f in best.items()], mk, mfc="none", ms=7,
                        label=f"measured −slope ({'exact curve' if method == 'exact' else 'exact, far'}, "
                              f"L = 1e{math.log10(top):.0f})")
        ax.set_xlabel(r"$\sigma$ ($\|U\| = 1$, $d = 1$)")
        ax.set_ylabel(ylab)
        ax.set_title(title, fontsize=10)
        ax.set_ylim(0, 1.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle(r"The rate of Prop 3.1 is $L^{-\alpha(\sigma\|U\|)}$, not $L^{-c_2/\sigma^2}$", fontsize=11)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    paths.append(save(fig, out / "exponent_vs_sigma.png"))
    return paths

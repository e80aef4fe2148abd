r"""The study ``verify train``: training at L = \infty, at finite L and by SGD, measured (the statements
train-infinite and train-finite check what this study measures).

Three parts, each a cell of one :func:`verify.sweep.run_sweep` keyed by (part, seed, quick):

* ``infinite`` -- gradient flows on R_\infty from the balanced initialisation to the Bayes point (the balance drift,
  the energy identity, the order of gradient descent; :mod:`verify.icl.training`), and the audit of the
  initialisation interval: which \alpha converge, per (d, ||\Sigma||_op), against the paper's printed bound
  \sqrt2/(d^{1/4}||\Sigma||_op) and ZFB's \sqrt2/(d^{1/4}||\Sigma||_op^{1/2}) (:func:`init_interval_audit`);
* ``finite`` -- gradient descent on R_L with fresh prompts against gradient descent on R_\infty from the same start
  (:mod:`verify.icl.training_finite`; Theorem 4.3): gaps along time, the final excess risk and its rate in L, the
  empirical L(\epsilon), the invariant subspace from generic starts, and the third-party audit's 16 -> 4096 risk ratio;
* ``sgd`` -- the authors' SGD experiment in our (U, V) setting, both data models (:mod:`verify.icl.training_sgd`).

The protocol of :mod:`verify.studies`: :func:`run` -> {"runs": {part: result}, "fits", "findings", "seed", "quick"},
:func:`ok`, :func:`summary`, :func:`write` (train.json, init_interval.csv and the PNG figures).
"""

from __future__ import annotations

import json
import math
import textwrap
import time
import zlib
from pathlib import Path
from typing import Callable

import numpy as np

from verify._validation import seed_value
from verify.icl.risk import bayes_point, icl_risk_infinite, icl_risk_mc, toeplitz_sigma
from verify.icl.gradient import icl_active_vector, icl_from_active_vector
from verify.icl.training import (
    alpha_sweep,
    balance,
    balance_drift,
    balanced_init,
    bayes_distance,
    dissipation_gap,
    escape_rate,
    family_distance,
    final_point,
    gd_flow_errors,
    gd_order,
    gradient_descent,
    gradient_flow,
    printed_bound,
    random_direction,
    risk_along,
    scaled_sigma,
    zfb_bound,
)
from verify.icl.training_finite import averaged_point, finite_gd, linear_excess_ratio, off_subspace_norm, seed_stats
from verify.icl.training_sgd import (
    ALPHA,
    BATCH,
    DIM,
    ETA,
    LS,
    MODELS,
    MODES,
    NOISE_VAR,
    RHO,
    TASK_VAR,
    bA_distances,
    authors_flow,
    bayes_risk,
    held_out,
    infinite_reference,
    risk_infinite_authors,
    risk_infinite_intended,
    sgd_run,
    steps_to_excess,
)
from verify.numerics.montecarlo import Estimate, fit_rate, stream
from verify.numerics.strategies import random_covariance
from verify.studies.figures import legend_beside, output_dir, pyplot, save

__all__ = ["PARTS", "AUDIT_REPO", "run", "ok", "summary", "headlines", "write", "run_infinite_part", "run_finite", "run_sgd",
           "init_interval_audit", "write_finite_figures", "write_sgd_figures", "alpha_figure"]

AUDIT_REPO = "github.com/MachineLearning-Nerd/icml26-repro-MvuCgK0Qns-softmax-linear-attention"
"""The public repository of the third-party audit of arXiv 2512.11784 whose figures the study confronts."""

PARTS = ("infinite", "finite", "sgd")
"""The parts of ``verify train``: L = inf flows and the alpha interval, finite-L GD against the L = inf reference,
the authors' SGD experiment."""


# ------------------------------------------------------------------------------------------ the L = inf part

ESCAPE_ALPHAS = (1e-6, 1e-5)
"""The two tiny \\alpha of the measured escape law."""


def _cases(seed: int, quick: bool) -> list[dict]:
    r"""The L = \infty cases: isotropic d = 2, 5; Toeplitz(0.5) d = 5 noiseless and with label noise s^2 = 0.1;
    a random anisotropic \Sigma (d = 3, from ``seed``).  \Theta from the seed, one stream per case."""
    base = [("isotropic d=2", np.eye(2), 0.0), ("isotropic d=5", np.eye(5), 0.0),
            ("Toeplitz(0.5) d=5", toeplitz_sigma(5, 0.5), 0.0),
            ("Toeplitz(0.5) d=5, s^2=0.1", toeplitz_sigma(5, 0.5), math.sqrt(0.1)),
            ("random d=3", random_covariance(3, stream(seed, "train", "Sigma")), 0.0)]
    if quick:
        base = [base[1], base[3]]
    return [{"label": lab, "Sigma": S, "noise": s, "alpha": 0.5,
             "P": random_direction(S.shape[0], stream(seed, "train", "P", lab))} for lab, S, s in base]


def run_infinite(case: dict, *, t_end: float = 1e5, stop: float = 1e-9) -> dict:
    r"""One L = \infty run: the DOP853 flow to ``stop`` (relative distance to (U_\star, V_\star)), its balance drift,
    energy identity and risk, and gradient descent on the same field against the flow at T = 2 for
    \eta = 0.02, 0.01, 0.005 (errors and observed order)."""
    S, s = case["Sigma"], case["noise"]
    U0, V0 = balanced_init(S, case["alpha"], case["P"])
    t0 = time.perf_counter()
    p = gradient_flow(U0, V0, S, t_end, noise=s, stop_distance=stop, dissipation=True)
    drift, allowed = balance_drift(p)
    risk = risk_along(p)
    U, V = final_point(p)
    etas = (0.02, 0.01, 0.005)
    errs = gd_flow_errors(U0, V0, S, 2.0, etas, noise=s)
    return {
        "label": case["label"], "d": S.shape[0], "sigma_op": float(np.linalg.eigvalsh(S).max()), "noise_var": s * s,
        "alpha": case["alpha"], "method": p.method, "steps": len(p.t) - 1, "nfev": p.nfev,
        "t_converged": p.event_time, "distance": bayes_distance(U, V, S), "family_distance": family_distance(U, V, S),
        "risk_final": float(risk[-1]), "bayes_risk": s * s / 2, "excess_risk": float(risk[-1] - s * s / 2),
        "risk_max_increase": float(max(0.0, np.diff(risk).max())), "balance_drift": drift, "balance_allowed": allowed,
        "dissipation_gap": float(dissipation_gap(p)), "off_subspace": float(np.abs(p.y[:, S.shape[0] ** 2:-1]).max()),
        "gd_etas": list(etas), "gd_errors_T2": errs, "gd_order": gd_order(errs),
        "seconds": round(time.perf_counter() - t0, 3),
    }


def _findings(infinite: list[dict], cells: list[dict]) -> list[str]:
    out = []
    conv = [r for r in infinite if r["t_converged"] is not None]
    out.append(f"L = inf: {len(conv)}/{len(infinite)} balanced flows reach (U*, V*) to 1e-9 (DOP853 rtol 1e-10, atol 1e-12); "
               f"largest |R - s^2/2| {max(abs(r['excess_risk']) for r in infinite):.2g}; balance drift <= allowed in "
               f"{sum(r['balance_drift'] <= r['balance_allowed'] for r in infinite)}/{len(infinite)}")
    bad = [c for c in cells if not c["converged"]]
    outside_printed = [c for c in cells if not c["in_printed"]]
    outside_zfb = [c for c in cells if not c["in_zfb"]]
    witness = [c for c in cells if c["in_printed"] and not c["in_zfb"]]
    out.append(f"init interval: {len(cells) - len(bad)}/{len(cells)} cells converge (alpha {min(c['alpha'] for c in cells):g}"
               f"..{max(c['alpha'] for c in cells):g}, d in {sorted({c['d'] for c in cells})}, ||Sigma||_op in "
               f"{sorted({c['sigma_op'] for c in cells})}), including {sum(c['converged'] for c in outside_printed)}/"
               f"{len(outside_printed)} outside the printed interval and {sum(c['converged'] for c in outside_zfb)}/"
               f"{len(outside_zfb)} outside ZFB's")
    if witness:
        out.append(f"{len(witness)} cells lie inside the printed interval but outside ZFB's (||Sigma||_op < 1): "
                   f"{sum(c['converged'] for c in witness)} converge; the printed interval is not ZFB's condition "
                   f"(a dropped square root) and neither is needed: every alpha > 0 converges")
    for c in cells:
        if c["d"] == 1 and c["sigma_op"] == 0.25 and c["alpha"] == 4.0:
            out.append(f"the witness d=1, Sigma=1/4, alpha=4 of the third-party audit ({AUDIT_REPO}; printed bound {printed_bound(1, 0.25):.3g}, ZFB bound "
                       f"{zfb_bound(1, 0.25):.3g}) {'converges' if c['converged'] else 'does NOT converge'}: distance to "
                       f"the Bayes family {c['family_distance']:.2g} at t={c['t_end']:.4g} (A = b -> Sigma^(-1/2) = 2)")
    slow = [c for c in cells if c["t_reach"] is not None]
    if slow:
        c = max(slow, key=lambda c: c["t_reach"])
        out.append(f"slowest: alpha={c['alpha']:.3g}, d={c['d']}, ||Sigma||_op={c['sigma_op']:g} reaches 1e-6 at "
                   f"t={c['t_reach']:.4g} (escape from the saddle at 0 at rate ||Sigma^2||_F; times scale like "
                   f"1/||Sigma||_op^2)")
    return out


def escape_law(dims=(1, 2, 5), norms=(0.25, 4.0)) -> list[str]:
    r"""The escape-time law measured: \lambda (t(10^{-6}) - t(10^{-5})) / ln 10 with \lambda = ||\Sigma^2||_F, per
    (d, ||\Sigma||_op) (1 when the time to leave the saddle is ln(1/\alpha)/\lambda + C + O(\alpha))."""
    out = []
    for d in dims:
        for norm in norms:
            S = scaled_sigma(d, norm)
            t1, t2 = (c["t_reach"] for c in alpha_sweep(S, ESCAPE_ALPHAS))
            out.append(f"d={d}, ||Sigma||={norm:g}: {escape_rate(S) * (t1 - t2) / math.log(10.0):.5f}")
    return out


def init_interval_audit(dims=(1, 2, 5), norms=(0.25, 1.0, 4.0), alphas=None, *, P_seed: int | None = None,
                        progress: Callable[[str], None] | None = None) -> list[dict]:
    r"""Which \alpha converge, for \Sigma = :func:`scaled_sigma`(d, norm), against the printed interval
    (:func:`printed_bound`) and ZFB's (:func:`zfb_bound`).  Default \alpha: 16 log-spaced values in [1e-3, 100].
    ``P_seed``: P = :func:`random_direction` (one per d, from that seed); None: P = I/\sqrt d.  One record per cell."""
    alphas = list(np.logspace(-3, 2, 16) if alphas is None else alphas)
    rows = []
    for d in dims:
        P = None if P_seed is None else random_direction(d, stream(seed_value(P_seed, "P_seed"), "train", "P", d))
        for norm in norms:
            t0 = time.perf_counter()
            S = scaled_sigma(d, norm)
            cells = alpha_sweep(S, alphas, P)
            if progress:
                progress(f"init interval: d={d}, ||Sigma||={norm:g}: {sum(c['converged'] for c in cells)}/{len(cells)} "
                         f"converge ({time.perf_counter() - t0:.1f}s)")
            for c in cells:
                rows.append({"d": d, "sigma_op": norm, **c, "in_printed": c["alpha"] < printed_bound(d, norm),
                             "in_zfb": c["alpha"] < zfb_bound(d, norm)})
    return rows


def run_infinite_part(*, quick: bool = False, seed: int = 0, progress: Callable[[str], None] | None = None) -> dict:
    r"""The L = \infty part: {"runs": [...], "init_interval": [...], "fits": [], "findings": [...]}.
    Quick: 2 cases (isotropic d = 5; Toeplitz d = 5 with s^2 = 0.1), \alpha grid of 6 log-spaced values in
    [1e-3, 100] plus the witness 4, ||\Sigma||_op in {1/4, 4}; full: 5 cases, 16 values plus 4, ||\Sigma||_op in
    {1/4, 1, 4}; d in {1, 2, 5}, P random (from ``seed``)."""
    seed = seed_value(seed)
    infinite = []
    for case in _cases(seed, quick):
        r = run_infinite(case)
        infinite.append(r)
        if progress:
            progress(f"L=inf {r['label']}: distance {r['distance']:.2g} at t={r['t_converged']}, {r['seconds']}s")
    alphas = sorted(set(np.logspace(-3, 2, 6 if quick else 16).tolist()) | {4.0})  # 4: the third-party audit's witness
    norms = (0.25, 4.0) if quick else (0.25, 1.0, 4.0)
    cells = init_interval_audit((1, 2, 5), norms, alphas, P_seed=seed, progress=progress)
    findings = _findings(infinite, cells)
    findings.append("escape law, ||Sigma^2||_F (t(1e-6) - t(1e-5)) / ln 10 (1 = time ln(1/alpha)/||Sigma^2||_F): "
                    + "; ".join(escape_law(norms=norms)))
    return {"runs": infinite, "init_interval": cells, "fits": [], "findings": findings}


# ------------------------------------------------------------------------------------------ the finite-L part


FINITE_LS = (10, 30, 100, 300, 1000)
"""The prompt lengths L of the finite-L part (full mode)."""
EPSILONS = (0.1, 0.01, 0.001)


def _finite_setting(quick: bool) -> dict:
    r"""Our training setting: d = 2, \Sigma = Toeplitz(0.5), w ~ N(0, I), no label noise, balanced init \alpha = 0.5,
    P = I/\sqrt d; \eta = 0.05 (the L = \infty GD reaches R_\infty < 1e-9 by t = 30); records every 10 steps.  Batch 64
    in both modes: at batch 32 gradient-noise kicks (window risk > 0.5) hit ~8% of the runs at L = 64."""
    d = 2
    return {"d": d, "Sigma": toeplitz_sigma(d, 0.5), "noise": 0.0, "alpha": 0.5, "eta": 0.05, "record_every": 10,
            "n_steps": 300 if quick else 800, "batch": 64, "seeds": 2 if quick else 6,
            "Ls": (10, 100, 1000) if quick else FINITE_LS, "n_eval": 2000 if quick else 8000,
            "generic_Ls": (10, 1000) if quick else (10, 100, 1000), "generic_scale": 0.3}


def _generic_start(S, alpha, scale, seed):
    """Balanced start plus N(0, scale^2) on every active entry (u, a and the asymmetric part of U11 included)."""
    d = S.shape[0]
    U, V = balanced_init(S, alpha)
    g = np.random.default_rng(np.random.SeedSequence([seed_value(seed), zlib.crc32(b"generic")]))
    th = icl_active_vector(U, V, d) + scale * g.standard_normal((d + 1) ** 2)
    return icl_from_active_vector(th, d)


def _curve(rows, key) -> tuple[list, list]:
    m = np.array([r[key] for r in rows], dtype=float)
    se = m.std(axis=0, ddof=1) / math.sqrt(len(rows)) if len(rows) > 1 else np.full(m.shape[1], math.inf)
    return m.mean(axis=0).tolist(), se.tolist()


def _one_run(cfg, L, seed, start, ref, tag: str) -> dict:
    r"""One finite-L run from ``start`` against the L = inf GD ``ref`` (same \eta, same records)."""
    S = cfg["Sigma"]
    t0 = time.perf_counter()
    p = finite_gd(*start, S, L, cfg["eta"], cfg["n_steps"], batch=cfg["batch"], seed=seed, tag=tag, noise=cfg["noise"],
                  record_every=cfg["record_every"])
    if p.diverged or len(p.t) != len(ref.t):
        return {"L": L, "seed": seed, "diverged": True}
    param_gap = np.abs(p.y - ref.y).max(axis=1)
    r_inf = risk_along(p)
    r_ref = risk_along(ref)
    Ubar, Vbar = averaged_point(p)
    rl = icl_risk_mc(Ubar, Vbar, S, L, cfg["n_eval"], np.random.SeedSequence([seed, L, zlib.crc32(tag.encode()), 1]),
                     cfg["noise"])
    half = len(p.t) // 2
    return {"L": L, "seed": seed, "diverged": False, "param_gap": param_gap.tolist(),
            "risk_gap": (r_inf - r_ref).tolist(), "batch_risk": p.series["batch_risk"].tolist(),
            "off_subspace": off_subspace_norm(p).tolist(),
            "param_gap_late": float(param_gap[half:].mean()), "risk_gap_late": float(np.abs(r_inf - r_ref)[half:].mean()),
            "final_RL": [rl.mean, rl.stderr], "balance_end": float(balance(p)[-1]), "final_excess": rl.mean - cfg["noise"] ** 2 / 2,
            "final_Rinf": icl_risk_infinite(Ubar, Vbar, S, cfg["noise"]), "seconds": round(time.perf_counter() - t0, 3)}


def _aggregate(label: str, L, runs: list[dict], cfg) -> dict:
    ok = [r for r in runs if not r["diverged"]]
    out = {"kind": label, "L": L, "seeds": len(runs), "diverged": len(runs) - len(ok)}
    if not ok:
        return out
    for key in ("param_gap", "risk_gap", "batch_risk", "off_subspace"):
        out[key], out[key + "_se"] = _curve(ok, key)
    for key in ("param_gap_late", "risk_gap_late", "final_excess", "final_Rinf", "balance_end"):
        out[key] = list(seed_stats([r[key] for r in ok]))
    out["seconds"] = round(sum(r["seconds"] for r in ok), 2)
    return out


def _l_of_eps(rows: list[dict], fit) -> list[dict]:
    r"""Empirical L(\epsilon): the smallest L of the grid whose final excess risk is <= \epsilon with 95% confidence
    (mean + 2 se), and the fitted law's L = (\epsilon / e^{c})^{1/p} (extrapolated beyond the grid when needed)."""
    out = []
    for eps in EPSILONS:
        grid = [r["L"] for r in rows if r["final_excess"][0] + 2 * r["final_excess"][1] <= eps]
        fitted = None
        if fit is not None and fit.exponent < 0:
            fitted = float(math.exp((math.log(eps) - fit.intercept) / fit.exponent))
        out.append({"eps": eps, "L_grid": min(grid) if grid else None, "L_fitted": fitted})
    return out


def _audit_ratio(quick: bool, seed: int) -> list[dict]:
    r"""The third-party audit's "risk at the linear solution drops 232-263x from L = 16 to 4096 at d = 4": (R_16 - R^\star) /
    (R_4096 - R^\star) at (U_\star, V_\star), in its setting (isotropic d = 4, w ~ N(0, I/d)) and ours (Toeplitz(0.5)
    d = 2 and 5, w ~ N(0, I)), for normalised linear attention (:func:`verify.icl.training_finite.risk_mc`) and softmax
    (:func:`verify.icl.risk.icl_risk_mc`; at zero label noise R_L(U_\star, V_\star) is exactly proportional to the task
    variance, so its ratio does not depend on w's scale), and with the authors' label noise variance 0.1."""
    n = 2000 if quick else 8000
    rows = []
    cases = [("third-party audit: isotropic d=4, w~N(0,I/4)", np.eye(4), 0.5), ("ours: Toeplitz(0.5) d=2", toeplitz_sigma(2, 0.5), 1.0),
             ("ours: Toeplitz(0.5) d=5", toeplitz_sigma(5, 0.5), 1.0)]
    for k, (lab, S, ws) in enumerate(cases):
        r = linear_excess_ratio(S, 16, 4096, n, seed * 100 + k, w_scale=ws)
        rows.append({"setting": lab, **r})
        U, V = bayes_point(S)
        a = icl_risk_mc(U, V, S, 16, 5 * n, np.random.SeedSequence([seed, k, 16]))
        b = icl_risk_mc(U, V, S, 4096, n // 2, np.random.SeedSequence([seed, k, 4096]))
        ratio = a.mean / b.mean
        rows.append({"setting": lab, "attention": "softmax", "L_small": 16, "L_large": 4096, "noise_var": 0.0,
                     "w_var": ws * ws, "excess_small": [a.mean, a.stderr], "excess_large": [b.mean, b.stderr],
                     "ratio": ratio, "ratio_stderr": abs(ratio) * math.hypot(a.stderr / a.mean, b.stderr / b.mean)})
    r = linear_excess_ratio(np.eye(4), 16, 4096, n, seed * 100 + 9, noise=math.sqrt(0.1), w_scale=0.5)
    raw = (r["excess_small"][0] + 0.05) / (r["excess_large"][0] + 0.05)
    rows.append({"setting": "third-party audit with label noise var 0.1 (raw risks, not excess)", **r, "raw_ratio": raw})
    return rows


def run_finite(*, quick: bool, seed: int, progress: Callable[[str], None] | None = None) -> dict:
    r"""Finite-L training against the L = \infty reference (Theorem 4.3).

    For each L in :data:`FINITE_LS` and each of several seeds: softmax GD on R_L (:func:`verify.icl.training_finite.finite_gd`, fresh prompts
    per step) from the balanced start, compared record by record with GD on R_\infty (same start, same \eta: the
    explicit Euler discretisation of :func:`verify.icl.training.gradient_descent`); from generic starts off the invariant
    subspace, the off-subspace norm ||(u, a)|| along time against the L = \infty run's.  Measured (mean +- s.e. over
    seeds, batch means): parameter and R_\infty gaps along time, final excess R_L - s^2/2 at the Polyak-averaged end
    (by :func:`verify.icl.risk.icl_risk_mc`) with a fitted power law (:func:`verify.numerics.montecarlo.fit_rate`), the empirical
    L(\epsilon), R_L(U_\star, V_\star) against L, and the third-party audit's 16 -> 4096 ratio.  Returns the JSON-able
    {"runs": [...], "fits": [...], "findings": [...]}; quick <= 20 s, full <= 6 min on 2 cores."""
    seed = seed_value(seed)
    cfg = _finite_setting(bool(quick))
    S, d = cfg["Sigma"], cfg["d"]
    say = progress or (lambda msg: None)
    t_start = time.perf_counter()
    U0, V0 = balanced_init(S, cfg["alpha"])
    ref = gradient_descent(U0, V0, S, cfg["eta"], cfg["n_steps"], noise=cfg["noise"], record_every=cfg["record_every"])
    ref_risk = risk_along(ref)
    seeds = [seed * 1000 + j for j in range(cfg["seeds"])]
    runs = [{"kind": "L=inf GD", "L": None, "t": ref.t.tolist(), "risk": ref_risk.tolist(),
             "off_subspace": off_subspace_norm(ref).tolist(), "balance_end": float(balance(ref)[-1])}]
    balanced = []
    for L in cfg["Ls"]:
        rows = [_one_run(cfg, L, s, (U0, V0), ref, "balanced") for s in seeds]
        agg = _aggregate("balanced", L, rows, cfg)
        balanced.append(agg)
        runs.append(agg)
        say(f"finite L={L}: final excess {agg['final_excess'][0]:.3g} +- {agg['final_excess'][1]:.1g}, late parameter gap "
            f"{agg['param_gap_late'][0]:.3g} ({agg['seconds']}s)")
    generic = []
    for k, s in enumerate(seeds[: max(2, len(seeds) // 2)]):
        G0 = _generic_start(S, cfg["alpha"], cfg["generic_scale"], s)
        gref = gradient_descent(*G0, S, cfg["eta"], cfg["n_steps"], noise=cfg["noise"], record_every=cfg["record_every"])
        generic.append({"L": None, "seed": s, "off_subspace": off_subspace_norm(gref).tolist(),
                        "risk_end": float(risk_along(gref)[-1])})
        for L in cfg["generic_Ls"]:
            p = finite_gd(*G0, S, L, cfg["eta"], cfg["n_steps"], batch=cfg["batch"], seed=s, tag="generic",
                          record_every=cfg["record_every"])
            generic.append({"L": L, "seed": s, "off_subspace": off_subspace_norm(p).tolist(), "diverged": p.diverged})
    for L in [None, *cfg["generic_Ls"]]:
        rows = [g for g in generic if g["L"] == L and not g.get("diverged")]
        curve, se = _curve(rows, "off_subspace")
        runs.append({"kind": "generic start", "L": L if L else "inf", "seeds": len(rows), "off_subspace": curve,
                     "off_subspace_se": se})
    say(f"generic starts: {len(generic)} runs")
    fits = []
    Ls = [r["L"] for r in balanced]
    for key, what in (("final_excess", "final R_L - Bayes risk"), ("param_gap_late", "late parameter gap |theta_L - theta_inf|"),
                      ("risk_gap_late", "late |R_inf(theta_L) - R_inf(theta_inf)|"),
                      ("final_Rinf", "R_inf at the Polyak-averaged finite-L end (L = inf run: -> Bayes risk)")):
        try:
            f = fit_rate(Ls, [tuple(r[key]) for r in balanced])
            fits.append({"quantity": what, "Ls": Ls, "exponent": f.exponent, "stderr": f.stderr,
                         "interval": list(f.interval), "intercept": f.intercept, "chi2_dof": f.chi2 / max(f.dof, 1)})
        except ValueError as exc:
            fits.append({"quantity": what, "Ls": Ls, "error": str(exc)})
    excess_fit = None
    if "error" not in fits[0]:
        excess_fit = fit_rate(Ls, [tuple(r["final_excess"]) for r in balanced])
    l_eps = _l_of_eps(balanced, excess_fit)
    runs.append({"kind": "L(eps)", "rows": l_eps})
    Us, Vs = bayes_point(S)
    star = []
    for L in cfg["Ls"]:
        e = icl_risk_mc(Us, Vs, S, L, cfg["n_eval"], np.random.SeedSequence([seed, L, zlib.crc32(b"star")]), cfg["noise"])
        star.append({"L": L, "R_L": [e.mean, e.stderr]})
    runs.append({"kind": "R_L at (U*, V*)", "setting": f"Toeplitz(0.5) d={d}", "rows": star})
    try:
        f = fit_rate(cfg["Ls"], [tuple(r["R_L"]) for r in star])
        fits.append({"quantity": "R_L(U*, V*) - Bayes risk", "Ls": list(cfg["Ls"]), "exponent": f.exponent,
                     "stderr": f.stderr, "interval": list(f.interval), "intercept": f.intercept,
                     "chi2_dof": f.chi2 / max(f.dof, 1)})
    except ValueError as exc:
        fits.append({"quantity": "R_L(U*, V*) - Bayes risk", "error": str(exc)})
    audit = _audit_ratio(bool(quick), seed)
    runs.append({"kind": "audit ratio 16 -> 4096", "rows": audit})
    say(f"audit ratio: {[round(a['ratio'], 1) for a in audit]}")
    findings = _finite_findings(cfg, balanced, runs, fits, l_eps, star, audit)
    findings.append(f"setting: d={d}, Sigma=Toeplitz(0.5), w~N(0,I), noise 0, alpha={cfg['alpha']}, P=I/sqrt(d), "
                    f"eta={cfg['eta']}, {cfg['n_steps']} steps (T={cfg['n_steps'] * cfg['eta']:g}), batch {cfg['batch']}, "
                    f"{cfg['seeds']} seeds; {time.perf_counter() - t_start:.1f}s")
    return {"runs": runs, "fits": fits, "findings": findings}


def _decay_rate(o, cfg) -> float:
    """-slope of log ||(u, a)|| against t over the second half of the records."""
    o = np.asarray(o, dtype=float)
    h = len(o) // 2
    t = np.arange(len(o))[h:] * cfg["record_every"] * cfg["eta"]
    return float(-np.polyfit(t, np.log(np.maximum(o[h:], 1e-300)), 1)[0])


def _verdict(first: float, last: float, noisy: bool = True) -> str:
    if last <= 1e-3 * first:
        return "attracts"
    if last < 0.5 * first:
        return "attracts down to a noise floor" if noisy else "attracts (still decaying at the horizon)"
    if last <= 2 * first:
        return "is preserved (neither attracts nor repels)"
    return "is left"


def _finite_findings(cfg, balanced, runs, fits, l_eps, star, audit) -> list[str]:
    out = []
    gaps = [(r["L"], r["param_gap_late"], r["risk_gap_late"], r["final_excess"]) for r in balanced if "final_excess" in r]
    out.append("late (t in [T/2, T]) gap to the L = inf GD run, mean +- s.e. over seeds: " + "; ".join(
        f"L={L}: |theta| {g[0]:.3g}+-{g[1]:.1g}, |R_inf| {r[0]:.2g}+-{r[1]:.1g}" for L, g, r, _ in gaps))
    for name, k in (("parameter", 1), ("R_inf", 2)):
        mono = all(gaps[i][k][0] > gaps[i + 1][k][0] for i in range(len(gaps) - 1))
        out.append(f"the late {name} gap {'decreases' if mono else 'does NOT decrease monotonically'} in L over "
                   f"{[g[0] for g in gaps]}")
    ref_bal = next(r for r in runs if r.get("kind") == "L=inf GD")["balance_end"]
    out.append(f"balance ||U||^2 - ||V||^2 at the end: L = inf GD {ref_bal:.3g}; finite L " + "; ".join(
        f"L={r['L']}: {r['balance_end'][0]:.3g}+-{r['balance_end'][1]:.1g}" for r in balanced if "balance_end" in r)
               + " (gradient noise diffuses along the flat Bayes family A -> cA, b -> b/c, which the parameter gap "
                 "also measures; the R_inf gap does not)")
    out.append("final R_L - Bayes risk at the Polyak-averaged end (icl_risk_mc): " + "; ".join(
        f"L={L}: {e[0]:.3g}+-{e[1]:.1g}" for L, _, _, e in gaps))
    for f in fits:
        if "error" in f:
            out.append(f"fit {f['quantity']}: no power law ({f['error']})")
        else:
            out.append(f"fit {f['quantity']} ~ L^p: p = {f['exponent']:.3f} +- {f['stderr']:.2g}, 95% CI "
                       f"[{f['interval'][0]:.3f}, {f['interval'][1]:.3f}], chi2/dof {f['chi2_dof']:.2g}")
    out.append("empirical L(eps) (smallest grid L with final excess + 2 s.e. <= eps; fitted law): " + "; ".join(
        f"eps={r['eps']:g}: grid {r['L_grid'] if r['L_grid'] else '> ' + str(cfg['Ls'][-1])}, fitted "
        f"{'n/a' if r['L_fitted'] is None else format(r['L_fitted'], '.3g')}" for r in l_eps))
    trained = {r["L"]: r["final_excess"] for r in balanced if "final_excess" in r}
    out.append("R_L at the L = inf optimum (U*, V*) vs the trained finite-L end: " + "; ".join(
        f"L={s['L']}: {s['R_L'][0]:.3g} vs {trained[s['L']][0]:.3g}" for s in star if s["L"] in trained))
    worse = [s["L"] for s in star if s["L"] in trained and trained[s["L"]][0] - s["R_L"][0]
             > 2 * math.hypot(trained[s["L"]][1], s["R_L"][1])]
    if worse:
        out.append(f"at L = {worse} the trained end is significantly WORSE than (U*, V*) itself (2 s.e.): at this step "
                   f"and batch the gradient-noise floor exceeds the finite-L bias, so the measured excess there is the "
                   f"SGD floor, not the minimum of R_L (which is <= R_L(U*, V*))")
    inf_row = next(r for r in runs if r.get("kind") == "generic start" and r["L"] == "inf")
    o = inf_row["off_subspace"]
    half = len(o) // 2
    out.append(f"invariant subspace at L = inf from generic starts (N(0, {cfg['generic_scale']}^2) on every active entry): "
               f"||(u, a)|| {o[0]:.3g} -> {o[half]:.3g} (t={half * cfg['record_every'] * cfg['eta']:g}) -> {o[-1]:.3g}: "
               f"the subspace {_verdict(o[0], o[-1], noisy=False)} (decay rate {_decay_rate(o, cfg):.3g} per unit time "
               f"over the second half)")
    for r in runs:
        if r.get("kind") == "generic start" and r["L"] != "inf":
            o = r["off_subspace"]
            bal = next(b for b in balanced if b["L"] == r["L"])
            floor = float(np.mean(bal["off_subspace"][len(bal["off_subspace"]) // 2:]))
            out.append(f"invariant subspace at L = {r['L']} (SGD, batch {cfg['batch']}): from generic starts ||(u, a)|| "
                       f"{o[0]:.3g} -> {o[-1]:.3g} ({_verdict(o[0], o[-1])}); from the balanced start (on the subspace) "
                       f"it is left to a late mean of {floor:.3g}: the gradient noise of fresh prompts kicks (u, a) off, "
                       f"the expected gradient does not (R_L is even in (u, a), the symmetry w -> -w)")
    for a in audit:
        extra = f" (raw R_16/R_4096 = {a['raw_ratio']:.2f})" if "raw_ratio" in a else ""
        out.append(f"ratio {a['setting']}, {a['attention']}: (R_16 - R*)/(R_4096 - R*) = {a['ratio']:.4g} +- "
                   f"{a['ratio_stderr']:.2g}{extra}")
    lin = [a for a in audit if a["attention"] == "linear" and a["noise_var"] == 0.0]
    sm = [a for a in audit if a["attention"] == "softmax"]
    out.append(f"the 232-263x drop from L = 16 to 4096 reported by the third-party audit ({AUDIT_REPO}) is normalised "
               f"LINEAR attention at (U*, V*) without label noise: its excess risk is "
               f"exactly proportional to 1/L (4096/16 = 256; measured {', '.join(format(a['ratio'], '.0f') for a in lin)}), "
               f"for any Sigma and any task scale; softmax at (U*, V*) drops only "
               f"{', '.join(format(a['ratio'], '.0f') for a in sm)}x (slower than 1/L); with label noise variance 0.1 the "
               f"raw risks drop only ~{audit[-1]['raw_ratio']:.1f}x (the noise floor s^2/2), so the figure is an excess risk")
    return out


# ------------------------------------------------------------------------------------------ the SGD part

QUICK = {"intended_Ls": (10, 100), "authors_Ls": (10, 100), "n_steps": 100, "windows": 10, "n_eval": 512,
         "n_bayes": 512}
FULL = {"intended_Ls": LS, "authors_Ls": (10, 100, 1000), "n_steps": 1000, "windows": 30, "n_eval": 8192,
        "n_bayes": 4096}


def _est(e: Estimate | None) -> dict | None:
    return None if e is None else {"mean": e.mean, "stderr": e.stderr, "n": e.n}


def run_sgd(*, quick: bool, seed: int, progress: Callable[[str], None] | None = None) -> dict:
    r"""The authors' experiment in our setting (:mod:`verify.icl.training_sgd`): {"runs": [...], "fits": [...], "findings": [...],
    "config": {...}, "infinite": {...}}, JSON-serialisable.  Full: intended mode at every L of :data:`LS`, authors'
    mode at L = 10, 100, 1000, 1000 SGD steps (about 5 minutes on 2 cores), 8192 held-out prompts; quick: L = 10, 100,
    100 steps, 512 prompts.  ``seconds`` is wall time, ``cpu_seconds`` the process's CPU time (load-independent)."""
    if not isinstance(quick, bool):
        raise TypeError(f"quick: expected a bool, got {type(quick).__name__}")
    seed = seed_value(seed)
    cfg = QUICK if quick else FULL
    S, s = toeplitz_sigma(DIM, RHO), math.sqrt(NOISE_VAR)
    n = cfg["n_steps"]
    runs, fits = [], []
    t_all, cpu_all = time.perf_counter(), time.process_time()
    for mode in MODES:
        rinf = risk_infinite_intended if mode == "intended" else risk_infinite_authors
        steps_at = None
        for L in cfg[f"{mode}_Ls"]:
            t0 = time.perf_counter()
            res = sgd_run(mode, MODELS, L, n, seed, windows=cfg["windows"])
            ev = held_out(mode, {m: (res[m]["U"], res[m]["V"]) for m in MODELS}, L, cfg["n_eval"], seed)
            bay = bayes_risk(mode, L, cfg["n_bayes"], seed)
            steps_at = res["softmax"]["window_steps"]
            for m in MODELS:
                U, V = res[m]["U"], res[m]["V"]
                runs.append({"mode": mode, "model": m, "L": L, "n_steps": n, "eta": ETA, "batch": BATCH, "alpha": ALPHA,
                             "final_risk": _est(ev[m]), "bayes_risk_L": _est(bay), "bayes_risk_inf": s * s / 2,
                             "paired_softmax_minus_linear": _est(ev["softmax-linear"]),
                             "rinf_model": rinf(U, V), "rinf_intended": risk_infinite_intended(U, V),
                             **bA_distances(U, V, S), "diverged": res[m]["diverged"],
                             "window_steps": res[m]["window_steps"], "window_risk": res[m]["window_risk"],
                             "window_se": res[m]["window_se"], "U": U.tolist(), "V": V.tolist(),
                             "seconds": round(time.perf_counter() - t0, 3)})
            if progress:
                progress(f"sgd {mode} L={L}: softmax {ev['softmax']}, linear {ev['linear']}, Bayes {bay} "
                         f"({time.perf_counter() - t0:.1f}s)")
        ref = infinite_reference(mode, n, [int(round(k)) for k in steps_at] + [0])
        runs.append({"mode": mode, "model": "L=inf GD", "L": None, "n_steps": n, "eta": ETA, "alpha": ALPHA,
                     "window_steps": ref["steps"], "window_risk": ref["risk"], "final_risk_exact": ref["risk"][-1],
                     "bayes_risk_inf": s * s / 2, "rinf_intended": risk_infinite_intended(ref["U"], ref["V"]),
                     **bA_distances(ref["U"], ref["V"], S)})
        scale = math.hypot(np.linalg.norm(ref["U"]), np.linalg.norm(ref["V"]))
        for r in runs:
            if r["mode"] == mode and r["model"] in MODELS:  # the trajectory gap at the last step, relative
                r["param_gap_to_inf_gd"] = float(math.hypot(np.linalg.norm(np.array(r["U"]) - ref["U"]),
                                                            np.linalg.norm(np.array(r["V"]) - ref["V"])) / scale)
        fits.append(_gap_fit(mode, [r for r in runs if r["mode"] == mode and r["model"] == "softmax"]))
    t0 = time.perf_counter()
    infinite = {"intended_flow": steps_to_excess(), "authors_flow": authors_flow(2e3 if not quick else 5e2)}
    if progress:
        progress(f"L = inf flows ({time.perf_counter() - t0:.1f}s)")
    result = {"config": {"quick": quick, "seed": seed, "d": DIM, "rho": RHO, "noise_var": NOISE_VAR, "task_var": TASK_VAR,
                         "batch": BATCH, "eta": ETA, "alpha": ALPHA, **{k: list(v) if isinstance(v, tuple) else v
                                                                          for k, v in cfg.items()}},
              "runs": runs, "fits": fits, "infinite": infinite}
    result["findings"] = _sgd_findings(result)
    result["seconds"] = round(time.perf_counter() - t_all, 2)
    result["cpu_seconds"] = round(time.process_time() - cpu_all, 2)
    return result


def _gap_fit(mode: str, rows: list[dict]) -> dict:
    r"""Power-law fit in L of the paired held-out difference R_L(softmax run) - R_L(linear run), where every point is
    significantly positive (:func:`verify.numerics.montecarlo.fit_rate`); otherwise the reason."""
    Ls = [r["L"] for r in rows]
    ests = [Estimate(r["paired_softmax_minus_linear"]["mean"], r["paired_softmax_minus_linear"]["stderr"],
                     r["paired_softmax_minus_linear"]["n"]) for r in rows]
    out = {"mode": mode, "quantity": "held-out R_L(softmax run) - R_L(linear run), paired", "Ls": Ls,
           "mean": [e.mean for e in ests], "stderr": [e.stderr for e in ests]}
    try:
        f = fit_rate(Ls, ests)
        out.update({"exponent": f.exponent, "interval": list(f.interval), "chi2": f.chi2})
    except (ValueError, TypeError) as err:
        out["error"] = str(err)
    return out


def _row(result, mode, model, L):
    return next(r for r in result["runs"] if r["mode"] == mode and r["model"] == model and r["L"] == L)


def _sgd_findings(result: dict) -> list[str]:
    out = []
    cfg = result["config"]
    n = cfg["n_steps"]
    inf = result["infinite"]
    s2h = cfg["noise_var"] / 2
    ref = next(r for r in result["runs"] if r["mode"] == "intended" and r["model"] == "L=inf GD")
    fl = inf["intended_flow"]
    out.append(f"budget: {n} SGD steps at eta={cfg['eta']:g} (t = {n * cfg['eta']:g}) is NOT convergence: the L = inf GD "
               f"with the same eta and start has risk {ref['final_risk_exact']:.4f} against the optimum s^2/2 = {s2h:g} "
               f"(excess {ref['final_risk_exact'] - s2h:.4f}); the L = inf flow needs {fl['0.01']} steps for excess "
               f"1e-2 and {fl['0.001']} for 1e-3 (the authors' 300,000 steps: excess {fl['excess_at_300k_steps']:.2g}); "
               f"the authors' MSELoss has no 1/2, so their lr 1e-3 is eta = 2e-3 here")
    for mode in ("intended", "authors"):
        Ls = cfg[f"{mode}_Ls"]
        parts = []
        for L in (Ls[0], Ls[-1]):
            sm, li = _row(result, mode, "softmax", L), _row(result, mode, "linear", L)
            dd = sm["paired_softmax_minus_linear"]
            parts.append(f"L={L}: softmax {sm['final_risk']['mean']:.4f} +- {sm['final_risk']['stderr']:.2g}, linear "
                         f"{li['final_risk']['mean']:.4f} +- {li['final_risk']['stderr']:.2g} (paired difference "
                         f"{dd['mean']:.2g} +- {dd['stderr']:.2g}), Bayes risk at L {sm['bayes_risk_L']['mean']:.4f}")
        ir = next(r for r in result["runs"] if r["mode"] == mode and r["model"] == "L=inf GD")
        out.append(f"{mode} data, final held-out risk after {n} steps: " + "; ".join(parts)
                   + f"; L = inf GD at the same step: {ir['final_risk_exact']:.4f}; Bayes risk at L = inf {s2h:g}")
    big = max(cfg["intended_Ls"])
    sm = _row(result, "intended", "softmax", big)
    z = (sm["final_risk"]["mean"] - sm["rinf_model"]) / sm["final_risk"]["stderr"]
    out.append(f"large L: at L={big} the softmax run's held-out R_L is {sm['final_risk']['mean']:.4f} +- "
               f"{sm['final_risk']['stderr']:.2g}, its own R_inf (closed form, = linear attention's limit) "
               f"{sm['rinf_model']:.4f} (z = {z:.2f}), the L = inf GD run {ref['final_risk_exact']:.4f}")
    af = inf["authors_flow"]
    out.append(f"authors' data (prompt covariance Sigma^2, query I): the L = inf flow (t = {af['t_end']:g}, "
               f"{af['method']}) converges to bA = Sigma^-2 (relative distance {af['rel_dist_sigma_inv2']:.2g}; to the "
               f"intended Sigma^-1: {af['rel_dist_sigma_inv']:.3g}); its risk is {af['risk_authors']:.6g} = s^2/2 in their "
               f"model but {af['risk_intended']:.6g} in the intended one (closed form s^2/2 + tau^2((tr Sigma^-1 + "
               f"tr Sigma)/2 - d) = {af['predicted_intended']:.6g}: excess 4/15 over the Bayes risk {s2h:g})"
               + "".join(f"; at {k} (300,000 steps at eta = {float(k[2:]) / 3e5:g}): distance to Sigma^-2 "
                         f"{v['rel_dist_sigma_inv2']:.2g}, risk "
                         f"{v['risk_authors']:.4f} in their model, {v['risk_intended']:.4f} in the intended one"
                         for k, v in af["at_authors_budget"].items()))
    Lb = max(cfg["authors_Ls"])
    a = _row(result, "authors", "softmax", Lb)
    ra = next(r for r in result["runs"] if r["mode"] == "authors" and r["model"] == "L=inf GD")
    out.append(f"authors' data after {n} SGD steps (L={Lb}, softmax): R_inf in their model {a['rinf_model']:.4f}, in the "
               f"intended model {a['rinf_intended']:.4f}; bA is {a['bA_to_Sigma_inv2']:.3g} (relative) from Sigma^-2 and "
               f"{a['bA_to_Sigma_inv']:.3g} from Sigma^-1 (the L = inf GD at the same step: "
               f"{ra['bA_to_Sigma_inv2']:.3g} and {ra['bA_to_Sigma_inv']:.3g}): after t = {n * cfg['eta']:g} the runs "
               f"have not yet separated the two candidate limits")
    gaps = [_row(result, "intended", m, L) for m in MODELS for L in (cfg["intended_Ls"][0], big)]
    out.append("trajectory gap ||theta_L - theta_inf|| / ||theta_inf|| at the last step (intended data; SGD vs GD on "
               "R_inf): " + ", ".join(f"{r['model']} L={r['L']}: {r['param_gap_to_inf_gd']:.3g}" for r in gaps))
    for f in result["fits"]:
        if "exponent" in f:
            out.append(f"{f['mode']}: softmax - linear held-out gap ~ L^{f['exponent']:.3f} "
                       f"[{f['interval'][0]:.3f}, {f['interval'][1]:.3f}]")
        else:
            out.append(f"{f['mode']}: no rate fit for the softmax - linear gap ({f['error']})")
    return out


def sgd_summary(result: dict) -> str:
    """Terminal table of :func:`run_sgd` and its findings."""
    lines = _sgd_table(result) + ["findings:"]
    lines += [textwrap.fill(x, 110, initial_indent="  - ", subsequent_indent="    ") for x in result["findings"]]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ the study


def _run_part(part: str, quick: bool, seed: int, progress=None) -> dict:
    """One part of ``verify train`` (a cell of :func:`run`'s sweep), JSON-ready (numbers as Python floats)."""
    runners = {"infinite": run_infinite_part, "finite": run_finite, "sgd": run_sgd}
    t0 = time.perf_counter()
    res = runners[part](quick=bool(quick), seed=seed, progress=progress)
    res.setdefault("seconds", round(time.perf_counter() - t0, 2))
    return json.loads(json.dumps(res, default=float))


def run(*, quick: bool = False, seed: int = 0, progress: Callable[[str], None] | None = None, parts=None,
        workers: int | None = None, scheduler: str | None = None, log=None) -> dict:
    r"""``verify train``: one JSON-able object {"runs": {part: result}, "fits": [...], "findings": [...], "seed",
    "quick"} over the ``parts`` (default all of :data:`PARTS`); each part's result is that of
    :func:`run_infinite_part`, :func:`run_finite` or :func:`run_sgd` (their own runs, fits, findings); the top-level
    fits and findings are theirs, tagged with the part.  Full: about 12 minutes on 2 idle cores.

    The parts are the cells of a :func:`verify.sweep.run_sweep` (keyed by (part, seed, quick); each part's
    randomness comes from ``seed`` alone): in-process by default, ``workers`` processes of a Dask LocalCluster or
    the cluster at ``scheduler``, ``log`` (JSON lines) to resume; the result is the same on every backend."""
    from verify.sweep import Cell, run_sweep

    seed = seed_value(seed)
    parts = PARTS if parts is None else tuple(dict.fromkeys(parts))
    unknown = [p for p in parts if p not in PARTS]
    if unknown or not parts:
        raise ValueError(f"parts: expected a non-empty subset of {PARTS}, got {parts!r}")
    local = workers in (None, 1) and scheduler is None
    cells = [Cell(("train", part, seed, bool(quick)), _run_part, (part, bool(quick), seed, progress if local else None))
             for part in sorted(parts, key=lambda p: -{"finite": 3, "sgd": 2, "infinite": 1}[p])]  # longest first

    def told(done, total, key):
        if progress:
            progress(f"[{done}/{total}] train part {key[1]} done")

    results = run_sweep(cells, workers=workers, scheduler=scheduler, log=log, progress=told)
    out = {"runs": {}, "fits": [], "findings": [], "seed": seed, "quick": bool(quick)}
    for part in parts:
        res = results[("train", part, seed, bool(quick))]
        out["runs"][part] = res
        out["fits"] += [{"part": part, **f} if isinstance(f, dict) else {"part": part, "fit": f} for f in res["fits"]]
        out["findings"] += [f"[{part}] {f}" for f in res["findings"]]
    return out


def ok(result: dict) -> bool:
    r"""Every L = \infty run reached (U_\star, V_\star), kept its balance within the tolerated drift and its energy
    identity to 1e-8, and its risk is the Bayes risk to 1e-12; the finite-L and SGD parts ran without a diverged
    run (their measurements are findings, not pass/fail: Theorem 4.3 is checked by the statement train-finite)."""
    runs = result["runs"]
    inf_ok = all(r["t_converged"] is not None and r["balance_drift"] <= r["balance_allowed"]
                 and r["dissipation_gap"] <= 1e-8 and abs(r["excess_risk"]) <= 1e-12
                 for r in runs.get("infinite", {}).get("runs", []))
    finite_ok = all(not r.get("diverged", False) for r in runs.get("finite", {}).get("runs", []))
    sgd_ok = all(not r.get("diverged", False) for r in runs.get("sgd", {}).get("runs", []))
    return inf_ok and finite_ok and sgd_ok


def _n(v, digits: int = 3) -> str:
    """A number to ``digits`` significant digits with a real minus sign; ``–`` for None."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    v = float(v)
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
        mantissa, exponent = f"{v:.{max(digits - 1, 0)}e}".split("e")
        return f"{mantissa}e{int(exponent)}".replace("-", "−")
    if abs(v) >= 10 ** digits:
        return str(int(round(v))).replace("-", "−")
    return f"{v:.{digits}g}".replace("-", "−")


def _pm(est, digits: int = 3) -> str:
    """mean ± stderr of a [mean, stderr] pair (or an Estimate-like dict), the error to 1 significant digit."""
    m, se = (est["mean"], est["stderr"]) if isinstance(est, dict) else est
    return f"{_n(m, digits)} ± {_n(se, 1)}"


def _width() -> int:
    import shutil

    return max(80, shutil.get_terminal_size((100, 24)).columns)


def _wrap(text: str, first: str = "  ", rest: str = "    ") -> list[str]:
    return textwrap.wrap(text, _width(), initial_indent=first, subsequent_indent=rest, break_on_hyphens=False)


_INCONCLUSIVE = ("NOT decrease", "no power law", "no rate fit", "not significantly", "have not yet separated",
                 "significantly WORSE", "still decaying")
"""Phrases of findings that report what a small budget could not resolve: in quick mode they are marked."""


def headlines(result: dict) -> list[str]:
    """The training study's headline findings, one sentence each, computed from ``result`` (the parts it ran)."""
    runs, out = result["runs"], []
    if "infinite" in runs:
        cells = runs["infinite"]["init_interval"]
        conv = sum(bool(c["converged"]) for c in cells)
        alphas = [c["alpha"] for c in cells]
        outside_p = [c for c in cells if not c["in_printed"]]
        outside_z = [c for c in cells if not c["in_zfb"]]
        out.append(f"[infinite] From the balanced initialisation the L = ∞ gradient flow reaches the Bayes point for "
                   f"every α tried: {conv}/{len(cells)} cells, α = {min(alphas):g} … {max(alphas):g}, "
                   f"{sum(bool(c['converged']) for c in outside_p)}/{len(outside_p)} outside the printed interval "
                   f"α < √2/(d^¼‖Σ‖op) and {sum(bool(c['converged']) for c in outside_z)}/{len(outside_z)} outside "
                   "ZFB's α²‖Σ‖op√d < 2: neither condition is needed (Thms 5.1/5.2).")
    if "finite" in runs:
        fin = runs["finite"]
        bal = [r for r in fin["runs"] if r.get("kind") == "balanced" and "final_excess" in r]
        fit = next((f for f in fin["fits"] if isinstance(f, dict) and f.get("quantity") == "final R_L - Bayes risk"
                    and "exponent" in f), None)
        leps = next((r["rows"] for r in fin["runs"] if r.get("kind") == "L(eps)"), [])
        e01 = next((r for r in leps if r["eps"] == 0.1), None)
        text = ("[finite] Training at finite prompt length approaches training at L = ∞ (Thm 4.3): the final excess "
                "risk over the Bayes risk is " + ", ".join(f"{_pm(r['final_excess'])} at L = {r['L']}" for r in bal))
        if fit:
            text += (f", a rate L^{_n(fit['exponent'])} (95% CI [{_n(fit['interval'][0])}, "
                     f"{_n(fit['interval'][1])}])")
        if e01 and e01["L_grid"]:
            text += f"; the excess falls below 0.1 from L = {e01['L_grid']} on"
        out.append(text + ".")
        ratio = next((r["rows"] for r in fin["runs"] if r.get("kind") == "audit ratio 16 -> 4096"), [])
        theirs = [a for a in ratio if a["setting"].startswith("third-party audit:")]
        lin = next((a for a in theirs if a["attention"] == "linear"), None)
        soft = next((a for a in theirs if a["attention"] == "softmax"), None)
        if lin and soft:
            out.append(f"[finite] The 232–263× drop of the risk from L = 16 to 4096 reported by the third-party audit "
                       f"({AUDIT_REPO}) is normalised linear attention at (U*, V*): its excess risk is exactly ∝ 1/L "
                       f"(4096/16 = 256; measured {lin['ratio']:.0f} ± {lin['ratio_stderr']:.0f} in its setting), "
                       f"while softmax attention drops {soft['ratio']:.0f} ± {soft['ratio_stderr']:.0f}×.")
    if "sgd" in runs:
        sgd = runs["sgd"]
        af, cfg = sgd["infinite"]["authors_flow"], sgd["config"]
        out.append(f"[sgd] The authors' data code (prompts N(0, Σ²), queries N(0, I)) sends the L = ∞ flow to "
                   f"bA = Σ⁻² (relative distance {af['rel_dist_sigma_inv2']:.1g}), not Σ⁻¹: its risk in the intended "
                   f"model is {af['risk_intended']:.4f}, {af['risk_intended'] - cfg['noise_var'] / 2:.4f} above the "
                   f"Bayes risk {cfg['noise_var'] / 2:g}.")
        ref = next(r for r in sgd["runs"] if r["mode"] == "intended" and r["model"] == "L=inf GD")
        fl = sgd["infinite"]["intended_flow"]
        out.append(f"[sgd] {cfg['n_steps']} SGD steps at η = {cfg['eta']:g} are far from convergence: gradient descent "
                   f"on R∞ with the same step is at risk {ref['final_risk_exact']:.4f} against the optimum "
                   f"{cfg['noise_var'] / 2:g}, and needs {fl['0.01']:,} steps to come within 1e-2.")
    return out


def _infinite_summary(part: dict) -> list[str]:
    lines = ["L = ∞: gradient flow on R∞ from the balanced initialisation (α = 0.5)",
             f"  {'case':<26} {'t(1e-9)':>8} {'distance':>9} {'R − s²/2':>9} {'drift/tol':>9} {'energy':>7} "
             f"{'GD order':>8} {'steps':>6} {'s':>5}"]
    for r in part["runs"]:
        t = "never" if r["t_converged"] is None else _n(r["t_converged"], 4)
        lines.append(f"  {r['label']:<26} {t:>8} {_n(r['distance'], 1):>9} {_n(r['excess_risk'], 1):>9} "
                     f"{_n(r['balance_drift'] / r['balance_allowed'], 1):>9} {_n(r['dissipation_gap'], 1):>7} "
                     f"{r['gd_order']:>8.3f} {r['steps']:>6} {r['seconds']:>5.1f}")
    cells = part["init_interval"]
    lines += ["", "Initialisation interval: α from 1e-3 to 100 and α = 4 (P random); the time to reach the Bayes family",
              f"  {'d':>2} {'‖Σ‖op':>6} {'printed bound':>13} {'ZFB bound':>9} {'converge':>9} {'slowest t':>10}"]
    for d, norm in sorted({(c["d"], c["sigma_op"]) for c in cells}):
        row = [c for c in cells if c["d"] == d and c["sigma_op"] == norm]
        slow = max(math.inf if c["t_reach"] is None else c["t_reach"] for c in row)
        lines.append(f"  {d:>2} {norm:>6g} {_n(printed_bound(d, norm)):>13} {_n(zfb_bound(d, norm)):>9} "
                     f"{sum(c['converged'] for c in row):>4}/{len(row):<4} {_n(slow, 4):>10}")
    return lines


def _finite_summary(part: dict) -> list[str]:
    lines = ["Finite L: gradient descent on R_L (fresh prompts each step) against gradient descent on R∞, same start",
             f"  {'L':>6} {'final R_L − Bayes':>20} {'late parameter gap':>19}"]
    for r in part["runs"]:
        if r.get("kind") == "balanced" and "final_excess" in r:
            gap = _n(r["param_gap_late"][0]) if "param_gap_late" in r else "–"
            lines.append(f"  {r['L']:>6} {_pm(r['final_excess']):>20} {gap:>19}")
    lines.append("  power laws in L:")
    for f in part["fits"]:
        if not isinstance(f, dict):
            lines.append(f"    {f}")
        elif "exponent" in f:
            lo, hi = f.get("interval", [None, None])
            lines.append(f"    {f['quantity']}: L^{_n(f['exponent'])} (95% CI [{_n(lo)}, {_n(hi)}], "
                         f"χ²/dof {_n(f['chi2_dof'], 2)})")
        else:
            lines.append(f"    {f['quantity']}: no power law ({f['error']})")
    return lines


def _sgd_table(part: dict) -> list[str]:
    cfg = part["config"]
    lines = [f"The authors' experiment in the (U, V) setting: SGD, η = {cfg['eta']:g}, batch {cfg['batch']}, "
             f"{cfg['n_steps']} steps, α = {cfg['alpha']:g}; held-out risks",
             f"  {'data':<9} {'L':>5} {'softmax R_L':>16} {'linear R_L':>16} {'paired difference':>18} "
             f"{'Bayes(L)':>9} {'R∞(softmax)':>12}"]
    for r in part["runs"]:
        if r["model"] != "softmax":
            continue
        li = _row(part, r["mode"], "linear", r["L"])
        lines.append(f"  {r['mode']:<9} {r['L']:>5} {_pm(r['final_risk']):>16} {_pm(li['final_risk']):>16} "
                     f"{_pm(r['paired_softmax_minus_linear'], 2):>18} {r['bayes_risk_L']['mean']:>9.4f} "
                     f"{r['rinf_model']:>12.4f}")
    return lines


def summary(result: dict) -> str:
    """The terminal summary of ``verify train``: the headline findings first, then each part's table, then every
    finding (in quick mode, the ones a small budget cannot resolve are marked as such)."""
    quick = bool(result.get("quick"))
    runs = result["runs"]
    lines = [f"verify train: {'ok' if ok(result) else 'FAILED'} — parts {', '.join(runs)} "
             f"(seed {result.get('seed', 0)}{', quick mode' if quick else ''})"]
    if quick:
        lines += _wrap("quick mode: fewer cases, L values, seeds and steps. Findings marked 'quick mode, "
                       "inconclusive' report what this budget cannot resolve; rerun without --quick.", "  ", "  ")
    lines += ["", "Headline findings"]
    for k, text in enumerate(headlines(result), 1):
        lines += _wrap(text, f"  {k}. ", "     ")
    if "infinite" in runs:
        lines += [""] + _infinite_summary(runs["infinite"])
    if "finite" in runs:
        lines += [""] + _finite_summary(runs["finite"])
    if "sgd" in runs:
        lines += [""] + _sgd_table(runs["sgd"])
    lines += ["", "All findings"]
    for f in result["findings"]:
        if quick and any(p in f for p in _INCONCLUSIVE):
            part, _, rest = f.partition("] ")
            f = f"{part}] (quick mode, inconclusive) {rest}"
        lines += _wrap(f, "  - ", "    ")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ outputs


def write(result: dict, directory) -> list[Path]:
    """Write train.json (every number), init_interval.csv and the figures of each part into ``directory``
    (:func:`verify.studies.figures.output_dir`): risk against time for each L and L = inf, final excess risk and
    trajectory gap against L (:func:`write_finite_figures`), the SGD experiment (:func:`write_sgd_figures`; not in
    quick mode, whose 100 steps leave every run at its initial risk: the figures would show nothing) and the
    alpha sweep (:func:`alpha_figure`)."""
    out = output_dir(directory)
    j = out / "train.json"
    j.write_text(json.dumps(result, indent=1, default=float))
    written = [j]
    runs = result["runs"]
    if "infinite" in runs:
        c = out / "init_interval.csv"
        keys = ["d", "sigma_op", "alpha", "in_printed", "in_zfb", "converged", "t_reach", "family_distance", "distance",
                "t_end", "steps"]
        c.write_text("\n".join([",".join(keys)] + [",".join("" if r[k] is None else str(r[k]) for k in keys)
                                                   for r in runs["infinite"]["init_interval"]]) + "\n")
        written.append(c)
    if "finite" in runs:
        written += write_finite_figures(runs["finite"], out)
    if "sgd" in runs and not result.get("quick"):
        written += write_sgd_figures(runs["sgd"], out)
    if "infinite" in runs:
        written.append(alpha_figure(runs["infinite"]["init_interval"], out / "alpha_sweep.png"))
    return written


def _fit_named(result: dict, quantity: str) -> dict | None:
    return next((f for f in result.get("fits", []) if isinstance(f, dict) and f.get("quantity") == quantity
                 and "exponent" in f), None)


def _fit_line(ax, fit: dict, Ls, colour, what: str) -> None:
    """The fitted power law exp(intercept) L^exponent over ``Ls``, its exponent and interval in the legend."""
    x = np.geomspace(min(Ls), max(Ls), 50)
    lo, hi = fit.get("interval", [None, None])
    ci = f" [{lo:.2f}, {hi:.2f}]" if lo is not None else ""
    ax.plot(x, math.exp(fit["intercept"]) * x ** fit["exponent"], ":", color=colour, lw=1.2,
            label=f"{what} fit $L^{{{fit['exponent']:.2f}}}$" + ci)


def write_finite_figures(result: dict, directory) -> list[Path]:
    """PNG figures (matplotlib Agg) of :func:`run_finite`'s result: finite_risk_vs_time.png (seed-mean batch risk
    R_L along time per L, and R_inf along the L = inf GD), finite_excess_vs_L.png (final R_L - Bayes risk with 2 s.e.
    bars and R_L(U*, V*), each with its fitted power law), finite_gap_vs_L.png (parameter gap to the L = inf run
    along time per L, and the late parameter and risk gaps against L)."""
    plt = pyplot()
    out = output_dir(directory)
    runs = result["runs"]
    inf = next(r for r in runs if r.get("kind") == "L=inf GD")
    bal = [r for r in runs if r.get("kind") == "balanced" and "batch_risk" in r]
    t = np.array(inf["t"])
    paths = []

    fig, ax = plt.subplots(figsize=(8.5, 4.2))
    for r in bal:
        ax.plot(t[1:], r["batch_risk"][1:], label=f"GD on $R_L$, $L = {r['L']}$ (batch risk, seed mean)")
    ax.plot(t, np.maximum(inf["risk"], 1e-4), "k--", label=r"GD on $\mathcal{R}_\infty$ (floored at $10^{-4}$)")
    ax.set_yscale("log"), ax.set_xlabel(r"time $t = k\eta$"), ax.set_ylabel("risk")
    legend_beside(ax)
    ax.set_title(r"Training at finite $L$ (fresh prompts each step) against training at $L = \infty$, same start",
                 fontsize=10)
    fig.tight_layout()
    paths.append(save(fig, out / "finite_risk_vs_time.png"))

    fig, ax = plt.subplots(figsize=(8.5, 4.4))
    Ls = [r["L"] for r in bal]
    ex = np.array([r["final_excess"] for r in bal])
    line = ax.errorbar(Ls, ex[:, 0], yerr=2 * ex[:, 1], fmt="o", capsize=3,
                       label=r"trained at $L$: final $R_L - s^2/2$ ($\pm 2$ s.e.)")
    fit = _fit_named(result, "final R_L - Bayes risk")
    if fit:
        _fit_line(ax, fit, Ls, line[0].get_color(), "trained:")
    star = next((r for r in runs if r.get("kind") == "R_L at (U*, V*)"), None)
    if star:
        sv = np.array([s["R_L"] for s in star["rows"]])
        line = ax.errorbar([s["L"] for s in star["rows"]], sv[:, 0], yerr=2 * sv[:, 1], fmt="s", capsize=3,
                           label=r"at the $L = \infty$ optimum $(U_\star, V_\star)$: $R_L - s^2/2$")
        fit = _fit_named(result, "R_L(U*, V*) - Bayes risk")
        if fit:
            _fit_line(ax, fit, [s["L"] for s in star["rows"]], line[0].get_color(), r"$(U_\star, V_\star)$:")
    ax.set_xscale("log"), ax.set_yscale("log"), ax.set_xlabel("prompt length $L$")
    ax.set_ylabel("excess risk over the Bayes risk")
    ax.set_title("Thm 4.3: the excess risk of training at finite $L$ decays with $L$", fontsize=10)
    legend_beside(ax)
    fig.tight_layout()
    paths.append(save(fig, out / "finite_excess_vs_L.png"))

    fig, (ax0, ax) = plt.subplots(1, 2, figsize=(12, 4.4))
    for r in bal:
        m, se = np.array(r["param_gap"]), np.array(r["param_gap_se"])
        ax0.plot(t, m, label=f"$L = {r['L']}$")
        ax0.fill_between(t, np.maximum(m - 2 * se, 1e-2), m + 2 * se, alpha=0.2)
    ax0.set_yscale("log"), ax0.set_ylim(bottom=1e-2), ax0.set_xlabel(r"time $t = k\eta$")
    ax0.set_ylabel(r"$\max|\theta_L(t) - \theta_\infty(t)|$")
    ax0.set_title("parameter gap to the $L = \\infty$ run along time (seed mean, $\\pm 2$ s.e.)", fontsize=9.5)
    ax0.legend(fontsize=8, loc="lower right")
    pg = np.array([r["param_gap_late"] for r in bal])
    rg = np.array([r["risk_gap_late"] for r in bal])
    line = ax.errorbar(Ls, pg[:, 0], yerr=2 * pg[:, 1], fmt="o", capsize=3,
                       label=r"$|\theta_L - \theta_\infty|$, late mean")
    fit = _fit_named(result, "late parameter gap |theta_L - theta_inf|")
    if fit:
        _fit_line(ax, fit, Ls, line[0].get_color(), "parameter gap:")
    ax.errorbar(Ls, rg[:, 0], yerr=2 * rg[:, 1], fmt="s", capsize=3,
                label=r"$|\mathcal{R}_\infty(\theta_L) - \mathcal{R}_\infty(\theta_\infty)|$, late mean")
    ax.set_xscale("log"), ax.set_yscale("log"), ax.set_xlabel("prompt length $L$"), ax.set_ylabel("late gap")
    ax.set_title("late gaps to the $L = \\infty$ run against $L$ (last half of the horizon)", fontsize=9.5)
    ax.legend(fontsize=7.5, loc="lower left")
    fig.tight_layout()
    paths.append(save(fig, out / "finite_gap_vs_L.png"))
    return paths


def write_sgd_figures(result: dict, directory) -> list[Path]:
    r"""PNG figures of :func:`run_sgd` into ``directory`` (:func:`verify.studies.figures.output_dir`): ``sgd_final_risk.png``
    (held-out R_L against L, both models, 95% CIs, Bayes risk at L and s^2/2, the L = \infty GD risk at the same
    step; for the authors' data also R_\infty of their softmax runs in the intended model and that of their limit),
    ``sgd_risk_vs_step.png`` (training risk windows per L and the L = \infty GD curve), ``sgd_trajectory_gap.png``
    (relative distance of the SGD parameters at the last step to the L = \infty GD ones, against L), and
    ``alpha_sweep.png`` when ``result`` carries ``init_interval`` rows (:func:`alpha_figure`)."""
    out = output_dir(directory)
    plt = pyplot()
    paths = []
    cfg = result["config"]
    names = {"intended": "the intended data model", "authors": "the authors' data code"}
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.4), sharey=True)
    for ax, mode in zip(axes, MODES):
        Ls = cfg[f"{mode}_Ls"]
        for model, mk in zip(MODELS, ("o-", "s--")):
            rows = [_row(result, mode, model, L) for L in Ls]
            ax.errorbar(Ls, [r["final_risk"]["mean"] for r in rows], yerr=[1.96 * r["final_risk"]["stderr"] for r in rows],
                        fmt=mk, capsize=3, label=f"{model} attention, SGD (held-out, 95%)")
        rows = [_row(result, mode, "softmax", L) for L in Ls]
        ax.plot(Ls, [r["bayes_risk_L"]["mean"] for r in rows], "k:", label="Bayes risk at $L$")
        ax.axhline(cfg["noise_var"] / 2, color="grey", lw=0.8, label=r"$s^2/2$ (Bayes risk at $L = \infty$)")
        ref = next(r for r in result["runs"] if r["mode"] == mode and r["model"] == "L=inf GD")
        ax.axhline(ref["final_risk_exact"], color="C2", ls="-.", label=f"GD on $\\mathcal{{R}}_\\infty$ at step {cfg['n_steps']}")
        if mode == "authors":
            ax.plot(Ls, [r["rinf_intended"] for r in rows], "^:", color="C3",
                    label=r"softmax run: $\mathcal{R}_\infty$ in the intended model")
            ax.axhline(result["infinite"]["authors_flow"]["predicted_intended"], color="C3", lw=0.8,
                       label=r"their limit $\Sigma^{-2}/b$: risk in the intended model")
        ax.set_xscale("log")
        ax.set_xlabel("prompt length $L$")
        ax.set_title(f"{names[mode]}: held-out risk after {cfg['n_steps']} SGD steps", fontsize=10)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, frameon=False)
    axes[0].set_ylabel(r"risk ($\frac{1}{2}$ MSE)")
    fig.tight_layout()
    paths.append(save(fig, out / "sgd_final_risk.png"))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), sharey=True)
    for ax, mode in zip(axes, MODES):
        for i, L in enumerate(cfg[f"{mode}_Ls"]):
            for model, ls in zip(MODELS, ("-", "--")):
                r = _row(result, mode, model, L)
                ax.plot(r["window_steps"], r["window_risk"], ls, color=f"C{i}", lw=1, label=f"{model}, $L = {L}$")
        ref = next(r for r in result["runs"] if r["mode"] == mode and r["model"] == "L=inf GD")
        ax.plot(ref["window_steps"], ref["window_risk"], "k-", lw=2, label=r"GD on $\mathcal{R}_\infty$")
        ax.axhline(cfg["noise_var"] / 2, color="grey", lw=0.8, label="$s^2/2$")
        ax.set_xlabel("SGD step")
        ax.set_title(f"{names[mode]}: training risk along SGD (window means)", fontsize=10)
        if mode == MODES[-1]:  # one legend, beside the panels (the lines are the same in both)
            legend_beside(ax, fontsize=7)
    axes[0].set_ylabel("training risk")
    fig.tight_layout()
    paths.append(save(fig, out / "sgd_risk_vs_step.png"))
    fig, ax = plt.subplots(figsize=(8, 4.4))
    for mode, mk in zip(MODES, ("o", "^")):
        for model, ls in zip(MODELS, ("-", "--")):
            rows = [_row(result, mode, model, L) for L in cfg[f"{mode}_Ls"]]
            ax.plot([r["L"] for r in rows], [r["param_gap_to_inf_gd"] for r in rows], mk + ls,
                    label=f"{names[mode]}, {model}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("prompt length $L$")
    ax.set_ylabel(r"$\|\theta_L - \theta_\infty\| / \|\theta_\infty\|$")
    ax.set_title(f"SGD at $L$ against GD on $\\mathcal{{R}}_\\infty$: relative parameter gap at step {cfg['n_steps']}",
                 fontsize=10)
    legend_beside(ax)
    fig.tight_layout()
    paths.append(save(fig, out / "sgd_trajectory_gap.png"))
    if result.get("init_interval"):
        paths.append(alpha_figure(result["init_interval"], out / "alpha_sweep.png"))
    return paths


def alpha_figure(audit_rows, path) -> Path:
    r"""The \alpha sweep of :func:`init_interval_audit`: time to reach 1e-6 of the Bayes family against
    \alpha (log-log), one panel per d, one curve per ||\Sigma||_op, non-converged cells marked x at the top, the printed
    bound \sqrt2/(d^{1/4}||\Sigma||) dotted and ZFB's \sqrt2/(d^{1/4}||\Sigma||^{1/2}) dashed, named in a legend below
    the panels.  Returns the path."""
    from matplotlib.lines import Line2D

    rows = list(audit_rows)
    if not rows or not all(isinstance(r, dict) and {"d", "sigma_op", "alpha", "converged", "t_reach"} <= set(r) for r in rows):
        raise ValueError("audit_rows: expected the non-empty list of dicts of verify.studies.train.init_interval_audit")
    plt = pyplot()
    dims = sorted({r["d"] for r in rows})
    fig, axes = plt.subplots(1, len(dims), figsize=(4.4 * len(dims), 4.4), squeeze=False)
    handles: dict = {}
    for ax, d in zip(axes[0], dims):
        for i, norm in enumerate(sorted({r["sigma_op"] for r in rows if r["d"] == d})):
            cell = sorted((r for r in rows if r["d"] == d and r["sigma_op"] == norm), key=lambda r: r["alpha"])
            done = [r for r in cell if r["converged"] and r["t_reach"]]
            line, = ax.plot([r["alpha"] for r in done], [r["t_reach"] for r in done], "o-", color=f"C{i}", ms=3)
            handles.setdefault(norm, Line2D([], [], color=line.get_color(), marker="o", ms=3,
                                            label=rf"$\|\Sigma\|_{{op}} = {norm:g}$"))
            bad = [r for r in cell if not r["converged"]]
            if bad:
                ax.plot([r["alpha"] for r in bad], [max(r["t_end"] for r in cell)] * len(bad), "x", color=f"C{i}", ms=8)
                handles.setdefault("x", Line2D([], [], color="k", marker="x", ls="none", label="did not converge"))
            ax.axvline(printed_bound(d, norm), color=f"C{i}", ls=":", lw=1)
            ax.axvline(zfb_bound(d, norm), color=f"C{i}", ls="--", lw=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"initialisation scale $\alpha$")
        ax.set_ylabel(r"time to reach the Bayes family ($10^{-6}$)")
        ax.set_title(f"$d = {d}$", fontsize=10)
    legend = list(handles.values()) + [
        Line2D([], [], color="grey", ls=":", label=r"printed bound $\alpha < \sqrt{2}/(d^{1/4}\|\Sigma\|_{op})$"),
        Line2D([], [], color="grey", ls="--", label=r"ZFB's bound $\alpha < \sqrt{2}/(d^{1/4}\|\Sigma\|_{op}^{1/2})$")]
    fig.legend(handles=legend, loc="lower center", ncol=len(legend), fontsize=8, frameon=False)
    fig.suptitle(r"Every $\alpha$ converges: time for the balanced flow on $\mathcal{R}_\infty$ to reach the Bayes "
                 "family, inside and outside both printed intervals", fontsize=10.5)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return save(fig, path)

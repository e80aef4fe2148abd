r"""``verify dynamics``: Gaussian-preserving attention dynamics, the moment ODEs against N particles.

The statement ``attention-dynamics`` derives the moment ODEs of \mu_t = N(m_t, \Gamma_t) moved by its own softmax
attention field.  This study measures what the statement only checks at a few points
(numerics in :mod:`verify.gaussian.dynamics`):

* convergence in N of the particle moments to the ODE (a generic d = 2 case, t = 0.4, R replicas per N);
* the blow-up case V = A = I: \Gamma(t) = \Gamma_0 (I - 2t\Gamma_0)^{-1} blows up at t_* = 1/(2\lambda_{max}(\Gamma_0)),
  while finite-N particles stay bounded;
* the collapse case V = -I, A = I: tr \Gamma ~ 1/t, the particles cluster;
* one field evaluation at N = 10^5 particles (chunked) against the affine field of Lemma 2.1.

The study protocol (:mod:`verify.studies`): :func:`run` (sizes :data:`SIZES`), :func:`ok`, :func:`summary`,
:func:`write` (``dynamics.json`` and three figures).
"""

from __future__ import annotations

import json
import math
import textwrap
import time
from pathlib import Path

import numpy as np

from verify.gaussian.dynamics import (attention_field, blowup_time, moment_flow, moments, particle_flow,
                                      particle_moments, sample_replicas)
from verify.numerics.montecarlo import stream
from verify.studies.figures import legend_beside, output_dir, pyplot, save

__all__ = ["run", "ok", "summary", "write", "SIZES", "BLOWUP_CASE", "COLLAPSE_CASE", "GENERIC_CASE",
           "convergence_in_n", "regime_curves"]

BLOWUP_CASE = {"label": "blow-up V = A = I", "K": np.eye(2), "Q": np.eye(2), "V": np.eye(2),
               "m": np.array([0.3, -0.2]), "Gamma": np.array([[0.5, 0.1], [0.1, 0.3]])}
COLLAPSE_CASE = {"label": "collapse V = -I, A = I", "K": np.eye(2), "Q": np.eye(2), "V": -np.eye(2),
                 "m": np.array([0.3, -0.2]), "Gamma": np.array([[0.5, 0.1], [0.1, 0.3]])}
GENERIC_CASE = {"label": "generic d=2", "K": np.array([[0.8, 0.3], [-0.4, 0.6]]), "Q": np.array([[0.7, -0.2], [0.3, 0.5]]),
                "V": np.array([[0.6, 0.5], [-0.4, 0.3]]), "m": np.array([0.6, 0.8]),
                "Gamma": np.array([[1.0, 0.3], [0.3, 0.6]])}

SIZES = {
    "full": {"conv_Ns": (100, 300, 1000, 3000), "conv_R": 8, "blow_Ns": (100, 1000, 3000), "coll_Ns": (100, 1000),
             "n_big": 100000},
    "quick": {"conv_Ns": (100, 300, 1000), "conv_R": 8, "blow_Ns": (100, 1000), "coll_Ns": (100, 1000), "n_big": 20000},
    "smoke": {"conv_Ns": (50, 100, 200), "conv_R": 4, "blow_Ns": (50,), "coll_Ns": (50,), "n_big": 2000},
}
"""Particle numbers of :func:`run`: ``full`` (``verify dynamics``), ``quick`` (``--quick``) and ``smoke`` (seconds:
the command-line tests run the whole study at this size)."""


def _case_flow(case, times):
    return moment_flow(case["K"], case["Q"], case["V"], case["m"], case["Gamma"], times)


def convergence_in_n(case, Ns, t: float, dt: float, R: int, seed: int, progress=None) -> list[dict]:
    r"""E||\Gamma_N(t) - \Gamma(t)||_F and E|m_N(t) - m(t)| over R replicas per N (means with standard errors)."""
    means, covs = moments(_case_flow(case, [t]))
    rows = []
    for N in Ns:
        X0 = sample_replicas(case["m"], case["Gamma"], R, N, stream(seed, "dynamics", case["label"], N))
        t0 = time.perf_counter()
        (X,) = particle_flow(X0, case["K"], case["Q"], case["V"], [t], dt=dt)
        m, C = particle_moments(X)
        em = np.linalg.norm(m - means[0], axis=1)
        eG = np.linalg.norm(C - covs[0], axis=(1, 2))
        rows.append({"N": int(N), "R": int(R), "t": t, "mean_err": float(em.mean()),
                     "mean_err_se": float(em.std(ddof=1) / math.sqrt(R)), "cov_err": float(eG.mean()),
                     "cov_err_se": float(eG.std(ddof=1) / math.sqrt(R)),
                     "seconds": round(time.perf_counter() - t0, 2)})
        if progress:
            progress(f"dynamics: {case['label']} N={N}: |Gamma_N - Gamma| = {rows[-1]['cov_err']:.3g} "
                     f"+- {rows[-1]['cov_err_se']:.2g} ({rows[-1]['seconds']}s)")
    return rows


def regime_curves(case, Ns, times, dt: float, seed: int, R: int = 1) -> dict:
    """tr \\Gamma(t) of the ODE and of the particles (first replica) at each N, on ``times``."""
    ode = _case_flow(case, times)
    curves = {"t": list(map(float, times)), "ode_trace": [float(np.trace(G)) for G in moments(ode)[1]],
              "blowup_time": ode.event_time, "particles": {}}
    for N in Ns:
        X0 = sample_replicas(case["m"], case["Gamma"], R, N, stream(seed, "dynamics-regime", case["label"], N))
        snaps = particle_flow(X0, case["K"], case["Q"], case["V"], times, dt=dt)
        curves["particles"][int(N)] = [float(np.trace(particle_moments(X)[1][0])) for X in snaps]
    return curves


def run(*, quick: bool = False, seed: int = 0, progress=None, size: str | None = None) -> dict:
    r"""The study (see the module docstring).  ``size``: a key of :data:`SIZES` (default ``quick`` if ``quick``
    else ``full``).  Keys: convergence, blowup, collapse, t_star, field, findings."""
    size = size or ("quick" if quick else "full")
    if size not in SIZES:
        raise ValueError(f"size: expected one of {', '.join(SIZES)}, got {size!r}")
    sz = SIZES[size]
    conv = convergence_in_n(GENERIC_CASE, sz["conv_Ns"], 0.4, 0.1, sz["conv_R"], seed, progress)
    t_star = blowup_time(BLOWUP_CASE["Gamma"], 1.0)
    blow = regime_curves(BLOWUP_CASE, sz["blow_Ns"], np.round(np.arange(0.0, 1.6 * t_star, 0.025), 6), 0.025, seed)
    coll = regime_curves(COLLAPSE_CASE, sz["coll_Ns"], np.round(np.arange(0.0, 8.0 + 1e-9, 0.25), 6), 0.05, seed)
    n_big = sz["n_big"]
    c = GENERIC_CASE
    X = sample_replicas(c["m"], c["Gamma"], 1, n_big, stream(seed, "dynamics-field"))[0]
    t0 = time.perf_counter()
    F = attention_field(X, c["K"], c["Q"], c["V"])
    secs = time.perf_counter() - t0
    lim = (c["V"] @ (c["m"][:, None] + c["Gamma"] @ c["K"].T @ c["Q"] @ X.T)).T
    field_err = float(np.sqrt(np.mean(np.sum((F - lim) ** 2, axis=1))))
    if progress:
        progress(f"dynamics: field at N={n_big}: rms |T[mu_N] - T[mu]| = {field_err:.3g} ({secs:.1f}s)")
    findings = _findings(conv, blow, coll, t_star, n_big, field_err)
    return {"convergence": conv, "blowup": blow, "collapse": coll, "t_star": t_star,
            "field": {"N": n_big, "rms_error": field_err, "seconds": round(secs, 2)}, "findings": findings}


def _slope(xs, ys) -> float:
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def _findings(conv, blow, coll, t_star, n_big, field_err) -> list[str]:
    Ns = [r["N"] for r in conv]
    out = [f"particles -> ODE at t = 0.4 (generic d = 2, RK4 dt = 0.1, {conv[0]['R']} replicas): E|Gamma_N - Gamma|_F = "
           + ", ".join(f"{r['cov_err']:.3g}+-{r['cov_err_se']:.1g} (N={r['N']})" for r in conv)
           + f"; slope in N {_slope(Ns, [r['cov_err'] for r in conv]):.3f} (1/sqrt(N): -0.5)"]
    tb = blow["blowup_time"]
    k = max(i for i, t in enumerate(blow["t"]) if t <= t_star)
    parts = ", ".join(f"N={N}: {v[k]:.3g}" for N, v in blow["particles"].items())
    out.append(f"blow-up (V = A = I): Gamma(t) = Gamma0 (I - 2t Gamma0)^-1, t* = 1/(2 lambda_max) = {t_star:.6g}; the ODE "
               f"event (tr Gamma = 1e8) at {tb:.6g}; particles stay finite (|dx/dt| <= max|x_j|): tr Gamma_N at "
               f"t = {blow['t'][k]:g}: {parts}; at t = {blow['t'][-1]:g} > t*: "
               + ", ".join(f"N={N}: {v[-1]:.3g}" for N, v in blow["particles"].items()))
    i1 = coll["t"].index(2.0)
    i2 = len(coll["t"]) - 1
    ode_sl = math.log(coll["ode_trace"][i2] / coll["ode_trace"][i1]) / math.log(coll["t"][i2] / coll["t"][i1])
    p_sl = {N: math.log(v[i2] / v[i1]) / math.log(coll["t"][i2] / coll["t"][i1]) for N, v in coll["particles"].items()}
    out.append(f"collapse (V = -I, A = I): tr Gamma(8) = {coll['ode_trace'][i2]:.4g} (ODE), "
               + ", ".join(f"{v[i2]:.4g} (N={N})" for N, v in coll["particles"].items())
               + f"; log-log slope on [2, 8]: ODE {ode_sl:.3f}, particles "
               + ", ".join(f"{s:.3f} (N={N})" for N, s in p_sl.items()) + " (exact: -> -1, clustering at rate 1/t)")
    out.append(f"one field evaluation at N = {n_big} (chunked): rms |T[mu_N](x_i) - V(m + Gamma A x_i)| = {field_err:.3g}")
    return out


def ok(result: dict) -> bool:
    """The study's own assertions: the covariance error decreases in N and the ODE blows up within 1e-3 of t*."""
    conv = [r["cov_err"] for r in result["convergence"]]
    tb = result["blowup"]["blowup_time"]
    return (conv[-1] < conv[0] and tb is not None and abs(tb - result["t_star"]) <= 1e-3 * result["t_star"]
            and bool(result["findings"]))


def summary(result: dict) -> str:
    """The study's verdict line, then its findings."""
    lines = [f"verify dynamics: {'ok' if ok(result) else 'FAILED'} — Gaussian-preserving attention dynamics (moment "
             "ODEs against particles)"]
    lines += [textwrap.fill(f, 100, initial_indent="  - ", subsequent_indent="    ") for f in result["findings"]]
    return "\n".join(lines)


def write(result: dict, directory) -> list[Path]:
    """``dynamics.json`` and three PNG figures (convergence in N, blow-up, collapse) into ``directory``."""
    out = output_dir(directory)
    plt = pyplot()
    paths = [out / "dynamics.json"]
    paths[0].write_text(json.dumps(result, indent=1, default=float))
    conv = result["convergence"]
    fig, ax = plt.subplots(figsize=(8, 4.2))
    Ns = [r["N"] for r in conv]
    for key, lab in (("cov_err", r"$\mathbb{E}\|\Gamma_N(t) - \Gamma(t)\|_F$"), ("mean_err", r"$\mathbb{E}|m_N(t) - m(t)|$")):
        bars = ax.errorbar(Ns, [r[key] for r in conv], yerr=[1.96 * r[key + "_se"] for r in conv], fmt="o", capsize=3,
                           label=lab + " (95%)")
        slope = _slope(Ns, [r[key] for r in conv])
        c = math.exp(np.mean(np.log([r[key] for r in conv])) - slope * np.mean(np.log(Ns)))
        ax.plot(Ns, c * np.array(Ns, dtype=float) ** slope, ":", color=bars[0].get_color(),
                label=f"fit $N^{{{slope:.2f}}}$")
    ax.plot(Ns, conv[0]["cov_err"] * (np.array(Ns) / Ns[0]) ** -0.5, "k--", lw=0.8, label=r"$N^{-1/2}$ (Monte Carlo rate)")
    ax.set(xscale="log", yscale="log", xlabel="particles $N$", ylabel="error at $t = 0.4$")
    ax.set_title("N particles follow the moment ODEs of the Gaussian dynamics (d = 2)", fontsize=10)
    legend_beside(ax)
    fig.tight_layout()
    paths.append(save(fig, out / "convergence_in_N.png", dpi=120))
    titles = {"blowup": "V = A = I: the covariance ODE blows up at t*, N particles cannot",
              "collapse": "V = −I, A = I: the tokens collapse, tr Γ(t) ~ 1/t"}
    for key, logx in (("blowup", False), ("collapse", True)):
        c = result[key]
        fig, ax = plt.subplots(figsize=(8, 4.2))
        ax.plot(c["t"], c["ode_trace"], "k-", lw=2, label="moment ODE: tr Γ(t)")
        for N, v in c["particles"].items():
            ax.plot(c["t"], v, marker=".", lw=0.8, label=f"{N} particles: tr Γ_N(t)")
        if key == "blowup":
            ax.axvline(result["t_star"], color="r", ls=":", label=f"t* = 1/(2λ_max(Γ₀)) = {result['t_star']:.4f}")
        ax.set(yscale="log", xscale="log" if logx else "linear", xlabel="t", ylabel="tr Γ(t)")
        ax.set_title(titles[key], fontsize=10)
        legend_beside(ax)
        fig.tight_layout()
        paths.append(save(fig, out / f"{key}.png", dpi=120))
    return paths

r"""Theorem 4.3: training at finite prompt length $L$ approaches training at $L = \infty$.

**Statement** (paper Thm 4.3).  Let $\theta_L(t)$ be the gradient flow of the finite-prompt risk
$\mathcal R_L(U, V) = \frac12\mathbb E[(p_L - y_q)^2]$, $p_L = \sum_l \mathrm{softmax}_l(z_l^\top U q)(Vz_l)_{d+1}$, and
$\theta_\infty(t)$ that of $\mathcal R_\infty$, from the same initialisation.  Then

    \forall\varepsilon > 0\ \exists L(\varepsilon)\ \forall L \ge L(\varepsilon):\quad
    \lim_t \mathcal R_L(\theta_L(t)) \le \lim_t \mathcal R_\infty(\theta_\infty(t)) + \varepsilon.

**What is checked.**  The analytic gradient of the batch risk in $(U, V)$ (the derivation below: the softmax
prediction's derivative in the scores, whose centring term $-p_L$ comes from the normaliser), against central
differences of the risk computed token by token from its definition; and the statement itself in a discretised
form: gradient descent on $\mathcal R_L$ with fresh prompts every step (the same start, step $\eta$ and horizon as
gradient descent on $\mathcal R_\infty$), whose end risk $\mathcal R_L(\bar\theta_L)$ minus the $L = \infty$ run's end
risk is positive and decays like a power of $L$.  A wrong limit (shifted, or the untrained risk) leaves a negative
gap or a plateau.

**The engine as a subject.**  The numbers of the finite-L findings come from engine functions, each checked here
against a reference that shares none of its arithmetic: the batch risk's value, three descent steps (both parameter
updates, the descent's own prompt draws, the recorded batch risk), the prompt sampler's law, the R_L estimators and
the L = \infty reference limit.

**Evidence.**  The points, slips and cases are below; the numerics they call live in verify.icl.training_finite
(batch risk and gradient, finite-$L$ gradient descent, the Polyak-averaged end, $\mathcal R_L$ by
verify.icl.risk.icl_risk_mc) and verify.icl.training (the $L = \infty$ reference).  The measured study (gaps along
time, rates, $L(\varepsilon)$, the invariant subspace, the third-party audit's 232-263x) is ``verify train --part
finite``.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

import math

import verify.icl.prompts as _prompts
import verify.icl.risk as _risk
import verify.icl.training_finite as _engine
from verify.icl.prompts import moment_estimates, moment_values, sample_prompts, sample_with_roots, step_generator
from verify.icl.risk import icl_risk_infinite, toeplitz_sigma
from verify.icl.training import balanced_init
from verify.icl.training_finite import (
    active_update,
    batch_gradient,
    excess_over,
    fd_gradient_error,
    finite_end_risks,
    limit_risk,
    limit_risk_reference,
    linear_risk_and_grad,
    reference_descent,
    risk_definition,
    scores_and_values,
    softmax_risk_and_grad,
    validated_batch,
)
from verify.kernel.compare import relative_error
from verify.kernel.derivation import Derivation
from verify.kernel.evidence import agreement, bound, rate, scaled, shifted, z_test
from verify.numerics.measures import as_generator
from verify.numerics.montecarlo import Estimate
from verify.kernel.verdict import Finding
from verify.kernel.statement import Mutant, Statement

# ------------------------------------------------------------------------------ the gradient of the prediction


def softmax_prediction(n: int):
    r"""$p = \sum_l e^{s_l} v_l / \sum_m e^{s_m}$ with $n$ symbolic scores and values."""
    s = sp.symbols(f"s1:{n + 1}", real=True)
    v = sp.symbols(f"v1:{n + 1}", real=True)
    Z = sum(sp.exp(x) for x in s)
    return s, v, Z, sum(sp.exp(x) * y for x, y in zip(s, v)) / Z


def derivation_score_gradient(n: int = 3, centred: bool = True) -> Derivation:
    r"""$\partial p/\partial s_l = \pi_l (v_l - p)$, $\pi_l = e^{s_l}/\sum_m e^{s_m}$: the quotient rule, then the
    definition of $\pi$ and $p$.  ``centred=False`` plants the slip $\pi_l v_l$ (the normaliser forgotten)."""
    s, v, Z, p = softmax_prediction(n)
    pi = [sp.exp(x) / Z for x in s]
    grad = sp.Matrix([sp.diff(p, x) for x in s])
    conclusion = sp.Matrix([pi[l] * (v[l] - p) if centred else pi[l] * v[l] for l in range(n)])
    num = sum(sp.exp(x) * y for x, y in zip(s, v))
    return (
        Derivation(f"the softmax prediction's score gradient ($L = {n}$)", grad,
                   start_tex=r"\partial p_L/\partial s_l,\ p_L = \sum_l e^{s_l}v_l / \sum_m e^{s_m}", brief=True,
                   conclusion=conclusion, conclusion_tex=r"\pi_l\,(v_l - p_L)")
        .step(sp.Matrix([(sp.exp(s[l]) * v[l] * Z - num * sp.exp(s[l])) / Z**2 for l in range(n)]),
              "quotient rule: $\\partial_{s_l}$ of the numerator is $e^{s_l}v_l$, of the normaliser $e^{s_l}$",
              rhs_tex=r"\frac{e^{s_l}v_l\sum_m e^{s_m} - e^{s_l}\sum_m e^{s_m}v_m}{(\sum_m e^{s_m})^2}")
        .step(sp.Matrix([pi[l] * v[l] - pi[l] * p for l in range(n)]),
              r"divide: $\pi_l = e^{s_l}/\sum_m e^{s_m}$, $p_L = \sum_m \pi_m v_m$", rhs_tex=r"\pi_l v_l - \pi_l p_L")
        .step(sp.Matrix([pi[l] * (v[l] - p) for l in range(n)]), "factor $\\pi_l$", rhs_tex=r"\pi_l\,(v_l - p_L)")
    )


def derivations() -> list[Derivation]:
    return [derivation_score_gradient(2)]


# ------------------------------------------------------------------------------ the gradient check: points and slips


def gradient_points(rng) -> list[dict]:
    r"""Batches where the gradients are compared: d = 2 (L = 12, B = 4) and d = 3 (L = 30, B = 3), Toeplitz(0.5),
    label noise 0.3, U and V with N(0, 0.6^2) entries (off the invariant subspace), all from ``rng``."""
    pts = []
    for d, L, B in ((2, 12, 4), (3, 30, 3)):
        batch = sample_prompts(toeplitz_sigma(d, 0.5), L, B, rng, noise=0.3)
        pts.append({"label": f"d={d}, L={L}, B={B}", "U": 0.6 * rng.standard_normal((d + 1, d + 1)),
                    "V": 0.6 * rng.standard_normal((d + 1, d + 1)), "batch": batch})
    return pts


def gradient_error(p: dict, risk_and_grad, attention: str = "softmax") -> float:
    """:func:`verify.icl.training_finite.fd_gradient_error` of ``risk_and_grad`` (the subject) at a gradient point."""
    return fd_gradient_error(risk_and_grad, p["U"], p["V"], *p["batch"], attention=attention)


def linear_gradient_error(p: dict, risk_and_grad) -> float:
    return gradient_error(p, risk_and_grad, "linear")


def _uncentred(U, V, X, Y, Xq, Yq):
    """Slip: dp/ds_l = pi_l v_l (the softmax normaliser's -p_L forgotten)."""
    U, V, X, Y, Xq, Yq = validated_batch(U, V, X, Y, Xq, Yq)
    B = X.shape[0]
    s, v = scores_and_values(U, V, X, Y, Xq)
    pi = np.exp(s - s.max(axis=1, keepdims=True))
    pi /= pi.sum(axis=1, keepdims=True)
    res = np.einsum("bl,bl->b", pi, v) - Yq
    cV = pi * (res / B)[:, None]
    return 0.5 * float(res @ res) / B, *batch_gradient(X, Y, Xq, cV * v, cV)


def _transposed(U, V, X, Y, Xq, Yq):
    """Slip: dR/dU transposed (z q^T written q z^T)."""
    r, dU, dV = softmax_risk_and_grad(U, V, X, Y, Xq, Yq)
    return r, dU.T, dV


def _unhalved(U, V, X, Y, Xq, Yq):
    """Slip: the gradient of (p - y)^2 / B without the 1/2 (twice the true gradient)."""
    r, dU, dV = softmax_risk_and_grad(U, V, X, Y, Xq, Yq)
    return r, 2 * dU, 2 * dV


GRADIENT_SLIPS = {"uncentred": _uncentred, "transposed": _transposed, "unhalved": _unhalved}
"""Planted wrong gradients of the softmax batch risk (each keeps the right risk value)."""


def _linear_unnormalised(U, V, X, Y, Xq, Yq):
    """Slip: the linear-attention gradient without the 1/L of the normalisation."""
    r, dU, dV = linear_risk_and_grad(U, V, X, Y, Xq, Yq)
    return r, X.shape[1] * dU, X.shape[1] * dV


def _linear_swapped(U, V, X, Y, Xq, Yq):
    """Slip: dR/dV built with the values and dR/dU with the scores (roles swapped)."""
    U, V, X, Y, Xq, Yq = validated_batch(U, V, X, Y, Xq, Yq)
    B, L, _ = X.shape
    s, v = scores_and_values(U, V, X, Y, Xq)
    res = np.einsum("bl,bl->b", s, v) / L - Yq
    e = res / (B * L)
    return 0.5 * float(res @ res) / B, *batch_gradient(X, Y, Xq, s * e[:, None], v * e[:, None])


LINEAR_SLIPS = {"unnormalised": _linear_unnormalised, "swapped": _linear_swapped}
"""Planted wrong gradients of the linear-attention batch risk."""


# ------------------------------------------------------------------------------ the engine's risk values, updates, sampler
#
# Every number the finite-L study and the convergence check report comes from the engine (verify.icl.training_finite,
# verify.icl.prompts, verify.icl.risk): the batch risk, the two parameter updates of a descent step, the prompt
# sampler, the R_L estimators and the L = infinity reference.  Each is a subject here, against a reference that shares
# none of its arithmetic; the subjects are looked up in the engine when called, and a planted slip of the engine is
# simulated by replacing one engine attribute for the call (:func:`engine_variant`).


def engine_variant(function: str, **replacements):
    """The engine function ``function`` of verify.icl.training_finite run with module attributes replaced for the call
    (each replacement a planted slip of one piece of the engine: the update, the sampler call, the risk core)."""
    def run(*args, **kwargs):
        saved = {name: getattr(_engine, name) for name in replacements}
        try:
            for name, value in replacements.items():
                setattr(_engine, name, value)
            return getattr(_engine, function)(*args, **kwargs)
        finally:
            for name, value in saved.items():
                setattr(_engine, name, value)
    return run


def engine(function: str):
    """The engine function of verify.icl.training_finite named ``function``, looked up when called."""
    return lambda *args, **kwargs: getattr(_engine, function)(*args, **kwargs)


def step_points(rng) -> list[dict]:
    r"""Descent runs compared step by step: softmax d = 2 (L = 12, B = 6) and d = 3 (L = 8, B = 4), entries of the
    start N(0, 0.5^2), \eta = 0.05; linear d = 2 (L = 10, B = 5), entries N(0, 0.25^2), \eta = 0.01 (unnormalised
    scores: a larger step diverges); generic starts off the invariant subspace (u, a != 0: the query row of V
    moves), label noise 0.3, 3 steps, Toeplitz(0.5) \Sigma."""
    out = []
    for d, L, B, att, scale, eta in ((2, 12, 6, "softmax", 0.5, 0.05), (3, 8, 4, "softmax", 0.5, 0.05),
                                     (2, 10, 5, "linear", 0.25, 0.01)):
        out.append({"label": f"{att} d={d}, L={L}, B={B}", "Sigma": toeplitz_sigma(d, 0.5), "L": L, "B": B,
                    "attention": att, "U0": scale * rng.standard_normal((d + 1, d + 1)),
                    "V0": scale * rng.standard_normal((d + 1, d + 1)), "seed": int(rng.integers(2**31)), "eta": eta,
                    "n_steps": 3, "noise": 0.3})
    return out


def _reference_steps(p: dict):
    return reference_descent(p["U0"], p["V0"], p["Sigma"], p["L"], p["eta"], p["n_steps"], batch=p["B"], seed=p["seed"],
                             tag="check-step", noise=p["noise"], attention=p["attention"])


def step_error(p: dict, reference, gd) -> float:
    r"""max over the steps of the relative error (:func:`verify.kernel.compare.relative_error`) of gd's states and of its
    recorded batch risks against the reference descent (:func:`verify.icl.training_finite.reference_descent`)."""
    states, risks = reference
    path = gd(p["U0"], p["V0"], p["Sigma"], p["L"], p["eta"], p["n_steps"], batch=p["B"], seed=p["seed"],
              tag="check-step", noise=p["noise"], attention=p["attention"], record_every=1)
    if path.diverged or path.y.shape != states.shape:
        return math.inf
    return float(max(relative_error(path.y, states), relative_error(path.series["batch_risk"][1:], risks)))


def _v_update_transposed(dU, dV, d):
    """Slip: dV transposed in the update, so the query row of V (a) is never trained."""
    return active_update(dU, dV.T, d)


def _roots_transposed(prompt_root_t, query_root_t, *args):
    """Slip: x = g C instead of g C^T (C = chol Sigma): prompts with covariance C^T C instead of Sigma."""
    return sample_with_roots(prompt_root_t.T, None if query_root_t is None else query_root_t.T, *args)


def _risk_without_half(core):
    def slipped(*args):
        r, dU, dV = core(*args)
        return 2 * r, dU, dV
    return slipped


def _u_update_transposed(dU, dV, d):
    """Slip: dU transposed in the update."""
    return active_update(dU.T, dV, d)


def risk_points(rng) -> list[dict]:
    """Batches where the risk values are compared: the gradient points (d = 2, 3, off the invariant subspace)."""
    return gradient_points(rng)


def risk_value_error(p: dict, cores) -> float:
    """max relative error of the batch risks (softmax, linear) of the subject against :func:`risk_definition`."""
    softmax, linear = cores
    errs = []
    for attention, f in (("softmax", softmax), ("linear", linear)):
        ref = risk_definition(p["U"], p["V"], *p["batch"], attention)
        errs.append(abs(f(p["U"], p["V"], *p["batch"])[0] - ref) / abs(ref))
    return float(max(errs))


_CORES = (engine("softmax_risk_and_grad"), engine("linear_risk_and_grad"))


def sampler_points(rng) -> list[dict]:
    r"""The sampler's law at Toeplitz(0.5), d = 3, label noise 0.3: 50000 prompts of 4 tokens."""
    return [{"label": "Toeplitz(0.5) d=3, s=0.3", "Sigma": toeplitz_sigma(3, 0.5), "noise": 0.3, "L": 4, "B": 50_000}]


def _sampler_estimates(p, rng, sampler):
    return moment_estimates(*sampler(p["Sigma"], p["L"], p["B"], rng, p["noise"]), p["Sigma"])


def _sampler_values(p, sampler):
    return moment_values(p["Sigma"], p["noise"])


def _cholesky_root_transposed(Sigma, L, batch, rng, noise=0.0, w_scale=1.0):
    """Slip: prompts and queries x = g C (C = chol Sigma): covariance C^T C instead of Sigma."""
    C = np.linalg.cholesky(np.asarray(Sigma, dtype=float))
    return sample_with_roots(C, C, L, batch, as_generator(rng), float(noise), float(w_scale))


def _sampler_scaled(factor):
    def sampler(Sigma, L, batch, rng, noise=0.0, w_scale=1.0):
        X, Y, Xq, Yq = _prompts.sample_prompts(Sigma, L, batch, rng, noise, w_scale)
        return X * factor, Y, Xq * factor, Yq
    return sampler


def engine_sampler(*args, **kwargs):
    """The engine's prompt sampler (verify.icl.prompts.sample_prompts, looked up when called)."""
    return _prompts.sample_prompts(*args, **kwargs)


def engine_r_l(*args, **kwargs):
    """The engine's R_L estimator (verify.icl.risk.icl_risk_mc, looked up when called)."""
    return _risk.icl_risk_mc(*args, **kwargs)


def estimator_points(rng) -> list[dict]:
    r"""R_L at a trained-like point: 0.9 (U_\star, V_\star) + small off-subspace entries, d = 2, Toeplitz(0.5), L = 16,
    label noise 0.3 (where the convergence check measures R_L)."""
    S = toeplitz_sigma(2, 0.5)
    U, V = _risk.bayes_point(S)
    U, V = 0.9 * U, V.copy()
    U[2, :2], V[2, :2] = (0.05, -0.05), (0.03, 0.04)
    return [{"label": "near (U*, V*), d=2, L=16, s=0.3", "U": U, "V": V, "Sigma": S, "L": 16, "noise": 0.3}]


R_L_PROMPTS = 40_000


def _r_l_ratio(p, rng, estimator):
    r"""An estimate of (the subject's R_L) / (R_L by :func:`verify.icl.training_finite.risk_mc`, checked against the
    definition batch by batch), 1 for a right estimator: independent streams, the standard error of the ratio by the
    delta method (relative errors in quadrature)."""
    a = estimator(p["U"], p["V"], p["Sigma"], p["L"], R_L_PROMPTS, int(rng.integers(2**31)), p["noise"])
    b = _engine.risk_mc(p["U"], p["V"], p["Sigma"], p["L"], R_L_PROMPTS, int(rng.integers(2**31)), noise=p["noise"])
    ratio = a.mean / b.mean
    return Estimate(ratio, abs(ratio) * math.hypot(a.stderr / a.mean, b.stderr / b.mean), min(a.n, b.n),
                    dof=min(a.n, b.n) - 1)


def mc_definition_points(rng) -> list[dict]:
    """The estimator's batches: d = 2 and 3 at generic (U, V), L = 9, 3 batches of 32 prompts."""
    out = []
    for d in (2, 3):
        out.append({"label": f"d={d}, L=9", "Sigma": toeplitz_sigma(d, 0.5), "L": 9, "n": 96, "noise": 0.3,
                    "U": 0.5 * rng.standard_normal((d + 1, d + 1)), "V": 0.5 * rng.standard_normal((d + 1, d + 1)),
                    "seed": int(rng.integers(2**31))})
    return out


MC_BATCH = 32


def _risk_mc_of(estimator):
    return lambda p: estimator(p["U"], p["V"], p["Sigma"], p["L"], p["n"], p["seed"], noise=p["noise"],
                               batch=MC_BATCH).mean


def _risk_mc_reference(p) -> float:
    r"""The mean of :func:`risk_definition` over the batches risk_mc draws (batch j from step_generator(seed, L,
    "risk", j)): the estimator's value, computed token by token."""
    vals = []
    for j, start in enumerate(range(0, p["n"], MC_BATCH)):
        data = sample_prompts(p["Sigma"], p["L"], min(MC_BATCH, p["n"] - start), step_generator(p["seed"], p["L"], "risk", j),
                              p["noise"])
        vals.append(risk_definition(p["U"], p["V"], *data) * data[0].shape[0])
    return float(sum(vals) / p["n"])


# ------------------------------------------------------------------------------ the convergence check: cases

CONVERGENCE_CASE = {"Sigma": toeplitz_sigma(2, 0.5), "noise": 0.0, "alpha": 0.5, "eta": 0.05, "n_steps": 150,
                    "batch": 128, "runs": 4, "Ls": (4, 16, 64), "n_eval": 2000}
r"""The cheap setting of finite-L-approaches-L-inf: d = 2, Toeplitz(0.5), balanced \alpha = 0.5, \eta = 0.05, 150 steps
(T = 7.5), 4 independent runs per L, R_L at the end by icl_risk_mc (2000 prompts).  Batch 128: the batch sets how
closely GD with fresh prompts follows the flow on R_L (Thm 4.3 is about the flow); smaller batches take rare
gradient-noise kicks at L = 64 (batch risk > 0.5 in the second half, spoiling the Polyak average: about 8% of the
runs at batch 32, 1% at batch 64, none in 400 runs at batch 128)."""

WIDE_CASE = dict(CONVERGENCE_CASE, n_steps=300, runs=6, Ls=(10, 100, 1000))
r"""The slow check's setting: as :data:`CONVERGENCE_CASE` with 300 steps (T = 15) and 6 runs per L in (10, 100, 1000):
at L = 1000 the end is the gradient-noise floor (run-to-run spread ~35%), and six runs keep its mean significant."""


def start_risk(case: dict) -> float:
    r"""Planted wrong limit: R_\infty at the start (as if training did nothing)."""
    return icl_risk_infinite(*balanced_init(case["Sigma"], case["alpha"]), case["Sigma"], case["noise"])


def _setting(case: dict) -> str:
    """The case in words, every number read from it."""
    d = case["Sigma"].shape[0]
    return (rf"GD on $\mathcal R_L$ (fresh batches of {case['batch']} prompts per step, $\eta = {case['eta']:g}$, "
            rf"{case['n_steps']} steps, $T = {case['n_steps'] * case['eta']:g}$, balanced $\alpha = {case['alpha']:g}$, "
            rf"Toeplitz(0.5) d = {d}), {case['runs']} runs per $L \in \{{{', '.join(map(str, case['Ls']))}\}}$")


# ------------------------------------------------------------------------------ evidence

_C, _W = CONVERGENCE_CASE, WIDE_CASE

CHECKS = [
    bound("batch-risk-vs-definition", _CORES, risk_value_error, risk_points, threshold=1e-12, unit="rel. error",
          what="relative error of the batch risk (softmax, linear) against the definition token by token",
          mutants=[Mutant("softmax batch risk without its 1/2",
                          (engine_variant("softmax_risk_and_grad", _softmax_core=_risk_without_half(_engine._softmax_core)),
                           _CORES[1])),
                   Mutant("linear batch risk without its 1/2",
                          (_CORES[0], engine_variant("linear_risk_and_grad", _linear_core=_risk_without_half(_engine._linear_core))))],
          description=r"the value $\frac1{2B}\sum_b(p_L - y_q)^2$ returned by the engine's softmax and linear batch risks "
                      r"(the risk the descent records and the study reports) against the batch risk computed token by "
                      r"token from its definition, d = 2, 3, off the invariant subspace"),
    bound("descent-steps-vs-definition", engine("finite_gd"), step_error, step_points, prepare=lambda p, rng: _reference_steps(p),
          threshold=1e-7, unit="rel. error", what="relative error of the states and batch risks over 3 steps",
          mutants=[Mutant("V update transposed (the query row of V never trained)",
                          engine_variant("finite_gd", active_update=_v_update_transposed)),
                   Mutant("U update transposed", engine_variant("finite_gd", active_update=_u_update_transposed)),
                   Mutant("prompts drawn with covariance C^T C instead of Sigma",
                          engine_variant("finite_gd", sample_with_roots=_roots_transposed)),
                   Mutant("recorded batch risk without its 1/2",
                          engine_variant("finite_gd", _softmax_core=_risk_without_half(_engine._softmax_core),
                                         _linear_core=_risk_without_half(_engine._linear_core)))],
          description=r"three steps of the engine's descent on $\mathcal R_L$ (verify.icl.training_finite.finite_gd: "
                      r"both parameter updates, its own prompt draws, the recorded batch risk) against a reference descent "
                      r"that draws each step's batch with verify.icl.prompts.sample_prompts and moves every entry of "
                      r"$(U, V)$ by central differences of the definition's batch risk; generic starts ($u, a \ne 0$), "
                      r"softmax d = 2, 3 and linear d = 2"),
    z_test("prompt-sampler-law", engine_sampler, _sampler_estimates,
           sampler_points, value=_sampler_values, driven=True, resolve=0.08,
           mutants=[Mutant("covariance C^T C instead of Sigma (x = g C)", _cholesky_root_transposed),
                    Mutant("covariates 2% too large", _sampler_scaled(1.02))],
           description=r"the prompt sampler (verify.icl.prompts.sample_prompts, which the finite-L study and the reference "
                       r"descent draw from): whitened second moments $\mathbb E[C^{-1}x(C^{-1}x)^\top] = I$ of the prompt "
                       r"tokens and of the query, $\mathbb E y^2 = \mathbb E y_q^2 = \mathrm{tr}\Sigma + s^2$ and "
                       r"$\mathbb E[y_l y_q x_l^\top\Sigma^{-1}x_q] = \mathrm{tr}\Sigma$ (one $w$ per prompt); 50000 prompts "
                       r"of 4 tokens, d = 3, Toeplitz(0.5), s = 0.3; sees a relative error of 8% in the weakest moment "
                       r"(about 2% in the covariances)"),
    agreement("risk-mc-vs-definition", _risk_mc_of(engine("risk_mc")), _risk_mc_reference, mc_definition_points,
              digits=12, kind="float64", reference_name="the definition's batch risk on the same batches",
              mutants=[Mutant("risk_mc without its 1/2", scaled(_risk_mc_of(engine("risk_mc")), 2.0))],
              description=r"the R_L Monte Carlo of the study (verify.icl.training_finite.risk_mc) against the mean of the "
                          r"definition's batch risk over the batches it draws, d = 2, 3"),
    z_test("r-l-estimator-vs-risk-mc", engine_r_l, _r_l_ratio,
           estimator_points, value=lambda p, subject: 1.0, driven=True, resolve=0.1,
           mutants=[Mutant("icl_risk_mc 10% too large", scaled(engine_r_l, 1.10)),
                    Mutant("icl_risk_mc without label noise", lambda U, V, S, L, n, seed, noise=0.0, **k:
                           _risk.icl_risk_mc(U, V, S, L, n, seed, 0.0, **k))],
           description=r"the Rao-Blackwellised R_L estimator of the convergence check (verify.icl.risk.icl_risk_mc) against "
                       r"verify.icl.training_finite.risk_mc (checked against the definition batch by batch): their "
                       rf"ratio must be 1, {R_L_PROMPTS} prompts each, independent streams, near $(U_\star, V_\star)$, "
                       r"d = 2, L = 16"),
    agreement("L-inf-reference-vs-definition", engine("limit_risk"), limit_risk_reference,
              [dict(CONVERGENCE_CASE, label="the check's case"), dict(WIDE_CASE, label="the slow check's case")],
              digits=10, kind="float64", reference_name="GD with the gradient of the definition, R_inf by its quadrature",
              mutants=[Mutant(r"the L = inf limit x10", scaled(engine("limit_risk"), 10.0)),
                       Mutant(r"the L = inf reference run for half its steps",
                              lambda case: _engine.limit_risk(dict(case, n_steps=case["n_steps"] // 2)))],
              description=r"$\lim\mathcal R_\infty$ of the convergence checks (verify.icl.training_finite.limit_risk: GD on "
                          r"the closed-form gradient, R_inf by its numpy closed form) against the same descent on the "
                          r"gradient of the definition differentiated under the integral, R_inf by the definition's "
                          r"Gauss-Hermite rule"),
    bound("softmax-gradient-vs-finite-differences", softmax_risk_and_grad, gradient_error, gradient_points,
          threshold=1e-7, unit="rel. error", what=r"$\max|G - G^{FD}| / \max|G^{FD}|$ over $(\partial_U, \partial_V)$",
          mutants=[Mutant(r"$\partial p/\partial s_l = \pi_l v_l$ (centring $-p_L$ forgotten)", GRADIENT_SLIPS["uncentred"]),
                   Mutant(r"$\partial_U R$ transposed ($q z^\top$)", GRADIENT_SLIPS["transposed"]),
                   Mutant(r"gradient of $(p - y)^2$ without the $\frac12$", GRADIENT_SLIPS["unhalved"])],
          description=r"analytic $\nabla_{U,V}$ of the batch risk $\frac1{2B}\sum_b(p_L - y_q)^2$ against central differences "
                      r"(step 1e-5) of the risk computed token by token from its definition; off the invariant subspace, "
                      r"label noise 0.3, d = 2, 3"),
    bound("linear-gradient-vs-finite-differences", linear_risk_and_grad, linear_gradient_error, gradient_points,
          threshold=1e-7, unit="rel. error", what=r"$\max|G - G^{FD}| / \max|G^{FD}|$ (normalised linear attention)",
          mutants=[Mutant(r"the $1/L$ of the normalisation forgotten", LINEAR_SLIPS["unnormalised"]),
                   Mutant(r"scores and values swapped in the gradient", LINEAR_SLIPS["swapped"])],
          description=r"$p_L = \frac1L\sum_l (z_l^\top Uq)(Vz_l)_{d+1}$: the same comparison"),
    rate("finite-L-approaches-L-inf", limit_risk, lambda L, rng: finite_end_risks(L, rng, _C),
         lambda L, risks, limit: excess_over(risks, limit(_C)), _C["Ls"], exponent=0.3,
         mutants=[Mutant(r"limit $\lim\mathcal R_\infty + 0.2$", shifted(limit_risk, 0.2)),
                  Mutant(r"limit $\lim\mathcal R_\infty - 0.5$", shifted(limit_risk, -0.5)),
                  Mutant(r"limit $\mathcal R_\infty(\theta(0))$ (the untrained risk)", start_risk)],
         kind="trajectory",
         description=_setting(_C) + r": $\mathcal R_L$ at the Polyak-averaged end (icl_risk_mc) minus $\mathcal R_\infty$ "
                     r"at the end of GD on $\mathcal R_\infty$ (same start, step, horizon) is positive and decays like "
                     r"$L^{-p}$, CI of $-p$ below $-0.3$ (measured $p \approx 0.57$). Resolution: rejects a limit off by "
                     rf"$\gtrsim 0.13$ upward (the gap at $L = {_C['Ls'][-1]}$) or $\gtrsim 0.3$ downward"),
    rate("finite-L-approaches-L-inf-wide", limit_risk, lambda L, rng: finite_end_risks(L, rng, _W),
         lambda L, risks, limit: excess_over(risks, limit(_W)), _W["Ls"], exponent=0.3, slow=True,
         mutants=[Mutant(r"limit $\lim\mathcal R_\infty + 0.1$", shifted(limit_risk, 0.1)),
                  Mutant(r"limit $\lim\mathcal R_\infty - 0.5$", shifted(limit_risk, -0.5))],
         kind="trajectory",
         description=_setting(_W) + rf" (about 20 s CPU): the end excess decays like $L^{{-0.6}}$; at "
                     rf"$L = {_W['Ls'][-1]}$ it is the gradient-noise floor of batch {_W['batch']}"),
]

STATEMENT = Statement(
    id="train-finite",
    finding=Finding(kind="verified under hypotheses", summary="training at finite prompt length approaches training at L = ∞: the excess risk of gradient descent on R_L over the L = ∞ run decays like a power of L", form="gradient descent with fresh prompt batches stands in for the gradient flow of Thm 4.3"),
    number="Thm 4.3",
    title=r"Training at finite prompt length approaches training at $L = \infty$",
    summary=r"$\lim_t\mathcal R_L(\theta_L) \le \lim_t\mathcal R_\infty(\theta_\infty) + \varepsilon$ for $L \ge L(\varepsilon)$; "
            r"analytic $\nabla_{U,V}\mathcal R_L$ (softmax, linear) against finite differences",
    source=r"Boursier & Boyer (arXiv 2512.11784) Thm 4.3, Sec. 4",
    statement_tex=(
        r"\forall\varepsilon > 0\ \exists L(\varepsilon)\ \forall L \ge L(\varepsilon):\ "
        r"\lim_{t\to\infty}\mathcal R_L(\theta_L(t)) \le \lim_{t\to\infty}\mathcal R_\infty(\theta_\infty(t)) + \varepsilon,"
        r"\\ \frac{\partial p_L}{\partial s_l} = \pi_l (v_l - p_L),\quad "
        r"\nabla_U \hat{\mathcal R} = \frac1B\sum_b (p_L - y_q)\Big(\sum_l \pi_l (v_l - p_L) z_l\Big) q^\top,\quad "
        r"\nabla_V \hat{\mathcal R} = e_{d+1}\Big(\frac1B\sum_b (p_L - y_q)\sum_l \pi_l z_l\Big)^\top"
    ),
    hypotheses_tex=[
        r"w \sim \mathcal N(0, I_d),\ x \sim \mathcal N(0, \Sigma),\ \Sigma \succ 0,\ \text{label noise } \mathcal N(0, s^2)",
        r"\theta_L(0) = \theta_\infty(0)\ \text{(the balanced initialisation, paper Eq. (9))}",
        r"\text{checked in discretised form: GD with step } \eta \text{ and fresh prompts per step, the same } \eta "
        r"\text{ and horizon at } L = \infty",
    ],
    derivations=derivations,
    checks=CHECKS,
    notes_tex=[
        r"The theorem is about gradient flows and $t \to \infty$; the check runs stochastic gradient descent (fresh prompts "
        r"each step) to a finite horizon and compares with gradient descent on $\mathcal R_\infty$ at the same step and "
        r"horizon. Gradient noise diffuses the iterate along the flat Bayes family ($A \to cA$, $b \to b/c$) and off the "
        r"invariant subspace; the expected gradient keeps the subspace ($\mathcal R_L$ is even in $(u, a)$, the "
        r"symmetry $w \to -w$).",
        r"The 232-263x drop of the risk at the linear solution from $L = 16$ to $4096$ ($d = 4$) reported by the "
        r"third-party audit of the paper (\url{github.com/MachineLearning-Nerd/icml26-repro-MvuCgK0Qns-softmax-linear-"
        r"attention}) is normalised "
        r"linear attention at $(U_\star, V_\star)$ without label noise, whose excess risk is exactly proportional to "
        r"$1/L$ ($4096/16 = 256$); softmax attention at $(U_\star, V_\star)$ decays more slowly ($\approx L^{-0.77}$ at "
        r"d = 2). \texttt{verify train} reports both.",
    ],
    order=5.3,
)

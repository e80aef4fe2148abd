r"""The authors' SGD experiment in our (U, V) setting (issue 9, items 5-6; paper Sec. 4 [CODE], Sec. 5).

**Model** (the authors' ``LinearReg``): d = 5, \Sigma_{ij} = 0.5^{|i-j|}, w ~ N(0, \tau^2 I_d) with \tau^2 = 1/d,
label noise of variance s^2 = 0.1 on prompt and query labels.  Two data modes:

* ``intended``: prompt and query covariates x_l, x_q ~ N(0, \Sigma) (:func:`verify.icl.training_finite.sample_prompts`);
* ``authors``: what their data code draws (:func:`authors_prompts`): the root C = \Sigma^{1/2} is applied twice to
  the prompt covariates (x = g C^T C^T, covariance \Sigma_p = C C C^T C^T = \Sigma^2) and never to the query
  (x_q ~ N(0, I) = \Sigma_q).

**Training.**  SGD on the batch risk  R = 1/(2B) \sum_b (p_L - y_q)^2  (:mod:`verify.icl.training_finite`; the authors'
``MSELoss`` has no 1/2, so their lr 1e-3 is our \eta = 2e-3 -- we keep the issue's \eta = 1e-3), batch B = 128,
from the balanced initialisation (:func:`verify.icl.training.balanced_init`, \alpha = 0.3, inside both the printed interval
and ZFB's), softmax and normalised linear attention, L in {10, 20, 50, 100, 200, 500, 1000}.  Step k of mode m at
length L draws its batch from  SeedSequence(seed, crc32(mode, L, k))  (:func:`verify.numerics.montecarlo.stream`): the two
models see the *same* prompts, as in the authors' code (one seed, 327, for every run), so their risks are compared
paired; same seed, same bits.

**Measured.**  The final risk R_L(\theta_final) on fresh held-out prompts (the same for both models; batch means over
blocks of 128 prompts), the training risk along the steps (window means of the fresh training batches), the Bayes
risk of the model at L (:func:`bayes_risk`: the posterior-mean predictor,
1/2 (s^2 E tr(\Sigma_q (X^TX + (s^2/\tau^2) I)^{-1}) + s^2),  s^2/2 at L = \infty), and the L = \infty reference:
gradient descent with the same \eta on the closed-form R_\infty (intended: :func:`verify.icl.training.gradient_descent`
with the rescaling below; authors: the invariant-subspace form of :mod:`verify.icl.mismatch`).

**Task-variance rescaling.**  With D = diag(I_d, \tau), tokens of the \tau-model are D times tokens of the
\tau = 1 model with noise s/\tau, so at every L (softmax or linear)
    R^{\tau}(U, V; s) = \tau^2 R^{1}(D U, V D / \tau; s/\tau)                                (*)
and the closed form :func:`verify.icl.risk.icl_risk_infinite` gives R_\infty^\tau (:func:`risk_infinite_intended`).  On the
invariant subspace (*) reads \tau^2/2 tr((b\Sigma A - I)\Sigma(b\Sigma A - I)^T) + s^2/2, so GD with step \eta on R^\tau
from the balanced start is GD with step \tau^2\eta on R^1 (the noise only shifts the risk there).

>>> X, Y, Xq, Yq = authors_prompts(toeplitz_sigma(2, 0.5), 3, 4, np.random.default_rng(0), noise=0.1)
>>> X.shape, Y.shape, Xq.shape, Yq.shape
((4, 3, 2), (4, 3), (4, 2), (4,))
>>> authors_prompts(toeplitz_sigma(2, 0.5), 3, 0, 0)
Traceback (most recent call last):
...
ValueError: batch: must be >= 1, got 0
"""

from __future__ import annotations

import math
import time
from typing import Callable

import numpy as np

from verify.icl.risk import icl_risk_infinite, toeplitz_sigma
from verify.numerics.measures import as_generator
from verify.icl.training_finite import sample_with_roots
from verify.numerics.montecarlo import Estimate, batch_mean_estimate, fit_rate, mean_estimate, stream
from verify._validation import covariance, nonnegative_float, positive_float, positive_int, seed_value

__all__ = [
    "D", "RHO", "NOISE_VAR", "TASK_VAR", "BATCH", "ETA", "ALPHA", "LS", "MODELS", "MODES",
    "authors_prompts", "sampler", "sgd_run", "held_out", "bayes_risk", "risk_infinite_intended",
    "risk_infinite_authors", "infinite_reference", "authors_flow", "data_model_z", "run_sgd", "write_sgd_figures",
    "alpha_figure", "sgd_summary",
]

D = 5
RHO = 0.5
NOISE_VAR = 0.1
TASK_VAR = 1.0 / D
BATCH = 128
ETA = 1e-3
ALPHA = 0.3
LS = (10, 20, 50, 100, 200, 500, 1000)
MODELS = ("softmax", "linear")
MODES = ("intended", "authors")
EVAL_BLOCK = 128
MAX_STEPS = 10**7
"""Largest ``n_steps`` of one SGD run (a guard against a typo that would run for days)."""
MAX_PROMPTS = 10**8
"""Largest ``n_prompts`` of a held-out or Bayes-risk estimate."""


def _capped(value: int, limit: int, name: str) -> int:
    if value > limit:
        raise ValueError(f"{name}: at most {limit}, got {value}")
    return value


def _sqrt_sym(S: np.ndarray) -> np.ndarray:
    """The symmetric root C = \\Sigma^{1/2} (the authors' ``covariance_root``)."""
    lam, Q = np.linalg.eigh(S)
    return (Q * np.sqrt(lam)) @ Q.T


def authors_prompts(Sigma, L, batch, rng, noise=0.0, w_scale=1.0, *, query_cov=None):
    r"""A batch as the authors' data code draws it: g ~ N(0, I), x = g C^T C^T (C = \Sigma^{1/2}: covariance
    C C C^T C^T = \Sigma^2), x_q ~ N(0, I) (``query_cov`` Q: x_q = h Q^{1/2}, a planted variant), w ~ N(0, w_scale^2 I),
    y = x w + noise \epsilon, y_q = x_q^T w + noise \epsilon_q.  Same shapes and draw order as
    :func:`verify.icl.training_finite.sample_prompts`: (X (B, L, d), Y (B, L), Xq (B, d), Yq (B,))."""
    S = covariance(Sigma, "Sigma")
    d = S.shape[0]
    L = positive_int(L, "L")
    B = positive_int(batch, "batch")
    s = nonnegative_float(noise, "noise")
    ws = positive_float(w_scale, "w_scale")
    Rq = None if query_cov is None else _sqrt_sym(covariance(query_cov, "query_cov", d))
    gen = as_generator(rng)
    C = _sqrt_sym(S)
    # the root applied twice (one product: same law, fewer flops); the query root only for the planted variant
    return sample_with_roots(C.T @ C.T, None if Rq is None else Rq.T, L, B, gen, s, ws)


def _mode(mode) -> str:
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {MODES}, got {mode!r}")
    return mode


def _model(model) -> Callable:
    from verify.icl.training_finite import linear_risk_and_grad, softmax_risk_and_grad

    if model == "softmax":
        return softmax_risk_and_grad
    if model == "linear":
        return linear_risk_and_grad
    raise ValueError(f"model: expected one of {MODELS}, got {model!r}")


def sampler(mode) -> Callable:
    """The prompt sampler of a data mode: ``intended`` -> sample_prompts, ``authors`` -> :func:`authors_prompts`."""
    from verify.icl.training_finite import sample_prompts

    return sample_prompts if _mode(mode) == "intended" else authors_prompts


def _covariances(mode: str, S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(\\Sigma_p, \\Sigma_q) of a mode."""
    return (S, S) if mode == "intended" else (S @ S, np.eye(S.shape[0]))


def _setting(Sigma, noise_var, task_var):
    S = toeplitz_sigma(D, RHO) if Sigma is None else covariance(Sigma, "Sigma")
    return S, math.sqrt(nonnegative_float(noise_var, "noise_var")), math.sqrt(positive_float(task_var, "task_var"))


# ------------------------------------------------------------------------------------------ SGD at finite L


def sgd_run(mode, models, L, n_steps, seed, *, Sigma=None, alpha=ALPHA, eta=ETA, batch=BATCH, noise_var=NOISE_VAR,
            task_var=TASK_VAR, windows: int = 20, draw=None) -> dict:
    r"""SGD for each model in ``models`` at length ``L``: ``n_steps`` steps \theta <- \theta - \eta \nabla R_batch, from
    :func:`verify.icl.training.balanced_init` (\alpha), batch k drawn once from stream(seed, "train-sgd", mode, L, k) and fed to
    every model (paired).  ``draw`` replaces the mode's sampler (a planted wrong data model).

    Returns {model: {"U", "V", "window_steps", "window_risk", "window_se", "diverged"}}: the training risk in
    ``windows`` windows of consecutive steps (mean of the fresh batches' risks and its standard error)."""
    from verify.icl.training import balanced_init

    mode = _mode(mode)
    S, s, tau = _setting(Sigma, noise_var, task_var)
    fns = {m: _model(m) for m in models}
    L = positive_int(L, "L")
    n_steps = _capped(positive_int(n_steps, "n_steps"), MAX_STEPS, "n_steps")
    eta = positive_float(eta, "eta")
    batch = positive_int(batch, "batch")
    windows = positive_int(windows, "windows", 2)
    seed = seed_value(seed)
    if n_steps < 2 * windows:
        raise ValueError(f"n_steps: need at least 2 steps per window ({windows} windows), got {n_steps}")
    draw = sampler(mode) if draw is None else draw
    state = {m: [np.array(x) for x in balanced_init(S, alpha)] + [np.empty(n_steps), False] for m in models}
    for k in range(n_steps):
        data = draw(S, L, batch, stream(seed, "train-sgd", mode, L, k), s, tau)
        for m, st in state.items():
            if st[3]:
                st[2][k] = math.nan
                continue
            r, dU, dV = fns[m](st[0], st[1], *data)
            st[2][k] = r
            st[0] -= eta * dU
            st[1] -= eta * dV
            if not (math.isfinite(r) and np.all(np.isfinite(st[0])) and np.all(np.isfinite(st[1]))):
                st[3] = True
    edges = np.linspace(0, n_steps, windows + 1).round().astype(int)
    out = {}
    for m, (U, V, risks, diverged) in state.items():
        means, ses, centres = [], [], []
        for a, b in zip(edges, edges[1:]):
            e = mean_estimate(risks[a:b]) if not diverged else None
            means.append(e.mean if e else math.nan)
            ses.append(e.stderr if e else math.nan)
            centres.append(float((a + b - 1) / 2))
        out[m] = {"U": U, "V": V, "window_steps": centres, "window_risk": means, "window_se": ses, "diverged": diverged}
    return out


def held_out(mode, params: dict, L, n_prompts, seed, *, Sigma=None, noise_var=NOISE_VAR, task_var=TASK_VAR,
             draw=None) -> dict:
    r"""R_L of every (U, V) in ``params`` ({model: (U, V)}) on the same ``n_prompts`` fresh prompts (blocks of 128
    from stream(seed, "held-out", mode, L, j), independent of training), with batch-mean standard errors, and
    the paired softmax - linear difference when both are there.  Returns {name: Estimate}; None where a risk is
    not finite (diverged parameters: never a number that could pass for agreement)."""
    mode = _mode(mode)
    S, s, tau = _setting(Sigma, noise_var, task_var)
    L = positive_int(L, "L")
    n_prompts = _capped(positive_int(n_prompts, "n_prompts"), MAX_PROMPTS, "n_prompts")
    blocks = n_prompts // EVAL_BLOCK
    if blocks < 4:
        raise ValueError(f"n_prompts: need at least {4 * EVAL_BLOCK} prompts (4 blocks of {EVAL_BLOCK}), got {n_prompts}")
    draw = sampler(mode) if draw is None else draw
    fns = {m: _model(m) for m in params}
    risks = {m: np.empty(blocks) for m in params}
    seed = seed_value(seed)
    for j in range(blocks):
        data = draw(S, L, EVAL_BLOCK, stream(seed, "held-out", mode, L, j), s, tau)
        for m, (U, V) in params.items():
            risks[m][j] = fns[m](U, V, *data)[0] if np.all(np.isfinite(U)) and np.all(np.isfinite(V)) else math.nan
    out = {m: _block_estimate(r) for m, r in risks.items()}
    if "softmax" in risks and "linear" in risks:
        out["softmax-linear"] = _block_estimate(risks["softmax"] - risks["linear"])
    return out


def _block_estimate(block_means: np.ndarray) -> Estimate | None:
    """Equal-size block means: mean and the standard error of the block means (batch means); None if one is not finite."""
    n = block_means.size
    if not np.all(np.isfinite(block_means)):
        return None
    return Estimate(float(block_means.mean()), float(block_means.std(ddof=1) / math.sqrt(n)), n * EVAL_BLOCK)


def bayes_risk(mode, L, n_prompts, seed, *, Sigma=None, noise_var=NOISE_VAR, task_var=TASK_VAR) -> Estimate:
    r"""Bayes risk of the model at prompt length L (the posterior mean of w, prior N(0, \tau^2 I), noise s^2):
    1/2 (s^2 E_X tr(\Sigma_q (X^T X + \lambda I)^{-1}) + s^2), \lambda = s^2/\tau^2 (the authors' ridge penalty
    \sigma^2 d = 0.5), X the L x d prompt covariates of the mode (rows N(0, \Sigma_p)).  Monte Carlo over X only
    (the rest is integrated exactly), batch means; L = \infty gives s^2/2."""
    mode = _mode(mode)
    S, s, tau = _setting(Sigma, noise_var, task_var)
    L = positive_int(L, "L")
    n_prompts = _capped(positive_int(n_prompts, "n_prompts"), MAX_PROMPTS, "n_prompts")
    Sp, Sq = _covariances(mode, S)
    C = np.linalg.cholesky(Sp)
    lam = s * s / (tau * tau)
    gen = stream(seed_value(seed), "bayes", mode, L)
    vals = []
    left = n_prompts
    while left > 0:
        m = min(left, max(1, (1 << 20) // L))
        X = gen.standard_normal((m, L, S.shape[0])) @ C.T
        G = np.einsum("bli,blj->bij", X, X) + lam * np.eye(S.shape[0])
        vals.append(np.einsum("ij,bji->b", Sq, np.linalg.inv(G)))
        left -= m
    t = np.concatenate(vals)
    e = batch_mean_estimate(t, batches=min(20, t.size // 2))
    return Estimate(0.5 * (s * s * e.mean + s * s), 0.5 * s * s * e.stderr, e.n)


# ------------------------------------------------------------------------------------------ L = infinity


def risk_infinite_intended(U, V, Sigma=None, noise_var=NOISE_VAR, task_var=TASK_VAR) -> float:
    r"""R_\infty^\tau(U, V) in the intended model, by (*): \tau^2 icl_risk_infinite(D U, V D/\tau, \Sigma, s/\tau)."""
    S, s, tau = _setting(Sigma, noise_var, task_var)
    Dm = np.diag([1.0] * S.shape[0] + [tau])
    return tau * tau * icl_risk_infinite(Dm @ np.asarray(U, float), np.asarray(V, float) @ Dm / tau, S, s / tau)


def risk_infinite_authors(U, V, Sigma=None, noise_var=NOISE_VAR, task_var=TASK_VAR) -> float:
    r"""R_\infty(U, V) in the authors' model (\Sigma_p = \Sigma^2, \Sigma_q = I, w ~ N(0, \tau^2 I)): the general closed
    form :func:`verify.icl.mismatch.mismatch_closed_form_of` evaluated exactly at the float entries (binary rationals)."""
    import sympy as sp

    from verify.icl.mismatch import SIGMA_P, SIGMA_Q, TAU2, mismatch_closed_form_of, mismatch_value

    S, s, tau = _setting(Sigma, noise_var, task_var)

    def R(X):
        X = np.asarray(X, dtype=float)
        return sp.ImmutableMatrix(X.shape[0], X.shape[1], lambda i, j: sp.Rational(float(X[i, j])))

    point = {"U": R(U), "V": R(V), "Sigma_p": R(S @ S), "Sigma_q": sp.ImmutableMatrix(sp.eye(S.shape[0])),
             "s": sp.sqrt(sp.Rational(float(s * s))), "tau2": sp.Rational(float(tau * tau))}
    return float(mismatch_value(point, mismatch_closed_form_of(SIGMA_P, SIGMA_Q, tau2=TAU2)))


def _authors_field(S, tau2):
    r"""-\nabla of the authors' invariant-subspace risk \tau^2/2 tr(N^T\Sigma_q N) + s^2/2, N = bA^T\Sigma_p - I
    (\Sigma_p = \Sigma^2, \Sigma_q = I):  \nabla_A = \tau^2 b \Sigma_p N^T \Sigma_q,  \nabla_b = \tau^2 tr(N^T\Sigma_q A^T\Sigma_p)."""
    Sp = S @ S
    d = S.shape[0]

    def grad(A, b):
        N = b * A.T @ Sp - np.eye(d)
        return tau2 * b * Sp @ N.T, tau2 * float(np.trace(N.T @ A.T @ Sp))

    return grad


def infinite_reference(mode, n_steps, steps_at, *, Sigma=None, alpha=ALPHA, eta=ETA, noise_var=NOISE_VAR,
                       task_var=TASK_VAR) -> dict:
    r"""Gradient descent with step \eta on the closed-form R_\infty of the mode, from the balanced start, recorded at
    the integer steps ``steps_at`` (risk) and at ``n_steps`` ((U, V)).  intended: :func:`verify.icl.training.gradient_descent`
    with step \tau^2\eta on R^1 (the rescaling (*); the balanced start keeps the invariant subspace); authors:
    explicit Euler on :func:`_authors_field`."""
    from verify.icl.risk import invariant_point
    from verify.icl.training import balanced_init, gradient_descent

    mode = _mode(mode)
    S, s, tau = _setting(Sigma, noise_var, task_var)
    n_steps = positive_int(n_steps, "n_steps")
    at = sorted({int(k) for k in steps_at} | {n_steps})
    risk_of = risk_infinite_intended if mode == "intended" else None
    U0, V0 = balanced_init(S, alpha)
    d = S.shape[0]
    risks = {}
    if mode == "intended":
        A, b = U0, V0
        prev = 0
        for k in at:
            if k > prev:
                p = gradient_descent(A, b, S, tau * tau * eta, k - prev, record_every=k - prev)
                A, b = p.final()
                prev = k
            risks[k] = risk_of(A, b, S, noise_var, task_var)
        U, V = A, b
    else:
        grad = _authors_field(S, tau * tau)
        A, b = U0[:d, :d].copy(), float(V0[d, d])
        Sp = S @ S
        for k in range(n_steps + 1):
            if k in at:
                N = b * A.T @ Sp - np.eye(d)
                risks[k] = 0.5 * tau * tau * float(np.trace(N.T @ N)) + 0.5 * s * s
            if k < n_steps:
                gA, gb = grad(A, b)
                A, b = A - eta * gA, b - eta * gb
        U, V = invariant_point(A, b, d)
    return {"steps": at, "risk": [risks[k] for k in at], "U": U, "V": V}


def authors_flow(t_end: float = 2e3, *, Sigma=None, alpha=ALPHA, noise_var=NOISE_VAR, task_var=TASK_VAR) -> dict:
    r"""The authors'-model gradient flow on R_\infty (invariant subspace) to ``t_end`` by Radau (rtol 1e-10,
    atol 1e-12; implicit: the rates spread over three decades, DOP853 needs 16x the evaluations): where their runs go.  Returns bA at the end, its relative distances to \Sigma_p^{-1} = \Sigma^{-2}
    (their minimiser) and to \Sigma^{-1} (the intended one), and the risk of the endpoint in both models; the same at
    t = 300 and 600 (``at_authors_budget``: their 300,000 steps at lr 1e-3 on the MSE, i.e. \eta = 2e-3 on our risk,
    is t = 600; t = 300 at \eta = 1e-3)."""
    from scipy.integrate import solve_ivp

    from verify.icl.risk import invariant_point

    S, s, tau = _setting(Sigma, noise_var, task_var)
    d = S.shape[0]
    grad = _authors_field(S, tau * tau)
    t_end = positive_float(t_end, "t_end")

    def rhs(t, y):
        gA, gb = grad(y[:-1].reshape(d, d), y[-1])
        return -np.concatenate([gA.ravel(), [gb]])

    y0 = np.concatenate([(alpha * np.eye(d) / math.sqrt(d)).ravel(), [alpha]])
    budget = [t for t in (300.0, 600.0) if t < t_end]  # the authors' 300,000 steps at eta = 1e-3 and at their 2e-3
    sol = solve_ivp(rhs, (0.0, t_end), y0, method="Radau", rtol=1e-10, atol=1e-12, dense_output=True)
    A, b = sol.y[:-1, -1].reshape(d, d), float(sol.y[-1, -1])
    U, V = invariant_point(A, b, d)
    Si = np.linalg.inv(S)
    at = {}
    for t in budget:
        y = sol.sol(t)
        Ab, bb = y[:-1].reshape(d, d), float(y[-1])
        at[f"t={t:g}"] = {"rel_dist_sigma_inv2": float(np.linalg.norm(bb * Ab - Si @ Si) / np.linalg.norm(Si @ Si)),
                          "risk_authors": risk_infinite_authors(*invariant_point(Ab, bb, d), S, noise_var, task_var),
                          "risk_intended": risk_infinite_intended(*invariant_point(Ab, bb, d), S, noise_var, task_var)}
    return {"t_end": t_end, "method": "Radau rtol=1e-10 atol=1e-12", "at_authors_budget": at, "bA": (b * A).tolist(),
            "rel_dist_sigma_inv2": float(np.linalg.norm(b * A - Si @ Si) / np.linalg.norm(Si @ Si)),
            "rel_dist_sigma_inv": float(np.linalg.norm(b * A - Si) / np.linalg.norm(Si)),
            "risk_authors": risk_infinite_authors(U, V, S, noise_var, task_var),
            "risk_intended": risk_infinite_intended(U, V, S, noise_var, task_var),
            "predicted_intended": 0.5 * s * s + tau * tau * (0.5 * (np.trace(Si) + np.trace(S)) - d)}


# ------------------------------------------------------------------------------------------ the data model


def data_model_z(draw, Sigma_p, Sigma_q, L, n_prompts, seed, *, noise_var=NOISE_VAR, task_var=TASK_VAR) -> float:
    r"""Largest |z| of the sampler ``draw``'s second moments against a data model (\Sigma_p, \Sigma_q, \tau^2, s^2):
    E x x^T = \Sigma_p, E x_q x_q^T = \Sigma_q, E y^2 = \tau^2 tr\Sigma_p + s^2, E y_q^2 = \tau^2 tr\Sigma_q + s^2;
    one sample per prompt (prompt means), standard errors from the prompts."""
    Sp = covariance(Sigma_p, "Sigma_p")
    Sq = covariance(Sigma_q, "Sigma_q", Sp.shape[0])
    s2, t2 = nonnegative_float(noise_var, "noise_var"), positive_float(task_var, "task_var")
    S0 = toeplitz_sigma(Sp.shape[0], RHO)
    X, Y, Xq, Yq = draw(S0, positive_int(L, "L"), positive_int(n_prompts, "n_prompts"), stream(seed_value(seed), "data-model"),
                        math.sqrt(s2), math.sqrt(t2))
    zs = []
    xx = np.einsum("bli,blj->bij", X, X) / X.shape[1]
    qq = np.einsum("bi,bj->bij", Xq, Xq)
    for samples, target in ((xx, Sp), (qq, Sq)):
        for i in range(Sp.shape[0]):
            for j in range(i, Sp.shape[0]):
                zs.append(mean_estimate(samples[:, i, j]).z(target[i, j]))
    zs.append(mean_estimate((Y**2).mean(1)).z(t2 * np.trace(Sp) + s2))
    zs.append(mean_estimate(Yq**2).z(t2 * np.trace(Sq) + s2))
    return float(max(abs(z) for z in zs))


# ------------------------------------------------------------------------------------------ the experiment

QUICK = {"intended_Ls": (10, 100), "authors_Ls": (10, 100), "n_steps": 100, "windows": 10, "n_eval": 512,
         "n_bayes": 512}
FULL = {"intended_Ls": LS, "authors_Ls": (10, 100, 1000), "n_steps": 1000, "windows": 30, "n_eval": 8192,
        "n_bayes": 4096}


def _est(e: Estimate | None) -> dict | None:
    return None if e is None else {"mean": e.mean, "stderr": e.stderr, "n": e.n}


def _bA_distances(U, V, S) -> dict:
    r"""Relative Frobenius distances of b U_{11} to \Sigma^{-1} (the intended minimiser) and \Sigma^{-2} (the authors')."""
    d = S.shape[0]
    bA = float(V[d, d]) * np.asarray(U)[:d, :d]
    Si = np.linalg.inv(S)
    return {"bA_to_Sigma_inv": float(np.linalg.norm(bA - Si) / np.linalg.norm(Si)),
            "bA_to_Sigma_inv2": float(np.linalg.norm(bA - Si @ Si) / np.linalg.norm(Si @ Si))}


def steps_to_excess(levels=(1e-2, 1e-3), *, Sigma=None, alpha=ALPHA, eta=ETA, task_var=TASK_VAR) -> dict:
    r"""Steps of size \eta the intended-model L = \infty flow needs until R_\infty - s^2/2 <= each level: the flow of R^1
    (:func:`verify.icl.training.gradient_flow`, DOP853 rtol 1e-10, atol 1e-12) to t = 60 (the authors' 300,000 steps at
    \eta = 1e-3: \tau^2 \eta k = 60), its excess \tau^2 R^1_{noiseless}, step = t / (\tau^2\eta) at the first record
    below the level (records are dense near the end; None if never)."""
    from verify.icl.training import balanced_init, gradient_flow

    S, _, tau = _setting(Sigma, NOISE_VAR, task_var)
    p = gradient_flow(*balanced_init(S, alpha), S, 60.0)
    excess = tau * tau * p.risk()
    out = {"method": p.method, "excess_at_300k_steps": float(excess[-1])}
    for lev in levels:
        hit = np.nonzero(excess <= lev)[0]
        out[f"{lev:g}"] = None if hit.size == 0 else int(math.ceil(p.t[hit[0]] / (tau * tau * eta)))
    return out


def run_sgd(*, quick: bool, seed: int, progress: Callable[[str], None] | None = None) -> dict:
    r"""The authors' experiment in our setting (module docstring): {"runs": [...], "fits": [...], "findings": [...],
    "config": {...}, "infinite": {...}}, JSON-serialisable.  Full: intended mode at every L of :data:`LS`, authors'
    mode at L = 10, 100, 1000, 1000 SGD steps (about 5 minutes on 2 cores), 8192 held-out prompts; quick: L = 10, 100,
    100 steps, 512 prompts.  ``seconds`` is wall time, ``cpu_seconds`` the process's CPU time (load-independent)."""
    if not isinstance(quick, bool):
        raise TypeError(f"quick: expected a bool, got {type(quick).__name__}")
    seed = seed_value(seed)
    cfg = QUICK if quick else FULL
    S, s, tau = _setting(None, NOISE_VAR, TASK_VAR)
    n = cfg["n_steps"]
    runs, fits = [], []
    t_all, cpu_all = time.perf_counter(), time.process_time()
    for mode in MODES:
        Sp, _ = _covariances(mode, S)
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
                             **_bA_distances(U, V, S), "diverged": res[m]["diverged"],
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
                     **_bA_distances(ref["U"], ref["V"], S)})
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
    result = {"config": {"quick": quick, "seed": seed, "d": D, "rho": RHO, "noise_var": NOISE_VAR, "task_var": TASK_VAR,
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
    """Terminal table of :func:`run_sgd`."""
    import textwrap

    lines = [f"authors' experiment (SGD, eta={result['config']['eta']:g}, batch {result['config']['batch']}, "
             f"{result['config']['n_steps']} steps, alpha={result['config']['alpha']:g}):",
             f"  {'mode':<9} {'L':>5} {'softmax R_L':>18} {'linear R_L':>18} {'paired diff':>18} {'Bayes(L)':>9} {'R_inf(soft)':>11}"]
    for r in result["runs"]:
        if r["model"] != "softmax":
            continue
        li = _row(result, r["mode"], "linear", r["L"])
        f = lambda e: f"{e['mean']:.4f} +- {e['stderr']:.1g}"  # noqa: E731
        lines.append(f"  {r['mode']:<9} {r['L']:>5} {f(r['final_risk']):>18} {f(li['final_risk']):>18} "
                     f"{f(r['paired_softmax_minus_linear']):>18} {r['bayes_risk_L']['mean']:>9.4f} {r['rinf_model']:>11.4f}")
    lines.append("findings:")
    lines += [textwrap.fill(x, 110, initial_indent="  - ", subsequent_indent="    ") for x in result["findings"]]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ figures


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_sgd_figures(result: dict, directory) -> list:
    r"""PNG figures of :func:`run_sgd` into ``directory`` (:func:`verify.icl.training.output_dir`): ``sgd_final_risk.png``
    (held-out R_L against L, both models, 95% CIs, Bayes risk at L and s^2/2, the L = \infty GD risk at the same
    step; for the authors' data also R_\infty of their softmax runs in the intended model and that of their limit),
    ``sgd_risk_vs_step.png`` (training risk windows per L and the L = \infty GD curve), ``sgd_trajectory_gap.png``
    (relative distance of the SGD parameters at the last step to the L = \infty GD ones, against L), and
    ``alpha_sweep.png`` when ``result`` carries ``init_interval`` rows (:func:`alpha_figure`)."""
    from verify.icl.training import output_dir

    out = output_dir(directory)
    plt = _plt()
    paths = []
    cfg = result["config"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, mode in zip(axes, MODES):
        Ls = cfg[f"{mode}_Ls"]
        for model, mk in zip(MODELS, ("o-", "s--")):
            rows = [_row(result, mode, model, L) for L in Ls]
            ax.errorbar(Ls, [r["final_risk"]["mean"] for r in rows], yerr=[1.96 * r["final_risk"]["stderr"] for r in rows],
                        fmt=mk, capsize=3, label=f"{model} (SGD, held-out)")
        rows = [_row(result, mode, "softmax", L) for L in Ls]
        ax.plot(Ls, [r["bayes_risk_L"]["mean"] for r in rows], "k:", label="Bayes risk at L")
        ax.axhline(cfg["noise_var"] / 2, color="grey", lw=0.8, label="s^2/2 (Bayes, L = inf)")
        ref = next(r for r in result["runs"] if r["mode"] == mode and r["model"] == "L=inf GD")
        ax.axhline(ref["final_risk_exact"], color="C2", ls="-.", label=f"L = inf GD at step {cfg['n_steps']}")
        if mode == "authors":
            ax.plot(Ls, [r["rinf_intended"] for r in rows], "^:", color="C3", label="softmax run, R_inf in the intended model")
            ax.axhline(result["infinite"]["authors_flow"]["predicted_intended"], color="C3", lw=0.8,
                       label="their limit Sigma^-2/b, in the intended model")
        ax.set_xscale("log")
        ax.set_xlabel("prompt length L")
        ax.set_ylabel("risk (1/2 MSE)")
        ax.set_title(f"{mode} data: final risk after {cfg['n_steps']} steps")
        ax.legend(fontsize=7)
    fig.tight_layout()
    p = out / "sgd_final_risk.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    paths.append(p)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, mode in zip(axes, MODES):
        for i, L in enumerate(cfg[f"{mode}_Ls"]):
            for model, ls in zip(MODELS, ("-", "--")):
                r = _row(result, mode, model, L)
                ax.plot(r["window_steps"], r["window_risk"], ls, color=f"C{i}", lw=1,
                        label=f"L={L}" if model == "softmax" else None)
        ref = next(r for r in result["runs"] if r["mode"] == mode and r["model"] == "L=inf GD")
        ax.plot(ref["window_steps"], ref["window_risk"], "k-", lw=2, label="L = inf GD")
        ax.axhline(cfg["noise_var"] / 2, color="grey", lw=0.8)
        ax.set_xlabel("SGD step")
        ax.set_ylabel("training risk (window mean)")
        ax.set_title(f"{mode} data (solid softmax, dashed linear)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    p = out / "sgd_risk_vs_step.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    paths.append(p)
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    for mode, mk in zip(MODES, ("o", "^")):
        for model, ls in zip(MODELS, ("-", "--")):
            rows = [_row(result, mode, model, L) for L in cfg[f"{mode}_Ls"]]
            ax.plot([r["L"] for r in rows], [r["param_gap_to_inf_gd"] for r in rows], mk + ls, label=f"{mode}, {model}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("prompt length L")
    ax.set_ylabel("||theta_L - theta_inf|| / ||theta_inf|| at the last step")
    ax.set_title(f"SGD at L vs GD on R_inf, step {cfg['n_steps']}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    p = out / "sgd_trajectory_gap.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    paths.append(p)
    if result.get("init_interval"):
        paths.append(alpha_figure(result["init_interval"], out / "alpha_sweep.png"))
    return paths


def alpha_figure(audit_rows, path):
    r"""The \alpha sweep of :func:`verify.icl.training.init_interval_audit`: time to reach 1e-6 of the Bayes family against
    \alpha (log-log), one panel per d, one curve per ||\Sigma||_op, non-converged cells marked x at the top, the printed
    bound \sqrt2/(d^{1/4}||\Sigma||) dotted and ZFB's \sqrt2/(d^{1/4}||\Sigma||^{1/2}) dashed.  Returns the path."""
    from pathlib import Path as _Path

    from verify.icl.training import printed_bound, zfb_bound

    rows = list(audit_rows)
    if not rows or not all(isinstance(r, dict) and {"d", "sigma_op", "alpha", "converged", "t_reach"} <= set(r) for r in rows):
        raise ValueError("audit_rows: expected the non-empty list of dicts of verify.icl.training.init_interval_audit")
    path = _Path(path)
    plt = _plt()
    dims = sorted({r["d"] for r in rows})
    fig, axes = plt.subplots(1, len(dims), figsize=(4.2 * len(dims), 3.8), squeeze=False)
    for ax, d in zip(axes[0], dims):
        for i, norm in enumerate(sorted({r["sigma_op"] for r in rows if r["d"] == d})):
            cell = sorted((r for r in rows if r["d"] == d and r["sigma_op"] == norm), key=lambda r: r["alpha"])
            ok = [r for r in cell if r["converged"] and r["t_reach"]]
            ax.plot([r["alpha"] for r in ok], [r["t_reach"] for r in ok], "o-", color=f"C{i}", ms=3,
                    label=f"||Sigma||={norm:g}")
            bad = [r for r in cell if not r["converged"]]
            if bad:
                ax.plot([r["alpha"] for r in bad], [max(r["t_end"] for r in cell)] * len(bad), "x", color=f"C{i}", ms=8)
            ax.axvline(printed_bound(d, norm), color=f"C{i}", ls=":", lw=1)
            ax.axvline(zfb_bound(d, norm), color=f"C{i}", ls="--", lw=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("alpha")
        ax.set_ylabel("time to 1e-6 of the Bayes family")
        ax.set_title(f"d = {d} (dotted: printed bound, dashed: ZFB)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

r"""The authors' SGD experiment in our (U, V) setting (paper Sec. 4 [CODE], Sec. 5): its model, its runs and its
L = \infty references.  The experiment itself (grids, findings, figures) is the ``sgd`` part of ``verify train``
(:mod:`verify.studies.train`).

**Model** (the authors' ``LinearReg``): d = 5, \Sigma_{ij} = 0.5^{|i-j|}, w ~ N(0, \tau^2 I_d) with \tau^2 = 1/d,
label noise of variance s^2 = 0.1 on prompt and query labels.  Two data modes (:mod:`verify.icl.prompts`):

* ``intended``: prompt and query covariates x_l, x_q ~ N(0, \Sigma) (:func:`verify.icl.prompts.sample_prompts`);
* ``authors``: what their data code draws (:func:`verify.icl.prompts.authors_prompts`): the root C = \Sigma^{1/2} is
  applied twice to the prompt covariates (covariance \Sigma_p = \Sigma^2) and never to the query (\Sigma_q = I).

**Training** (:func:`sgd_run`).  SGD on the batch risk  R = 1/(2B) \sum_b (p_L - y_q)^2  (:mod:`verify.icl.training_finite`;
the authors' ``MSELoss`` has no 1/2, so their lr 1e-3 is our \eta = 2e-3 -- we keep \eta = 1e-3), batch B = 128,
from the balanced initialisation (:func:`verify.icl.training.balanced_init`, \alpha = 0.3, inside both the printed
interval and ZFB's), softmax and normalised linear attention.  Step k of mode m at length L draws its batch from
SeedSequence(seed, crc32(mode, L, k)) (:func:`verify.numerics.montecarlo.stream`): the two models see the *same*
prompts, as in the authors' code (one seed, 327, for every run), so their risks are compared paired; same seed,
same bits.

**Measured.**  The final risk R_L(\theta_final) on fresh held-out prompts (:func:`held_out`; the same for both
models; batch means over blocks of 128 prompts), the training risk along the steps (window means of the fresh
training batches), the Bayes risk of the model at L (:func:`bayes_risk`: the posterior-mean predictor,
1/2 (s^2 E tr(\Sigma_q (X^TX + (s^2/\tau^2) I)^{-1}) + s^2),  s^2/2 at L = \infty), and the L = \infty reference
(:func:`infinite_reference`): gradient descent with the same \eta on the closed-form R_\infty (intended:
:func:`verify.icl.training.gradient_descent` with the rescaling below; authors: the invariant-subspace form of
:mod:`verify.icl.mismatch`).

**Task-variance rescaling.**  With D = diag(I_d, \tau), tokens of the \tau-model are D times tokens of the
\tau = 1 model with noise s/\tau, so at every L (softmax or linear)
    R^{\tau}(U, V; s) = \tau^2 R^{1}(D U, V D / \tau; s/\tau)                                (*)
and the closed form :func:`verify.icl.risk.icl_risk_infinite` gives R_\infty^\tau (:func:`risk_infinite_intended`).  On the
invariant subspace (*) reads \tau^2/2 tr((b\Sigma A - I)\Sigma(b\Sigma A - I)^T) + s^2/2, so GD with step \eta on R^\tau
from the balanced start is GD with step \tau^2\eta on R^1 (the noise only shifts the risk there).

>>> r = sgd_run("authors", MODELS, 10, 4, 0, windows=2)
>>> sorted(r), r["linear"]["window_steps"], r["softmax"]["diverged"]
(['linear', 'softmax'], [0.5, 2.5], False)
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from verify._validation import covariance, nonnegative_float, positive_float, positive_int, seed_value
from verify.icl.prompts import MODES, mode_covariances, sampler
from verify.icl.risk import icl_risk_infinite, invariant_point, toeplitz_sigma
from verify.icl.training import balanced_init, final_point, gradient_descent, gradient_flow, risk_along
from verify.icl.training_finite import linear_risk_and_grad, softmax_risk_and_grad
from verify.numerics.montecarlo import Estimate, batch_mean_estimate, mean_estimate, stream

__all__ = [
    "DIM", "RHO", "NOISE_VAR", "TASK_VAR", "BATCH", "ETA", "ALPHA", "LS", "MODELS", "MODES", "RISK_AND_GRAD",
    "sgd_run", "held_out", "bayes_risk", "risk_infinite_intended", "risk_infinite_authors", "authors_field",
    "infinite_reference", "authors_flow", "steps_to_excess", "bA_distances", "data_model_z",
]

DIM = 5
"""The dimension d of the authors' experiment."""
RHO = 0.5
NOISE_VAR = 0.1
TASK_VAR = 1.0 / DIM
BATCH = 128
ETA = 1e-3
ALPHA = 0.3
LS = (10, 20, 50, 100, 200, 500, 1000)
"""The prompt lengths L of the SGD experiment (full mode)."""
MODELS = ("softmax", "linear")
RISK_AND_GRAD = {"softmax": softmax_risk_and_grad, "linear": linear_risk_and_grad}
"""The batch risk and gradient of each attention model (the batches are validated by the samplers)."""
EVAL_BLOCK = 128
MAX_STEPS = 10**7
"""Largest ``n_steps`` of one SGD run (a guard against a typo that would run for days)."""
MAX_PROMPTS = 10**8
"""Largest ``n_prompts`` of a held-out or Bayes-risk estimate."""


def _capped(value: int, limit: int, name: str) -> int:
    if value > limit:
        raise ValueError(f"{name}: at most {limit}, got {value}")
    return value


def _mode(mode) -> str:
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {MODES}, got {mode!r}")
    return mode


def _model(model) -> Callable:
    if model not in RISK_AND_GRAD:
        raise ValueError(f"model: expected one of {MODELS}, got {model!r}")
    return RISK_AND_GRAD[model]


def _setting(Sigma, noise_var, task_var):
    S = toeplitz_sigma(DIM, RHO) if Sigma is None else covariance(Sigma, "Sigma")
    return S, math.sqrt(nonnegative_float(noise_var, "noise_var")), math.sqrt(positive_float(task_var, "task_var"))


# ------------------------------------------------------------------------------------------ SGD at finite L


def sgd_run(mode, models, L, n_steps, seed, *, Sigma=None, alpha=ALPHA, eta=ETA, batch=BATCH, noise_var=NOISE_VAR,
            task_var=TASK_VAR, windows: int = 20, draw=None) -> dict:
    r"""SGD for each model in ``models`` at length ``L``: ``n_steps`` steps \theta <- \theta - \eta \nabla R_batch, from
    :func:`verify.icl.training.balanced_init` (\alpha), batch k drawn once from stream(seed, "train-sgd", mode, L, k) and fed to
    every model (paired).  ``draw`` replaces the mode's sampler (a planted wrong data model).

    Returns {model: {"U", "V", "window_steps", "window_risk", "window_se", "diverged"}}: the training risk in
    ``windows`` windows of consecutive steps (mean of the fresh batches' risks and its standard error)."""
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
    Sp, Sq = mode_covariances(mode, S)
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


def authors_field(S, tau2):
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
    explicit Euler on :func:`authors_field`, the risk by :func:`risk_infinite_authors`."""
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
                A, b = final_point(p)
                prev = k
            risks[k] = risk_of(A, b, S, noise_var, task_var)
        U, V = A, b
    else:
        grad = authors_field(S, tau * tau)
        A, b = U0[:d, :d].copy(), float(V0[d, d])
        for k in range(n_steps + 1):
            if k in at:
                risks[k] = risk_infinite_authors(*invariant_point(A, b, d), S, noise_var, task_var)
            if k < n_steps:
                gA, gb = grad(A, b)
                A, b = A - eta * gA, b - eta * gb
        U, V = invariant_point(A, b, d)
    return {"steps": at, "risk": [risks[k] for k in at], "U": U, "V": V}


def authors_flow(t_end: float = 2e3, *, Sigma=None, alpha=ALPHA, noise_var=NOISE_VAR, task_var=TASK_VAR) -> dict:
    r"""The authors'-model gradient flow on R_\infty (invariant subspace) to ``t_end`` by Radau (rtol 1e-10,
    atol 1e-12; implicit: the rates spread over three decades, DOP853 needs 16x the evaluations): where their runs
    go.  Returns bA at the end, its relative distances to \Sigma_p^{-1} = \Sigma^{-2}
    (their minimizer) and to \Sigma^{-1} (the intended one), and the risk of the endpoint in both models; the same at
    t = 300 and 600 (``at_authors_budget``: their 300,000 steps at lr 1e-3 on the MSE, i.e. \eta = 2e-3 on our risk,
    is t = 600; t = 300 at \eta = 1e-3)."""
    from scipy.integrate import solve_ivp

    S, s, tau = _setting(Sigma, noise_var, task_var)
    d = S.shape[0]
    grad = authors_field(S, tau * tau)
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



def bA_distances(U, V, S) -> dict:
    r"""Relative Frobenius distances of b U_{11} to \Sigma^{-1} (the intended minimizer) and \Sigma^{-2} (the authors')."""
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
    S, _, tau = _setting(Sigma, NOISE_VAR, task_var)
    p = gradient_flow(*balanced_init(S, alpha), S, 60.0)
    excess = tau * tau * risk_along(p)
    out = {"method": p.method, "excess_at_300k_steps": float(excess[-1])}
    for lev in levels:
        hit = np.nonzero(excess <= lev)[0]
        out[f"{lev:g}"] = None if hit.size == 0 else int(math.ceil(p.t[hit[0]] / (tau * tau * eta)))
    return out


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

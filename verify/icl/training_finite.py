r"""Training at finite prompt length L (Theorem 4.3 of the paper): the batch risk R_L and its analytic gradient in
(U, V), gradient descent on R_L with fresh prompts each step, and its L = \infty reference
(:mod:`verify.icl.training`).

**Model** (paper Eq. (7); prompts by :func:`verify.icl.prompts.sample_prompts`).  With z_l = (x_l, y_l),
q = (x_q, 0) in R^{d+1}:

    scores  s_l = z_l^T U q,     values  v_l = (V z_l)_{d+1},
    softmax prediction   p_L = \sum_l \pi_l v_l,        \pi = softmax(s)   (log-sum-exp),
    linear prediction    p_L = (1/L) \sum_l s_l v_l     (normalised linear attention),
    batch risk           R = 1/(2B) \sum_b (p_L^{(b)} - y_q^{(b)})^2.

**Gradient** (softmax).  \partial \pi_l / \partial s_m = \pi_l(\delta_{lm} - \pi_m), hence
\partial p_L / \partial s_l = \pi_l (v_l - p_L)  (the centring term -p_L comes from the softmax normaliser) and,
with e_b = (p_L^{(b)} - y_q^{(b)}) / B,

    \partial R / \partial U = \sum_b e_b (\sum_l \pi_l (v_l - p_L) z_l) q^T,
    \partial R / \partial V = e_{d+1} (\sum_b e_b \sum_l \pi_l z_l)^T          (only row d+1 is non-zero).

Linear attention: \partial p_L/\partial U = (1/L) \sum_l v_l z_l q^T,  \partial p_L/\partial V = e_{d+1} ((1/L)\sum_l s_l z_l)^T.
Both are :func:`batch_gradient` of per-token coefficients (the building block a planted slip reuses).

The tokens are never stacked into a (B, L, d+1) array: x and y parts are kept apart, so the working memory is
O(B L d) for the covariates plus O(B L) per score/value/weight array.

**Training** (:func:`finite_gd`): \theta_{k+1} = \theta_k - \eta \nabla \hat R_L(\theta_k; batch_k), a fresh batch per
step, recorded as a :class:`verify.numerics.ode.Trajectory` in the active coordinates of :mod:`verify.icl.training`;
its L = \infty reference is gradient descent on R_\infty from the same start with the same \eta
(:func:`limit_risk`: R_\infty at its end).

>>> from verify.icl.prompts import sample_prompts
>>> from verify.icl.risk import toeplitz_sigma
>>> X, Y, Xq, Yq = sample_prompts(toeplitz_sigma(2, 0.5), 4, 3, np.random.default_rng(0))
>>> U, V = bayes_point(toeplitz_sigma(2, 0.5))
>>> r, dU, dV = linear_risk_and_grad(U, V, X, Y, Xq, Yq)
>>> dU.shape, float(np.abs(dV[:2]).max())
((3, 3), 0.0)
"""

from __future__ import annotations

import math

import numpy as np

from verify._validation import (
    as_array,
    as_matrix,
    covariance,
    nonnegative_float,
    positive_float,
    positive_int,
    seed_value,
)
from verify.icl.gradient import icl_active_vector, icl_from_active_vector
from verify.icl.prompts import MAX_BATCH_TOKENS, sample_prompts, sample_with_roots, step_generator
from verify.icl.references import gradient_definition, risk_definition_gh
from verify.icl.risk import bayes_point, icl_risk_infinite, icl_risk_mc
from verify.icl.training import balanced_init, dimension, final_point, gradient_descent
from verify.numerics.montecarlo import Estimate
from verify.numerics.ode import Trajectory, descend

__all__ = [
    "validated_batch",
    "scores_and_values",
    "batch_gradient",
    "softmax_risk_and_grad",
    "linear_risk_and_grad",
    "risk_definition",
    "fd_gradient_error",
    "finite_gd",
    "off_subspace_norm",
    "averaged_point",
    "risk_mc",
    "seed_stats",
    "linear_excess_ratio",
    "limit_risk",
    "finite_end_risks",
    "excess_over",
    "active_update",
    "reference_descent",
    "limit_risk_reference",
]

ATTENTIONS = ("softmax", "linear")


def _attention(attention) -> str:
    if attention not in ATTENTIONS:
        raise ValueError(f"attention: expected 'softmax' or 'linear', got {attention!r}")
    return attention


# ----------------------------------------------------------------------------------------------- the batch risk


def validated_batch(U, V, X, Y, Xq, Yq) -> tuple:
    """(U, V, X, Y, Xq, Yq) as float arrays of consistent shapes (B, L, d), (B, L), (B, d), (B,) and (d+1)x(d+1), or
    the error naming the argument."""
    X = as_array(X, "X", ndim=3)
    B, L, d = X.shape
    if B < 1 or L < 1 or d < 1:
        raise ValueError(f"X: expected a non-empty (B, L, d) array, got shape {X.shape}")
    Y = as_array(Y, "Y", ndim=2)
    if Y.shape != (B, L):
        raise ValueError(f"Y: expected shape {(B, L)}, got {Y.shape}")
    Xq = as_matrix(Xq, "Xq", shape=(B, d))
    Yq = as_array(Yq, "Yq", ndim=1)
    if Yq.shape != (B,):
        raise ValueError(f"Yq: expected shape {(B,)}, got {Yq.shape}")
    U = as_matrix(U, "U", shape=(d + 1, d + 1))
    V = as_matrix(V, "V", shape=(d + 1, d + 1))
    return U, V, X, Y, Xq, Yq


def scores_and_values(U, V, X, Y, Xq) -> tuple[np.ndarray, np.ndarray]:
    """Scores s_{bl} = z_{bl}^T U q_b and values v_{bl} = (V z_{bl})_{d+1}, both (B, L), of validated arrays: with
    h_b = U q_b, s = X h[:d] + Y h_d and v = X V[d,:d] + Y V[d,d]."""
    B, L, d = X.shape
    H = Xq @ U[:, :d].T  # (B, d+1): U (x_q, 0)
    s = np.matmul(X, H[:, :d, None])[:, :, 0]
    s += Y * H[:, d:]
    v = np.einsum("bld,d->bl", X, V[d, :d])
    v += V[d, d] * Y
    return s, v


def batch_gradient(X, Y, Xq, cU, cV) -> tuple[np.ndarray, np.ndarray]:
    r"""dU = \sum_b (\sum_l cU_{bl} z_{bl}) q_b^T,  dV = e_{d+1} (\sum_{b,l} cV_{bl} z_{bl})^T  for per-token
    coefficients cU, cV (B, L) of validated arrays: the gradient of a batch risk whose prediction's derivatives in
    the scores and the values are cU and cV."""
    B, L, d = X.shape
    G = np.empty((B, d + 1))
    G[:, :d] = np.matmul(cU[:, None, :], X)[:, 0, :]
    G[:, d] = np.einsum("bl,bl->b", cU, Y)
    dU = np.zeros((d + 1, d + 1))
    dU[:, :d] = G.T @ Xq
    dV = np.zeros((d + 1, d + 1))
    dV[d, :d] = np.einsum("bl,bld->d", cV, X)
    dV[d, d] = np.einsum("bl,bl->", cV, Y)
    return dU, dV


def softmax_risk_and_grad(U, V, X, Y, Xq, Yq):
    r"""Batch risk  R = 1/(2B) \sum_b (p_L - y_q)^2  of softmax attention and its gradient (dR/dU, dR/dV).

    p_L = \sum_l \pi_l v_l, \pi = softmax(z_l^T U q) by log-sum-exp;  \partial p_L/\partial s_l = \pi_l (v_l - p_L).
    """
    return _softmax_core(*validated_batch(U, V, X, Y, Xq, Yq))


def linear_risk_and_grad(U, V, X, Y, Xq, Yq):
    r"""Batch risk of normalised linear attention  p_L = (1/L) \sum_l s_l v_l  and its gradient (dR/dU, dR/dV)."""
    return _linear_core(*validated_batch(U, V, X, Y, Xq, Yq))


def _softmax_core(U, V, X, Y, Xq, Yq):
    """:func:`softmax_risk_and_grad` on validated float arrays (the training loop's batches are valid by construction)."""
    B, L, d = X.shape
    s, v = scores_and_values(U, V, X, Y, Xq)
    s -= s.max(axis=1, keepdims=True)
    pi = np.exp(s, out=s)
    pi /= pi.sum(axis=1, keepdims=True)
    pred = np.einsum("bl,bl->b", pi, v)
    res = pred - Yq
    risk = 0.5 * float(res @ res) / B
    e = res / B
    cV = pi * e[:, None]
    v -= pred[:, None]
    v *= cV
    dU, dV = batch_gradient(X, Y, Xq, v, cV)
    return risk, dU, dV


def _linear_core(U, V, X, Y, Xq, Yq):
    """:func:`linear_risk_and_grad` on validated float arrays."""
    B, L, d = X.shape
    s, v = scores_and_values(U, V, X, Y, Xq)
    pred = np.einsum("bl,bl->b", s, v) / L
    res = pred - Yq
    risk = 0.5 * float(res @ res) / B
    e = res / (B * L)
    dU, dV = batch_gradient(X, Y, Xq, v * e[:, None], s * e[:, None])
    return risk, dU, dV


# ----------------------------------------------------------------------------------------------- the definition


def risk_definition(U, V, X, Y, Xq, Yq, attention: str = "softmax") -> float:
    r"""The batch risk from its definition, token by token: Z_b = [X_b, Y_b] (L x (d+1)), q_b = (x_q, 0),
    scores Z_b U q_b, values Z_b V^T e_{d+1}, weights softmax (max-shifted) or s / L.  The reference of the
    finite-difference check: it shares no code with :func:`softmax_risk_and_grad`."""
    _attention(attention)
    U, V, X, Y, Xq, Yq = validated_batch(U, V, X, Y, Xq, Yq)
    B, L, d = X.shape
    Z = np.concatenate([X, Y[:, :, None]], axis=2)
    Q = np.concatenate([Xq, np.zeros((B, 1))], axis=1)
    total = 0.0
    for b in range(B):
        sc = Z[b] @ (U @ Q[b])
        val = Z[b] @ V[d]
        if attention == "softmax":
            wts = np.exp(sc - sc.max())
            wts = wts / wts.sum()
        else:
            wts = sc / L
        total += (wts @ val - Yq[b]) ** 2
    return 0.5 * total / B


def fd_gradient_error(risk_and_grad, U, V, X, Y, Xq, Yq, *, attention: str = "softmax", h: float = 1e-5) -> float:
    r"""max_{ij} |G_{ij} - G^{FD}_{ij}| / max_{ij} |G^{FD}_{ij}| over both (d+1)x(d+1) blocks, G from ``risk_and_grad``,
    G^{FD} by central differences (step ``h``) of :func:`risk_definition`.  NaN when the gradient is not finite."""
    h = positive_float(h, "h")
    U, V, X, Y, Xq, Yq = validated_batch(U, V, X, Y, Xq, Yq)
    _, dU, dV = risk_and_grad(U, V, X, Y, Xq, Yq)
    got = np.concatenate([np.ravel(dU), np.ravel(dV)])
    fd = np.empty_like(got)
    n = U.size
    for k in range(2 * n):
        P = [U.copy(), V.copy()]
        M, idx = P[k // n], np.unravel_index(k % n, U.shape)
        M[idx] += h
        up = risk_definition(P[0], P[1], X, Y, Xq, Yq, attention)
        M[idx] -= 2 * h
        down = risk_definition(P[0], P[1], X, Y, Xq, Yq, attention)
        fd[k] = (up - down) / (2 * h)
    if not np.all(np.isfinite(got)):
        return float("nan")
    scale = float(np.abs(fd).max())
    return float(np.abs(got - fd).max() / scale) if scale > 0 else float(np.abs(got).max())


# ----------------------------------------------------------------------------------------------- training at finite L


def finite_gd(U0, V0, Sigma, L, eta, n_steps, *, batch, seed, tag: str = "gd", noise=0.0, w_scale=1.0,
              attention: str = "softmax", record_every: int = 1, blow_up: float = 1e6) -> Trajectory:
    r"""Gradient descent on R_L with fresh prompts every step:  \theta_{k+1} = \theta_k - \eta \nabla \hat R_L(\theta_k; batch_k),
    batch_k = :func:`verify.icl.prompts.sample_prompts` (``batch`` prompts of length ``L``) from
    :func:`verify.icl.prompts.step_generator` (seed, L, tag, k).

    The same explicit Euler step as :func:`verify.icl.training.gradient_descent` (the L = \infty reference), recorded
    in the active coordinates (vec U11, u, a, b) every ``record_every`` steps at times t = k\eta; the series
    ``"batch_risk"`` is the mean batch risk \hat R_L of the steps since the previous record (an unbiased estimate of
    R_L along the window; NaN at t = 0).  The run stops (``diverged``) when an active entry is not finite or exceeds
    ``blow_up`` in absolute value.

    >>> from verify.icl.risk import toeplitz_sigma
    >>> S = toeplitz_sigma(2, 0.5)
    >>> p = finite_gd(*balanced_init(S, 0.5), S, L=20, eta=0.05, n_steps=4, batch=8, seed=0)
    >>> q = finite_gd(*balanced_init(S, 0.5), S, L=20, eta=0.05, n_steps=4, batch=8, seed=0)
    >>> p.y.shape, bool((p.y == q.y).all()), p.t.tolist()
    ((5, 9), True, [0.0, 0.05, 0.1, 0.15000000000000002, 0.2])
    """
    S = covariance(Sigma, "Sigma")
    d = S.shape[0]
    L = positive_int(L, "L")
    eta = positive_float(eta, "eta")
    n_steps = positive_int(n_steps, "n_steps")
    B = positive_int(batch, "batch")
    noise = nonnegative_float(noise, "noise")
    record_every = positive_int(record_every, "record_every")
    core = _softmax_core if _attention(attention) == "softmax" else _linear_core
    U = as_matrix(U0, "U0", (d + 1, d + 1))
    V = as_matrix(V0, "V0", (d + 1, d + 1))
    seed = seed_value(seed)
    ws = positive_float(w_scale, "w_scale")
    if B * L > MAX_BATCH_TOKENS:
        raise ValueError(f"batch: batch * L must be <= {MAX_BATCH_TOKENS}, got {B * L}")
    C = np.linalg.cholesky(S)
    window: list[float] = []

    def step(k, y):
        Uk, Vk = icl_from_active_vector(y, d)
        r, dU, dV = core(Uk, Vk, *sample_with_roots(C.T, C.T, L, B, step_generator(seed, L, tag, k), noise, ws))
        window.append(r)
        return y - eta * active_update(dU, dV, d)

    def record(k, y):
        mean = float(np.mean(window)) if window else math.nan
        window.clear()
        return {"batch_risk": mean}

    traj = descend(step, icl_active_vector(U, V, d), n_steps, dt=eta, record_every=record_every, blow_up=blow_up,
                   record=record, method=f"{attention} GD on R_L, L={L}, batch {B}, eta={eta:g}, fresh prompts per step")
    return traj.with_data(data={"Sigma": S, "noise": noise, "eta": eta, "L": L, "batch": B})


def active_update(dU, dV, d: int) -> np.ndarray:
    r"""The gradient (dR/dU, dR/dV) in the active coordinates \theta = (vec U11, u, a, b) of
    :func:`verify.icl.gradient.icl_active_vector`: (dU[:d,:d], dU[d,:d], dV[d,:d], dV[d,d]) -- the update of a descent
    step is -\eta times this (row d+1 of dV: the query row of V, whose first d entries are a)."""
    return np.concatenate([dU[:d, :d].ravel(), dU[d, :d], dV[d, :d], [dV[d, d]]])


def reference_descent(U0, V0, Sigma, L, eta, n_steps, *, batch, seed, tag: str = "gd", noise=0.0,
                      attention: str = "softmax", h: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    r"""The reference of :func:`finite_gd`, sharing none of its arithmetic: step k draws its batch by
    :func:`verify.icl.prompts.sample_prompts` from :func:`verify.icl.prompts.step_generator` (seed, L, tag, k) and
    moves every entry of (U, V) by -\eta times the central difference (step ``h``) of :func:`risk_definition` (the
    batch risk token by token) on that batch.  Returns (states, batch_risks): the active vectors \theta_0..\theta_n
    ((n+1, (d+1)^2)) and the definition's batch risk at \theta_k on batch k (n,).  Central differences: error
    O(h^2), about 1e-10 relative."""
    S = covariance(Sigma, "Sigma")
    d = S.shape[0]
    L, n_steps, B = positive_int(L, "L"), positive_int(n_steps, "n_steps"), positive_int(batch, "batch")
    eta, h = positive_float(eta, "eta"), positive_float(h, "h")
    U = as_matrix(U0, "U0", (d + 1, d + 1)).copy()
    V = as_matrix(V0, "V0", (d + 1, d + 1)).copy()
    seed = seed_value(seed)
    states, risks = [icl_active_vector(U, V, d)], []
    for k in range(n_steps):
        data = sample_prompts(S, L, B, step_generator(seed, L, tag, k), noise)
        risks.append(risk_definition(U, V, *data, attention))
        grads = []
        for M in (U, V):
            G = np.zeros_like(M)
            for idx in np.ndindex(*M.shape):
                M[idx] += h
                up = risk_definition(U, V, *data, attention)
                M[idx] -= 2 * h
                down = risk_definition(U, V, *data, attention)
                M[idx] += h
                G[idx] = (up - down) / (2 * h)
            grads.append(G)
        U, V = U - eta * grads[0], V - eta * grads[1]
        states.append(icl_active_vector(U, V, d))
    return np.array(states), np.array(risks)


def off_subspace_norm(path: Trajectory) -> np.ndarray:
    r"""||(u, a)||_2 = ||(U_{d+1,1:d}, V_{d+1,1:d})|| at every record; the off-diagonal part of U11 is *not*
    counted (the subspace is U = diag(A, 0), V = b e e^T with any A).  0 on the invariant subspace."""
    d = dimension(path)
    return np.linalg.norm(path.y[:, d * d:d * d + 2 * d], axis=1)


def averaged_point(path: Trajectory, fraction: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    r"""(U, V) averaged over the last ``fraction`` of the records (Polyak averaging: the stochastic iterates'
    fluctuation of size ~ sqrt(\eta / B) averages out, the drift does not)."""
    n = len(path.t)
    k = max(1, int(round(fraction * n)))
    return icl_from_active_vector(path.y[-k:].mean(axis=0), dimension(path))


# ----------------------------------------------------------------------------------------------- measurements


def risk_mc(U, V, Sigma, L, n_prompts, seed, *, attention: str = "softmax", noise=0.0, w_scale=1.0,
            batch: int = 256) -> Estimate:
    r"""Monte Carlo of R_L = 1/2 E[(p_L - y_q)^2] from whole sampled prompts (:func:`verify.icl.prompts.sample_prompts`,
    w ~ N(0, w_scale^2 I)): mean and standard error over ``n_prompts`` i.i.d. prompts, in batches of ``batch``
    (batch j from :func:`verify.icl.prompts.step_generator` (seed, L, "risk", j)).  Unlike
    :func:`verify.icl.risk.icl_risk_mc` it has a task scale and linear attention, at the price of sampling every token."""
    S = covariance(Sigma, "Sigma")
    d = S.shape[0]
    n = positive_int(n_prompts, "n_prompts")
    U = as_matrix(U, "U", (d + 1, d + 1))
    V = as_matrix(V, "V", (d + 1, d + 1))
    _attention(attention)
    sq = []
    for j, start in enumerate(range(0, n, batch)):
        X, Y, Xq, Yq = sample_prompts(S, L, min(batch, n - start), step_generator(seed, L, "risk", j), noise, w_scale)
        sc, v = scores_and_values(U, V, X, Y, Xq)
        if attention == "softmax":
            sc -= sc.max(axis=1, keepdims=True)
            np.exp(sc, out=sc)
            pred = np.einsum("bl,bl->b", sc, v) / sc.sum(axis=1)
        else:
            pred = np.einsum("bl,bl->b", sc, v) / X.shape[1]
        sq.append(0.5 * (pred - Yq) ** 2)
    sq = np.concatenate(sq)
    return Estimate(float(sq.mean()), float(sq.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0, n)


def seed_stats(values) -> tuple[float, float]:
    """Mean and standard error over independent seeds (batch means: one value per seed; inf with one seed).

    >>> seed_stats([1.0, 3.0])
    (2.0, 1.0)
    """
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else math.inf


def linear_excess_ratio(Sigma, L_small, L_large, n_prompts, seed, *, noise=0.0, w_scale=1.0, attention="linear",
                        bayes=None) -> dict:
    r"""(R_{L_small} - R^\star) / (R_{L_large} - R^\star) at (U_\star, V_\star) (:func:`verify.icl.risk.bayes_point`),
    R^\star = noise^2/2 (or ``bayes``), both by :func:`risk_mc`; the ratio's standard error by the delta method."""
    U, V = bayes_point(Sigma)
    star = noise**2 / 2 if bayes is None else bayes
    a = risk_mc(U, V, Sigma, L_small, n_prompts, seed, attention=attention, noise=noise, w_scale=w_scale)
    b = risk_mc(U, V, Sigma, L_large, max(64, n_prompts // 8), seed + 1, attention=attention, noise=noise,
                w_scale=w_scale)
    ea, eb = a.mean - star, b.mean - star
    ratio = ea / eb
    se = abs(ratio) * math.hypot(a.stderr / ea, b.stderr / eb)
    return {"L_small": L_small, "L_large": L_large, "attention": attention, "noise_var": noise**2,
            "w_var": w_scale**2, "excess_small": [ea, a.stderr], "excess_large": [eb, b.stderr], "ratio": ratio,
            "ratio_stderr": se}


# ----------------------------------------------------------------------------------------------- finite L against L = inf
#
# A case is a dict {"Sigma", "noise", "alpha", "eta", "n_steps", "batch", "runs", "n_eval"}: the balanced start, the
# step and horizon shared by the finite-L runs and their L = \infty reference, and how the finite-L end is measured.


def limit_risk_reference(case: dict) -> float:
    r"""The reference of :func:`limit_risk`, sharing none of its arithmetic: the same gradient descent (start, \eta,
    number of steps of the case) on R_\infty with the gradient of the DEFINITION differentiated under the integral
    (:func:`verify.icl.references.gradient_definition`) and R_\infty at the end by the definition's Gauss-Hermite
    rule (:func:`verify.icl.references.risk_definition_gh`): no closed form of R_\infty or of its gradient."""
    S = covariance(case["Sigma"], "Sigma")
    U, V = balanced_init(S, case["alpha"])
    eta, noise = positive_float(case["eta"], "eta"), nonnegative_float(case["noise"], "noise")
    for _ in range(positive_int(case["n_steps"], "n_steps")):
        gU, gV = gradient_definition(U, V, S, noise)
        U, V = U - eta * gU, V - eta * gV
    return risk_definition_gh(U, V, S, noise)


def limit_risk(case: dict) -> float:
    r"""lim R_\infty(\theta_\infty) of Thm 4.3 at the case's horizon: R_\infty (the closed form
    :func:`verify.icl.risk.icl_risk_infinite`) at the end of GD on R_\infty (:func:`verify.icl.training.gradient_descent`,
    the closed-form gradient) from the case's balanced start with its \eta and number of steps."""
    S = case["Sigma"]
    U0, V0 = balanced_init(S, case["alpha"])
    p = gradient_descent(U0, V0, S, case["eta"], case["n_steps"], noise=case["noise"], record_every=case["n_steps"])
    return icl_risk_infinite(*final_point(p), S, case["noise"])


def finite_end_risks(L: int, rng, case: dict) -> list[float]:
    r"""R_L(\bar\theta_L) over ``case["runs"]`` independent finite-L GD runs (:func:`finite_gd`, seeds from ``rng``),
    \bar\theta_L the Polyak average of the last quarter of the records (every 10 steps), R_L by
    :func:`verify.icl.risk.icl_risk_mc` with ``case["n_eval"]`` prompts."""
    S = case["Sigma"]
    seeds = tuple(int(rng.integers(0, 2**31)) for _ in range(case["runs"]))
    U0, V0 = balanced_init(S, case["alpha"])
    vals = []
    for sd in seeds:
        p = finite_gd(U0, V0, S, L, case["eta"], case["n_steps"], batch=case["batch"], seed=sd, tag="check",
                      noise=case["noise"], record_every=10)
        vals.append(icl_risk_mc(*averaged_point(p), S, L, case["n_eval"], sd, case["noise"]).mean)
    return vals


def excess_over(risks: list[float], limit: float) -> Estimate:
    """mean(risks) - limit, with the standard error over the runs (the run-to-run spread carries both the gradient
    noise and the Monte Carlo error)."""
    m, se = seed_stats(risks)
    return Estimate(m - float(limit), se, len(risks))

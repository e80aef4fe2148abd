r"""Independent figures for the ZFB statement (Zhang, Frei & Bartlett 2024, Thms 4.1-4.2): nothing here calls zfb_gamma.

The statement's subject is a :class:`verify.zfb.ZFBClaim` (\Gamma_n, W_*(\Gamma), the error form, the rate constant);
each figure below takes a claim and compares it with something computed without \Gamma:

* :func:`trained_forward` -- the query output of the LSA forward pass (ZFB eq. 3.3) at the minimiser of the
  population loss found numerically (:func:`verify.zfb.lsa_trained_minimizer`);
* :func:`large_n_slope` -- fitted log-log slope in N of the O(1/N) remainders of W_*(N) and of N err(N, N);
* :func:`corollary_ratio` -- the claimed error over ZFB Corollary 4.3's bound;
* :func:`rejected_z` -- |z| of the trained LSA's Monte Carlo against a (wrong) claim;
* the reviewer's wrong forms (:func:`gamma_two_over_n`, :func:`error_drop_trace`, :func:`error_noise_not_m`).

>>> import numpy as np
>>> round(float(gamma_two_over_n(np.eye(1), 2)[0, 0]), 12)
2.5
"""

from __future__ import annotations

import math

import numpy as np

from verify.icl import bayes_point
from verify.zfb import (
    ZFBClaim, embed_prompt, error_from_gamma, lsa_error_conditional_mc, lsa_query_output, lsa_trained_minimizer,
    trained_first_order,
)


def gamma_two_over_n(Lam, n):
    r"""The reviewer's planted \Gamma = (1 + 2/N)\Lambda + tr(\Lambda)/N I (\Lambda at N = \infty)."""
    return Lam if math.isinf(n) else (1 + 2 / n) * Lam + np.trace(Lam) / n * np.eye(Lam.shape[0])


def error_drop_trace(Lam, GN, GM, m, s, t):
    r"""The error with \Gamma_M missing its tr(\Lambda)/M I, i.e. without tr(\Lambda) tr(\Gamma^{-2}\Lambda^2)/M."""
    return error_from_gamma(Lam, GN, GM - (0 if math.isinf(m) else np.trace(Lam) / m) * np.eye(Lam.shape[0]), m, s, t)


def error_noise_not_m(Lam, GN, GM, m, s, t):
    """The error with the prompt-noise term missing its 1/M."""
    return error_from_gamma(Lam, GN, GM, m, s * math.sqrt(m), t)


def prompt_points(rng, n_prompts: int = 200):
    """Prompts with arbitrary labels at (d, N, M) = (3, 5, 5), (3, 10, 4), (2, 3, 17)."""
    from verify.icl import toeplitz_sigma
    out = []
    for Lam, N_, M_ in ((toeplitz_sigma(3, 0.5), 5, 5), (toeplitz_sigma(3, 0.5), 10, 4), (np.diag([1.0, 0.25]), 3, 17)):
        root = np.linalg.cholesky(Lam)
        d = Lam.shape[0]
        out.append({"Lambda": Lam, "N": N_, "X": rng.standard_normal((n_prompts, M_, d)) @ root.T,
                    "xq": rng.standard_normal((n_prompts, d)) @ root.T, "y": 2.0 * rng.standard_normal((n_prompts, M_)),
                    "label": f"d={d}, N={N_}, M={M_}, {n_prompts} prompts, arbitrary labels"})
    return out


def trained_forward(p):
    """Reference: the query output of the LSA forward pass at the Gamma-free trained minimiser."""
    d = p["Lambda"].shape[0]
    return lsa_query_output(embed_prompt(p["X"], p["y"], p["xq"]), *lsa_trained_minimizer(p["Lambda"], p["N"]))[:, d]


def large_n_slope(p, c: ZFBClaim) -> float:
    """Fitted slope in log N (N = 1e2..1e5) of |N(W_*(N) - (U_*, V_*)) - D_1| and |N err(N, N) - rate constant|.

    D_1 is the derivative in 1/N of the Gamma-free trained minimiser: a right claim gives slope ~ -1, a wrong
    constant a plateau (slope ~ 0)."""
    Lam = p["Lambda"]
    U, V = bayes_point(Lam)
    D1 = trained_first_order(Lam)
    Ns = np.array([10**2, 10**3, 10**4, 10**5])
    gw = [max(np.max(np.abs(n * (W - R) - D)) for W, R, D in zip(c.minimizer(Lam, int(n)), (U, V), D1)) for n in Ns]
    ge = [abs(n * c.error_at(Lam, int(n), int(n)) - c.rate_constant(Lam)) for n in Ns]

    def slope(g):
        return np.polyfit(np.log(Ns), np.log(np.maximum(g, 1e-300)), 1)[0]

    return float(max(slope(gw), slope(ge)))


def corollary_points(rng, n_random: int = 200):
    """Random (Lambda, N, M) with d <= 5, plus the tight corner N = 1e4, M = 1, 2 of the d = 3 Toeplitz Lambda."""
    from verify.icl import toeplitz_sigma
    pts = []
    for k in range(n_random):
        d = int(rng.integers(1, 6))
        A = rng.standard_normal((d, d))
        pts.append({"Lambda": A @ A.T + 0.05 * np.eye(d), "N": int(rng.integers(1, 60)), "M": int(rng.integers(1, 60)),
                    "label": f"random {k}, d={d}"})
    return pts + [{"Lambda": toeplitz_sigma(3, 0.5), "N": 10**4, "M": m_, "label": f"d=3, N=1e4, M={m_}"} for m_ in (1, 2)]


def corollary_ratio(p, c: ZFBClaim) -> float:
    r"""ZFB Cor. 4.3: excess <= (d+1)tr\Lambda/M + (1 + 2d + d^2\kappa) tr\Lambda/N^2; returns claimed error / bound."""
    Lam = p["Lambda"]
    ev = np.linalg.eigvalsh(Lam)
    d = Lam.shape[0]
    b = (d + 1) * ev.sum() / p["M"] + (1 + 2 * d + d**2 * ev[-1] / ev[0]) * ev.sum() / p["N"] ** 2
    return float(c.error_at(Lam, p["N"], p["M"]) / b)


def rejected_z(p, claims, rng, n_prompts: int = 20_000) -> float:
    """|z| of the Gamma-free trained LSA's Monte Carlo error against claims[p["which"]]."""
    c = claims[p["which"]]
    W = lsa_trained_minimizer(p["Lambda"], p["N"])
    est = lsa_error_conditional_mc(p["Lambda"], *W, p["M"], n_prompts, rng, noise_std=p["s"], target_noise_std=p["t"])
    return abs(est.z(c.error_at(p["Lambda"], p["N"], p["M"], p["s"], p["t"])))


def eta_covariance_check(sigma, m: int = 3, d: int = 2):
    r"""Check that E_\varepsilon[\eta\eta^T | x] = \sigma^2 \hat S/M for \eta = (1/M)\sum_i \varepsilon_i x_i.

    The reference is the expectation from the MGF of \varepsilon (SymPy, :func:`mgf_expectation`), at M = 3, d = 2;
    the mutant drops the 1/M."""
    import sympy as sp

    from verify.claims import Mutant
    from verify.evidence import agreement
    from verify.symbolic.gaussian_mgf import GaussianBlock, mgf_expectation

    xs = [sp.Matrix(d, 1, lambda i, _, k=k: sp.Symbol(f"x{k + 1}_{i + 1}")) for k in range(m)]
    eps = sp.symbols(f"epsilon_1:{m + 1}")
    eta = sum((eps[i] * xs[i] for i in range(m)), sp.zeros(d, 1)) / m
    exact = sp.lambdify([sigma] + [v for x in xs for v in x],
                        mgf_expectation(eta * eta.T, [GaussianBlock(list(eps), sigma**2 * sp.eye(m))]))

    def claimed(p, factor=1):
        X = np.asarray(p["X"])
        return p["s"] ** 2 * X.T @ X / m / m * factor

    def points(rng):
        return [{"X": rng.standard_normal((m, d)), "s": 0.7, "label": f"draw {k}"} for k in range(3)]

    return agreement("eta-covariance", subject=claimed,
                     reference=lambda p: np.array(exact(p["s"], *np.asarray(p["X"]).ravel()), dtype=float),
                     points=points, digits=13, kind="float64", reference_name="the MGF of the label noise",
                     mutants=[Mutant("sigma^2 S (no 1/M)", lambda p: claimed(p, m))],
                     description="E[ηη^T | x] = σ^2 Ŝ/M at M = 3 against the MGF of ε")

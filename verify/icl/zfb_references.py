r"""Independent figures for the ZFB statement (Zhang, Frei & Bartlett 2024, Thms 4.1-4.2): nothing here calls zfb_gamma.

The statement's subject is a :class:`verify.icl.zfb.ZFBClaim` (\Gamma_n, W_*(\Gamma), the error form, the rate constant);
each figure below takes a claim and compares it with something computed without \Gamma:

* :func:`trained_forward` -- the query output of the LSA forward pass (ZFB eq. 3.3) at the minimiser of the
  population loss found numerically (:func:`verify.icl.zfb.lsa_trained_minimizer`);
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
from fractions import Fraction

import numpy as np

from verify.icl.risk import bayes_point
from verify.icl.zfb import (
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
    from verify.icl.risk import toeplitz_sigma
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
    from verify.icl.risk import toeplitz_sigma
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


def trained_error_estimate(p, rng, n_prompts: int = 20_000):
    """Monte Carlo of the prediction error of the Gamma-free trained LSA at the configuration ``p``."""
    W = lsa_trained_minimizer(p["Lambda"], p["N"])
    return lsa_error_conditional_mc(p["Lambda"], *W, p["M"], n_prompts, rng, noise_std=p["s"], target_noise_std=p["t"])


def rejected_z(p, estimate, claims) -> float:
    """|z| of the trained LSA's Monte Carlo ``estimate`` against claims[p["which"]]."""
    c = claims[p["which"]]
    return abs(estimate.z(c.error_at(p["Lambda"], p["N"], p["M"], p["s"], p["t"])))


def eta_covariance_check(sigma, m: int = 3, d: int = 2):
    r"""Check that E_\varepsilon[\eta\eta^T | x] = \sigma^2 \hat S/M for \eta = (1/M)\sum_i \varepsilon_i x_i.

    The reference is the expectation from the MGF of \varepsilon (SymPy, :func:`mgf_expectation`), at M = 3, d = 2;
    the mutant drops the 1/M."""
    import sympy as sp

    from verify.kernel.statement import Mutant
    from verify.kernel.evidence import agreement
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


# ------------------------------------------------------------------------------------------ claim points (verify claim)
#
# ``verify claim zfb-gamma`` / ``zfb-error``: exact rational points, d = 1..5, with references computed from the
# DEFINITION without \Gamma and without the Wishart identity: Gaussian fourth moments read off the moment generating
# function (verify.symbolic.gaussian_mgf), the prompt average by pair counting, the population-loss minimiser by a
# linear solve.  Matrices are lists of rows of exact fractions; the 40-digit reference is the rounded exact value.

CLAIM_DPS = 40
CLAIM_DIMS = (1, 2, 3, 4, 5)


def _q(value: float, den: int = 8) -> Fraction:
    """A small rational k/den near ``value`` (exact in fractions, mpmath and float64)."""
    return Fraction(int(round(float(value) * den)), den)


def _mul(A, B):
    return [[sum((a * b for a, b in zip(row, col)), Fraction(0)) for col in zip(*B)] for row in A]


def _add(A, B, c=1):
    return [[a + c * b for a, b in zip(ra, rb)] for ra, rb in zip(A, B)]


def _scale(c, A):
    return [[c * a for a in row] for row in A]


def _eye(d):
    return [[Fraction(int(i == j)) for j in range(d)] for i in range(d)]


def _tr(A):
    return sum((A[i][i] for i in range(len(A))), Fraction(0))


def _T(A):
    return [list(col) for col in zip(*A)]


def _inv(A):
    """Exact inverse by Gauss-Jordan elimination (``ValueError`` if singular)."""
    d = len(A)
    M = [list(row) + e for row, e in zip(A, _eye(d))]
    for c in range(d):
        p = next((r for r in range(c, d) if M[r][c] != 0), None)
        if p is None:
            raise ValueError("A: singular matrix")
        M[c], M[p] = M[p], M[c]
        piv = M[c][c]
        M[c] = [x / piv for x in M[c]]
        for r in range(d):
            if r != c and M[r][c] != 0:
                f = M[r][c]
                M[r] = [x - f * y for x, y in zip(M[r], M[c])]
    return [row[d:] for row in M]


def rational_lambda(dim: int, rng) -> list:
    r"""A generic SPD \Lambda = R R^T + I/4 with R's entries in (1/16)Z (exact fractions), every off-diagonal entry
    non-zero (redrawn otherwise)."""
    while True:
        R = [[_q(0.7 * rng.standard_normal(), 16) for _ in range(dim)] for _ in range(dim)]
        Lam = _add(_mul(R, _T(R)), _eye(dim), Fraction(1, 4))
        if all(Lam[i][j] != 0 for i in range(dim) for j in range(dim)):
            return Lam


def fourth_moments(Lam):
    r"""m4(a, b, c, e) = E[x_a x_b x_c x_e] for x ~ N(0, \Lambda), read off the MGF exp(t^T\Lambda t/2) (SymPy,
    :class:`verify.symbolic.gaussian_mgf.GaussianBlock`; no pairings enumerated), memoised per index multiset."""
    import sympy as sp

    from verify.symbolic.gaussian_mgf import GaussianBlock

    d = len(Lam)
    block = GaussianBlock(list(sp.symbols(f"x_0:{d}")), [[sp.Rational(x.numerator, x.denominator) for x in row]
                                                         for row in Lam])
    table: dict = {}

    def m4(a, b, c, e):
        key = tuple(sorted((a, b, c, e)))
        if key not in table:
            q = sp.Rational(block.moment([key.count(i) for i in range(d)]))
            table[key] = Fraction(int(q.p), int(q.q))
        return table[key]

    return m4


def prompt_second_moment(Lam, B, n: int, m4=None):
    r"""E[\hat S B \hat S] over a prompt of n i.i.d. x_i ~ N(0, \Lambda), \hat S = (1/n)\sum_i x_ix_i^T, by pair counting:
    the n(n-1) pairs i != j are independent (\Lambda B\Lambda), the n pairs i = j give E[x x^T B x x^T] (MGF moments)."""
    d = len(Lam)
    m4 = m4 or fourth_moments(Lam)
    K = [[sum((m4(a, b, c, e) * B[b][c] for b in range(d) for c in range(d)), Fraction(0)) for e in range(d)]
         for a in range(d)]
    return _add(_scale(1 - Fraction(1, n), _mul(_mul(Lam, B), Lam)), K, Fraction(1, n))


def minimiser_reference(Lam, N: int, m4=None):
    r"""The minimiser C of the population loss f(C) = E(x_q^T C\hat S w - w^T x_q)^2 = tr(C^T\Lambda C A_N) - 2tr(\Lambda C\Lambda)
    + tr\Lambda at training length N (A_N = E\hat S^2): \nabla f = 2(\Lambda C A_N - \Lambda^2) = 0, i.e. C = \Lambda A_N^{-1}.
    No \Gamma is used; the statement says C = \Gamma^{-1}.

    >>> minimiser_reference([[Fraction(2)]], 2)       # \Gamma = (1 + 1/2) 2 + 2/2 = 4
    [[Fraction(1, 4)]]
    """
    A = prompt_second_moment(Lam, _eye(len(Lam)), N, m4)
    return _mul(Lam, _inv(A))


def gamma_reference(Lam, N: int, m4=None):
    r"""\Gamma := C^{-1} for the Gamma-free population-loss minimiser C (:func:`minimiser_reference`)."""
    return _inv(minimiser_reference(Lam, N, m4))


def error_reference(Lam, N: int, M: int, s, t, m4=None) -> Fraction:
    r"""E(\hat y_q - y_q)^2 of the trained predictor \hat y_q = x_q^T C (1/M \sum_i y_i x_i), C the Gamma-free minimiser at N,
    from the definition: given the prompt, the mean over w, x_q, \varepsilon is tr((C\hat S - I)^T\Lambda(C\hat S - I))
    + s^2 tr(C^T\Lambda C\hat S)/M + t^2; over the prompt E\hat S = \Lambda and E[\hat S B\hat S] by pair counting
    (:func:`prompt_second_moment`, B = C^T\Lambda C).  Exact.

    >>> error_reference([[Fraction(2)]], 2, 2, 0, 0)   # tr\Lambda - tr(\Gamma^{-1}\Lambda^2) = 2 - 1
    Fraction(1, 1)
    """
    m4 = m4 or fourth_moments(Lam)
    C = minimiser_reference(Lam, N, m4)
    B = _mul(_mul(_T(C), Lam), C)
    s, t = Fraction(s), Fraction(t)
    return (_tr(prompt_second_moment(Lam, B, M, m4)) - 2 * _tr(_mul(_mul(Lam, C), Lam)) + _tr(Lam)
            + s**2 * _tr(_mul(B, Lam)) / M + t**2)


def _mp(x):
    import mpmath

    if isinstance(x, list):
        return mpmath.matrix([[_mp(v) for v in row] for row in x])
    return mpmath.mpf(x.numerator) / x.denominator


def gamma_claim_points(seed: int) -> list:
    r"""Points of ``verify claim zfb-gamma``: d = 1..5, two (\Lambda, N) each (generic non-diagonal \Lambda, N in 2..40, and
    N = 1 at d = 1), reference \Gamma = C^{-1} from the Gamma-free minimiser (:func:`gamma_reference`)."""
    import mpmath

    from verify.kernel.claim import ClaimPoint

    rng = np.random.default_rng([seed, 71])
    pts = []
    for dim in CLAIM_DIMS:
        for j in range(2):
            Lam = rational_lambda(dim, rng)
            n = 1 if (dim, j) == (1, 0) else int(rng.integers(2, 41))
            with mpmath.mp.workdps(CLAIM_DPS + 10):
                values = {"Lambda": _mp(Lam), "N": mpmath.mpf(n), "I": mpmath.eye(dim)}
                pts.append(ClaimPoint(dim, values, _mp(gamma_reference(Lam, n))))
    return pts


ERROR_CASES = ((False, False), (True, False), (False, True), (True, True))
"""Per dimension, (noiseless, M = N): noise s, t > 0 with M != N; none, M != N; s > 0 = t with M = N; none, M = N."""


def error_claim_points(seed: int) -> list:
    r"""Points of ``verify claim zfb-error``: d = 1..5, four each (:data:`ERROR_CASES`), N, M in 1..40, s, t in (1/8)Z,
    reference :func:`error_reference` (exact).  ``cases``: ``noiseless`` (s = t = 0), ``equal-lengths`` (M = N)."""
    import mpmath

    from verify.kernel.claim import ClaimPoint

    rng = np.random.default_rng([seed, 72])
    pts = []
    for dim in CLAIM_DIMS:
        for quiet, equal in ERROR_CASES:
            Lam = rational_lambda(dim, rng)
            n = int(rng.integers(1, 41))
            m = n if equal else int(rng.choice([k for k in range(1, 41) if k != n]))
            s = 0 if quiet else _q(0.3 + rng.random())
            t = 0 if quiet or equal else _q(0.3 + rng.random())
            cases = frozenset(name for name, on in (("noiseless", quiet), ("equal-lengths", equal)) if on)
            ref = error_reference(Lam, n, m, s, t)
            with mpmath.mp.workdps(CLAIM_DPS + 10):
                values = {"Lambda": _mp(Lam), "N": mpmath.mpf(n), "M": mpmath.mpf(m), "s": _mp(Fraction(s)),
                          "t": _mp(Fraction(t)), "I": mpmath.eye(dim)}
                pts.append(ClaimPoint(dim, values, _mp(ref), cases))
    return pts

r"""Independent references for the ZFB statements (Zhang, Frei & Bartlett 2024, Thms 4.1-4.2): nothing here calls
:func:`verify.icl.zfb.zfb_gamma` or the closed-form error.

Float64, at the minimizer of the LSA population loss found numerically without \Gamma
(:func:`verify.icl.zfb.lsa_trained_minimizer`):

* :func:`trained_forward` -- the query output of the LSA forward pass (ZFB eq. 3.3);
* :func:`trained_error_estimate` -- Monte Carlo of the trained LSA's prediction error (exact cubature over
  (w, \varepsilon, x_q), :func:`verify.icl.zfb.lsa_error_conditional_mc`).

Exact (fractions), for ``verify claim zfb-gamma`` / ``zfb-error``: references computed from the DEFINITION without
\Gamma and without the Wishart identity -- Gaussian fourth moments read off the moment generating function
(:mod:`verify.symbolic.gaussian_mgf`), the prompt average by pair counting (:func:`prompt_second_moment`), the
population-loss minimizer by a linear solve (:func:`minimizer_reference`), its error (:func:`error_reference`).
Matrices are lists of rows of exact fractions; :func:`to_mpmath` rounds them to the working precision.

>>> minimizer_reference([[Fraction(2)]], 2)       # \Gamma = (1 + 1/2) 2 + 2/2 = 4
[[Fraction(1, 4)]]
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import sympy as sp

from verify.icl.zfb import embed_prompt, lsa_error_conditional_mc, lsa_query_output, lsa_trained_minimizer
from verify.symbolic.gaussian_mgf import GaussianBlock

__all__ = ["trained_forward", "trained_error_estimate", "small_rational", "rational_lambda", "fourth_moments",
           "prompt_second_moment", "minimizer_reference", "gamma_reference", "error_reference", "to_mpmath"]


def trained_forward(p):
    """The query output of the LSA forward pass at the Gamma-free trained minimizer, for the prompts of a point
    {Lambda, N, X, y, xq} (arbitrary labels)."""
    d = p["Lambda"].shape[0]
    return lsa_query_output(embed_prompt(p["X"], p["y"], p["xq"]), *lsa_trained_minimizer(p["Lambda"], p["N"]))[:, d]


def trained_error_estimate(p, rng, n_prompts: int = 20_000):
    """Monte Carlo of the prediction error of the Gamma-free trained LSA at the configuration {Lambda, N, M, s, t}."""
    W = lsa_trained_minimizer(p["Lambda"], p["N"])
    return lsa_error_conditional_mc(p["Lambda"], *W, p["M"], n_prompts, rng, noise_std=p["s"], target_noise_std=p["t"])


# ------------------------------------------------------------------------------------------ exact references


def small_rational(value: float, den: int = 8) -> Fraction:
    """A small rational k/den near ``value`` (exact in fractions, mpmath and float64).

    >>> small_rational(0.3)
    Fraction(1, 4)
    """
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
        R = [[small_rational(0.7 * rng.standard_normal(), 16) for _ in range(dim)] for _ in range(dim)]
        Lam = _add(_mul(R, _T(R)), _eye(dim), Fraction(1, 4))
        if all(Lam[i][j] != 0 for i in range(dim) for j in range(dim)):
            return Lam


def fourth_moments(Lam):
    r"""m4(a, b, c, e) = E[x_a x_b x_c x_e] for x ~ N(0, \Lambda), read off the MGF exp(t^T\Lambda t/2) (SymPy,
    :class:`verify.symbolic.gaussian_mgf.GaussianBlock`; no pairings enumerated), memoised per index multiset."""
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


def minimizer_reference(Lam, N: int, m4=None):
    r"""The minimizer C of the population loss f(C) = E(x_q^T C\hat S w - w^T x_q)^2 = tr(C^T\Lambda C A_N) - 2tr(\Lambda C\Lambda)
    + tr\Lambda at training length N (A_N = E\hat S^2): \nabla f = 2(\Lambda C A_N - \Lambda^2) = 0, i.e. C = \Lambda A_N^{-1}.
    No \Gamma is used; the statement says C = \Gamma^{-1}.

    >>> minimizer_reference([[Fraction(2)]], 2)       # \Gamma = (1 + 1/2) 2 + 2/2 = 4
    [[Fraction(1, 4)]]
    """
    A = prompt_second_moment(Lam, _eye(len(Lam)), N, m4)
    return _mul(Lam, _inv(A))


def gamma_reference(Lam, N: int, m4=None):
    r"""\Gamma := C^{-1} for the Gamma-free population-loss minimizer C (:func:`minimizer_reference`)."""
    return _inv(minimizer_reference(Lam, N, m4))


def error_reference(Lam, N: int, M: int, s, t, m4=None) -> Fraction:
    r"""E(\hat y_q - y_q)^2 of the trained predictor \hat y_q = x_q^T C (1/M \sum_i y_i x_i), C the Gamma-free minimizer at N,
    from the definition: given the prompt, the mean over w, x_q, \varepsilon is tr((C\hat S - I)^T\Lambda(C\hat S - I))
    + s^2 tr(C^T\Lambda C\hat S)/M + t^2; over the prompt E\hat S = \Lambda and E[\hat S B\hat S] by pair counting
    (:func:`prompt_second_moment`, B = C^T\Lambda C).  Exact.

    >>> error_reference([[Fraction(2)]], 2, 2, 0, 0)   # tr\Lambda - tr(\Gamma^{-1}\Lambda^2) = 2 - 1
    Fraction(1, 1)
    """
    m4 = m4 or fourth_moments(Lam)
    C = minimizer_reference(Lam, N, m4)
    B = _mul(_mul(_T(C), Lam), C)
    s, t = Fraction(s), Fraction(t)
    return (_tr(prompt_second_moment(Lam, B, M, m4)) - 2 * _tr(_mul(_mul(Lam, C), Lam)) + _tr(Lam)
            + s**2 * _tr(_mul(B, Lam)) / M + t**2)


def to_mpmath(x):
    """An exact fraction (or a list of rows of them) as an mpf (mpmath matrix) at the working precision."""
    if isinstance(x, list):
        return mpmath.matrix([[to_mpmath(v) for v in row] for row in x])
    x = Fraction(x)
    return mpmath.mpf(x.numerator) / x.denominator

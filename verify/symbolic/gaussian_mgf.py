r"""A second, independent Gaussian-moment engine: moments read off the moment generating function.

:mod:`verify.symbolic.wick` sums over pairings (Isserlis).  This module never enumerates pairings: for a centred
Gaussian vector x ~ N(0, C) the moment generating function is exp(t^T C t / 2), so

    E[\prod_j x_j^{k_j}] = (\prod_j k_j!) [t^k] exp(t^T C t / 2) = (\prod_j k_j!) [t^k] (t^T C t / 2)^r / r!,   2r = |k|,

a coefficient of a polynomial expansion (:class:`GaussianBlock`).  Two engines that agree on shared cases
(``tests/test_gaussian_mgf.py``) make a wrong moment in either visible.

* :func:`mgf_expectation` -- E[p] for a polynomial p in the variables of independent Gaussian blocks;
* :class:`PromptAverage` -- the Wishart route: E over a prompt x_1..x_M ~ N(0, \Lambda) i.i.d. of a polynomial of
  degree <= 2 in the entries of \hat S = (1/M) \sum_i x_i x_i^T, with a *symbolic* M:
  E\hat S_{ab} = \Lambda_{ab},  E[\hat S_{ab}\hat S_{ce}] = \Lambda_{ab}\Lambda_{ce} + (E[x_a x_b x_c x_e] - \Lambda_{ab}\Lambda_{ce})/M
  (of the M^2 pairs (i, j) only the M diagonal ones are dependent), fourth moments from the MGF;
* :func:`wishart_product` -- E[\hat S B \hat S] = \Lambda B\Lambda + (\Lambda B^T\Lambda + tr(B\Lambda)\Lambda)/M as a SymPy matrix
  (what :class:`PromptAverage` must reproduce; kept here as the shared closed form of the identity).

>>> x, y = sp.symbols("x y")
>>> mgf_expectation(x**2 * y**2, [GaussianBlock([x, y], [[2, 1], [1, 3]])])     # 2*3 + 2*1^2
8
>>> mgf_expectation(x**4, [GaussianBlock([x], [[1]])])
3
"""

from __future__ import annotations

from typing import Sequence

import sympy as sp

__all__ = ["GaussianBlock", "mgf_expectation", "PromptAverage", "wishart_product", "symmetric_symbols"]


def _s(e):
    return e[0, 0] if isinstance(e, sp.MatrixBase) else e


class GaussianBlock:
    """A centred Gaussian vector (``variables``, SymPy symbols) with covariance ``cov``; moments from its MGF."""

    def __init__(self, variables: Sequence, cov):
        self.vars = list(variables)
        if not self.vars or not all(isinstance(v, sp.Symbol) for v in self.vars):
            raise TypeError("variables: expected a non-empty sequence of SymPy symbols")
        if len(set(self.vars)) != len(self.vars):
            raise ValueError("variables: contains a repeated symbol")
        self.cov = sp.Matrix(cov)
        n = len(self.vars)
        if self.cov.shape != (n, n):
            raise ValueError(f"cov: expected shape ({n}, {n}), got {self.cov.shape}")
        if any(sp.expand(self.cov[i, j] - self.cov[j, i]) != 0 for i in range(n) for j in range(i + 1, n)):
            raise ValueError("cov: covariance must be symmetric")
        self.t = sp.symbols(f"t_0:{n}")
        tv = sp.Matrix(self.t)
        self._q = sp.expand(_s(tv.T * self.cov * tv) / 2)
        self._series: dict[int, sp.Poly] = {}

    def moment(self, exps: Sequence[int]) -> sp.Expr:
        r"""E[\prod_j x_j^{k_j}]: the coefficient of t^k in exp(t^T C t/2) times \prod k_j!."""
        if len(exps) != len(self.vars):
            raise ValueError(f"exps: expected {len(self.vars)} exponents, got {len(exps)}")
        total = sum(exps)
        if total % 2:
            return sp.Integer(0)
        r = total // 2
        if r not in self._series:
            self._series[r] = sp.Poly(sp.expand(self._q**r / sp.factorial(r)), *self.t)
        return self._series[r].coeff_monomial(tuple(exps)) * sp.prod([sp.factorial(k) for k in exps])


def mgf_expectation(expr, blocks: Sequence[GaussianBlock]) -> sp.Expr:
    """E[expr] for a polynomial in the variables of independent Gaussian ``blocks`` (other symbols are constants);
    a matrix entry-wise."""
    blocks = list(blocks)
    if not blocks or not all(isinstance(b, GaussianBlock) for b in blocks):
        raise TypeError("blocks: expected a non-empty sequence of GaussianBlock")
    allv = [v for b in blocks for v in b.vars]
    if len(set(allv)) != len(allv):
        raise ValueError("blocks: a variable belongs to two blocks")
    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(lambda e: mgf_expectation(e, blocks))
    try:
        poly = sp.Poly(sp.expand(expr), *allv)
    except sp.PolynomialError:
        raise ValueError(f"expr: not a polynomial in the block variables: {expr}") from None
    total = sp.Integer(0)
    for monom, coeff in poly.terms():
        val, k = coeff, 0
        for b in blocks:
            m = b.moment(monom[k:k + len(b.vars)])
            k += len(b.vars)
            if m == 0:
                val = 0
                break
            val = val * m
        total += val
    return sp.expand(total)


def symmetric_symbols(name: str, d: int) -> sp.Matrix:
    """A symmetric d x d matrix of symbols ``name_ij`` (i <= j), e.g. the entries of \\hat S."""
    return sp.Matrix(d, d, lambda i, j: sp.Symbol(f"{name}_{min(i, j) + 1}{max(i, j) + 1}"))


class PromptAverage:
    r"""E over a prompt of M i.i.d. x_i ~ N(0, \Lambda) of a polynomial of degree <= 2 in the entries of
    \hat S = (1/M)\sum_i x_i x_i^T (the symmetric symbol matrix ``S``), for a symbolic or integer ``m``."""

    def __init__(self, S: sp.Matrix, Lam: sp.Matrix, m):
        d = Lam.shape[0]
        if S.shape != (d, d):
            raise ValueError(f"S: expected shape ({d}, {d}), got {S.shape}")
        self.S, self.Lam, self.m, self.d = S, sp.Matrix(Lam), sp.sympify(m), d
        self.keys = {}
        for a in range(d):
            for b in range(a, d):
                if not isinstance(S[a, b], sp.Symbol) or S[a, b] != S[b, a]:
                    raise ValueError("S: expected a symmetric matrix of symbols")
                self.keys[S[a, b]] = (a, b)
        self.block = GaussianBlock(sp.symbols(f"xi_1:{d + 1}"), Lam)

    def _fourth(self, idx) -> sp.Expr:
        exps = [0] * self.d
        for i in idx:
            exps[i] += 1
        return self.block.moment(exps)

    def __call__(self, expr):
        if isinstance(expr, sp.MatrixBase):
            return expr.applyfunc(self)
        svars = list(self.keys)
        poly = sp.Poly(sp.expand(expr), *svars)
        total = sp.Integer(0)
        L = self.Lam
        for monom, coeff in poly.terms():
            idx = [self.keys[v] for v, k in zip(svars, monom) for _ in range(k)]
            if len(idx) == 0:
                total += coeff
            elif len(idx) == 1:
                (a, b), = idx
                total += coeff * L[a, b]
            elif len(idx) == 2:
                (a, b), (c, e) = idx
                prod = L[a, b] * L[c, e]
                total += coeff * (prod + (self._fourth((a, b, c, e)) - prod) / self.m)
            else:
                raise ValueError("expr: PromptAverage handles polynomials of degree <= 2 in S")
        return sp.expand(total)


def wishart_product(Lam: sp.Matrix, B: sp.Matrix, m) -> sp.Matrix:
    r"""\Lambda B\Lambda + (\Lambda B^T\Lambda + tr(B\Lambda)\Lambda)/m  (SymPy)."""
    return Lam * B * Lam + (Lam * B.T * Lam + (B * Lam).trace() * Lam) / m

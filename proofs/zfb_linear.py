r"""External anchor: Zhang, Frei & Bartlett (2024), Theorems 4.1-4.2, as used by Boursier & Boyer.

**Setting** (ZFB Sec. 3).  w ~ N(0, I_d), x_i, x_q ~ N(0, \Lambda), y_i = w^T x_i; the prompt embeds the query
column with label slot 0, E = [[x_1..x_n x_q],[y_1..y_n 0]], and the linear self-attention layer (ZFB (3.3)) is
f_LSA(E; \theta) = E + W^{PV} E (E^T W^{KQ} E)/n with \hat y_q = [f_LSA]_{d+1,n+1} (n = number of prompt tokens:
N in training, M at test).

**Statement.**  With \Gamma = (1 + 1/N)\Lambda + tr(\Lambda)/N I_d:
 (1) at the global minimum W^{KQ}_* = tr(\Gamma^{-2})^{-1/4} diag(\Gamma^{-1}, 0), W^{PV}_* = tr(\Gamma^{-2})^{1/4}
     e_{d+1} e_{d+1}^T the LSA output on a test prompt of M tokens is exactly x_q^T \Gamma^{-1}(1/M \sum y_i x_i);
     the query's own column enters E E^T but contributes \ell (1 + x_q^T\Gamma^{-1}x_q/M) = 0 (label slot \ell = 0);
 (2) averaged over w, with prompt-label noise s^2 and target noise t^2,
       E(\hat y_q - y_q)^2 = tr\Lambda - 2tr(\Gamma^{-1}\Lambda^2) + tr(\Gamma^{-1}\Lambda\Gamma^{-1}\Gamma_M\Lambda)
                             + s^2 tr(\Gamma^{-1}\Lambda\Gamma^{-1}\Lambda)/M + t^2,
     \Gamma_M = (1 + 1/M)\Lambda + tr(\Lambda)/M I_d; at M = N (noiseless) L(\theta_*) = (tr\Lambda - tr(\Gamma^{-1}\Lambda^2))/2;
     ZFB Theorem 4.2's general form follows from the same two moments;
 (3) N -> \infty: W_* -> Boursier-Boyer's (U_*, V_*), and the error at M = N -> 0 like (d+1) tr(\Lambda)/N.

**Proof.**  Explicit entries throughout.  Gaussian moments are read off the moment generating function
exp(t^T C t / 2) (coefficients of its Taylor series), never from the formula under test; the prompt average uses
E \hat S = \Lambda and the Wishart identity E[\hat S B \hat S] = \Lambda B\Lambda + (\Lambda B^T\Lambda + tr(B\Lambda)\Lambda)/M, itself
derived from the fourth moments (d = 1, 2, 3, symbolic M) and cross-checked at small M from the joint law.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from verify.claims import Check, Statement, at_least, at_most
from verify.derivation import Derivation, equal_given, is_zero, relation
from verify.icl import bayes_point, icl_risk_infinite, toeplitz_sigma
from verify.montecarlo import DEFAULT_Z
from verify.zfb import (
    embed_prompt,
    lsa_forward,
    zfb_error,
    zfb_error_mc,
    zfb_error_parts,
    zfb_minimizer,
    zfb_predict,
)

# ------------------------------------------------------------------------------------------ symbols & helpers

N, M = sp.symbols("N M", positive=True)
sigma, tau = sp.symbols("sigma tau", positive=True)  # prompt-label and target noise standard deviations


def _sym(name: str, d: int, positive_diagonal: bool = False) -> sp.Matrix:
    def entry(i, j):
        i, j = min(i, j), max(i, j)
        return sp.Symbol(f"{name}_{i + 1}{j + 1}", positive=True if (positive_diagonal and i == j) else None)

    return sp.Matrix(d, d, entry)


def _diag(name: str, d: int) -> sp.Matrix:
    return sp.diag(*[sp.Symbol(f"{name}_{i + 1}", positive=True) for i in range(d)])


def _full(name: str, d: int) -> sp.Matrix:
    return sp.Matrix(d, d, lambda i, j: sp.Symbol(f"{name}_{i + 1}{j + 1}"))


def _vec(name: str, d: int) -> sp.Matrix:
    return sp.Matrix(d, 1, lambda i, _: sp.Symbol(f"{name}_{i + 1}"))


def _s(e) -> sp.Expr:
    return e[0, 0] if isinstance(e, sp.MatrixBase) else e


def _tr(A: sp.Matrix) -> sp.Expr:
    return A.trace()


def gamma_of(Lam: sp.Matrix, n) -> sp.Matrix:
    r"""\Gamma_n = (1 + 1/n)\Lambda + tr(\Lambda)/n I."""
    n = sp.sympify(n)
    return (1 + 1 / n) * Lam + _tr(Lam) / n * sp.eye(Lam.shape[0])


class GaussianBlock:
    """A centred Gaussian vector (``variables``) with covariance ``cov``; moments from its MGF.

    E[\\prod x_j^{k_j}] = (\\prod k_j!) [t^k] exp(t^T C t / 2) = (\\prod k_j!) [t^k] (t^T C t / 2)^r / r!,  2r = |k|.
    """

    def __init__(self, variables, cov):
        self.vars = list(variables)
        self.cov = sp.Matrix(cov)
        self.t = sp.symbols(f"t_0:{len(self.vars)}")
        tv = sp.Matrix(self.t)
        self._q = sp.expand(_s(tv.T * self.cov * tv) / 2)
        self._series: dict[int, sp.Poly] = {}

    def moment(self, exps) -> sp.Expr:
        total = sum(exps)
        if total % 2:
            return sp.Integer(0)
        r = total // 2
        if r not in self._series:
            self._series[r] = sp.Poly(sp.expand(self._q**r / sp.factorial(r)), *self.t)
        return self._series[r].coeff_monomial(tuple(exps)) * sp.prod([sp.factorial(k) for k in exps])


def expect(expr, blocks) -> sp.Expr:
    """E[expr] for a polynomial in the variables of independent Gaussian ``blocks`` (other symbols are constants)."""
    allv = [v for b in blocks for v in b.vars]
    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(lambda e: expect(e, blocks))
    poly = sp.Poly(sp.expand(expr), *allv)
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


class PromptAverage:
    r"""E over the prompt of a polynomial of degree <= 2 in the entries of \hat S = (1/M) \sum x_i x_i^T.

    E \hat S_{ab} = \Lambda_{ab};  E[\hat S_{ab}\hat S_{ce}] = \Lambda_{ab}\Lambda_{ce} + (E[x_a x_b x_c x_e] - \Lambda_{ab}\Lambda_{ce})/M
    (the x_i are i.i.d.: only the M diagonal pairs i = j are not independent), with the fourth moments from the MGF.
    """

    def __init__(self, S: sp.Matrix, Lam: sp.Matrix, m=M):
        d = Lam.shape[0]
        self.S, self.Lam, self.m, self.d = S, Lam, m, d
        self.keys = {}
        for a in range(d):
            for b in range(a, d):
                self.keys[S[a, b]] = (a, b)
        self.block = GaussianBlock(sp.symbols(f"xi_1:{d + 1}"), Lam)

    def _fourth(self, idx) -> sp.Expr:
        exps = [0] * self.d
        for i in idx:
            exps[i] += 1
        return self.block.moment(exps)

    def __call__(self, expr) -> sp.Expr:
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


def expectation_over_prompt(avg: PromptAverage):
    """Relation: E_{x_{1:M}}[lhs] (computed by ``avg``) equals rhs."""

    def test(lhs, rhs):
        left = avg(lhs)
        diff = sp.expand(left - sp.expand(rhs)) if not isinstance(rhs, sp.MatrixBase) else (left - rhs)
        entries = list(diff) if isinstance(diff, sp.MatrixBase) else [diff]
        for e in entries:
            if not is_zero(e):
                return False, "E over the prompt of lhs differs from rhs"
        return True, "E over the prompt (E S = Lambda, second moments of S from the MGF, symbolic M) of lhs equals rhs"

    return relation("expectation over the prompt", test, symbol=r"\xrightarrow{\ \mathbb E_{x_{1:M}}\ }")


def limit_as(var, point=sp.oo, tex=r"N\to\infty"):
    """Relation: the entry-wise limit of lhs as ``var`` -> ``point`` equals rhs."""

    def test(lhs, rhs):
        L = sp.Matrix(lhs) if isinstance(lhs, sp.MatrixBase) else sp.Matrix([[lhs]])
        R = sp.Matrix(rhs) if isinstance(rhs, sp.MatrixBase) else sp.Matrix([[rhs]])
        if L.shape != R.shape:
            return False, f"shapes differ: {L.shape} vs {R.shape}"
        for k, (le, re) in enumerate(zip(L, R)):
            lim = sp.limit(le, var, point)
            if not is_zero(sp.simplify(lim - re)):
                return False, f"entry {k}: limit is {lim}, not {re}"
        return True, f"{L.shape[0] * L.shape[1]} entry limit(s) as {var} -> {point} agree"

    return relation(f"limit as {var} -> {point}", test, symbol=r"\xrightarrow[" + tex + r"]{}")


# ------------------------------------------------------------------------------------------ (1) LSA output at theta_*


def derivation_lsa_output(d: int = 2, m: int = 3) -> Derivation:
    """[f_LSA(E; theta_*)]_{d+1, M+1} = x_q^T P (1/M sum y_i x_i), P = Gamma^{-1}, with the query column in E."""
    P = _sym("p", d)
    c = sp.Symbol("c", positive=True)  # tr(Gamma^{-2})^{1/4}
    ell = sp.Symbol("ell")  # the query's label slot (0 in ZFB)
    xs = [_vec(f"x{i + 1}", d) for i in range(m)]
    ys = [sp.Symbol(f"y_{i + 1}") for i in range(m)]
    xq = _vec("q", d)
    E = sp.zeros(d + 1, m + 1)
    for i in range(m):
        E[:d, i] = xs[i]
        E[d, i] = ys[i]
    E[:d, m] = xq
    E[d, m] = ell
    e = sp.zeros(d + 1, 1)
    e[d] = 1
    WKQ = sp.diag(P / c, sp.zeros(1, 1))
    WPV = c * e * e.T
    F = E + WPV * E * (E.T * WKQ * E) / m
    zq = E[:, m]
    mhat = sum((ys[i] * xs[i] for i in range(1, m)), ys[0] * xs[0]) / m
    D = Derivation(f"zfb-lsa-output d={d} M={m}", F[d, m],
                   start_tex=r"[f_{\mathrm{LSA}}(E;\theta_*)]_{d+1,M+1}")
    D.step(ell + _s(e.T * WPV * (E * E.T) * WKQ * zq) / m,
           r"entry $(d+1, M+1)$ of $E + W^{PV}E(E^\top W^{KQ}E)/M$: $E_{d+1,M+1} = \ell$ is the label slot, column $M+1$ of $E^\top W^{KQ}E$ is $E^\top W^{KQ}z_q$",
           rhs_tex=r"\ell + \tfrac1M e_{d+1}^\top W^{PV}_* \big(\textstyle\sum_i z_i z_i^\top + z_q z_q^\top\big) W^{KQ}_* z_q",
           label="read-entry")
    D.step(ell + (sum(ys[i] * _s(xs[i].T * P * xq) for i in range(m)) + ell * _s(xq.T * P * xq)) / m,
           r"$e_{d+1}^\top W^{PV}_* = c\,e_{d+1}^\top$ reads row $d+1$ of $EE^\top$, i.e. $\sum_i y_i z_i^\top + \ell z_q^\top$; $W^{KQ}_* z_q = c^{-1}(Px_q, 0)$ with $c = \mathrm{tr}(\Gamma^{-2})^{1/4}$",
           rhs_tex=r"\ell + \tfrac1M\big(\textstyle\sum_i y_i\, x_i^\top P x_q + \ell\, x_q^\top P x_q\big)",
           label="row-d+1")
    D.step(_s(xq.T * P * mhat),
           r"ZFB's query column has label slot $\ell = 0$, so the query's own term $\ell(1 + x_q^\top P x_q/M)$ vanishes; $P = \Gamma^{-1}$ symmetric",
           check=equal_given({ell: 0}, "label slot ell = 0"),
           rhs_tex=r"x_q^\top \Gamma^{-1}\Big(\tfrac1M\textstyle\sum_{i=1}^M y_i x_i\Big)", label="predictor")
    # the query's own column at a general theta (ell = 0): it enters only through w^{PV}_{21}, which is 0 at theta_*
    WPVg = _full("v", d + 1)
    WKQg = _full("k", d + 1)
    zq0 = zq.subs(ell, 0)
    D.step(_s(WPVg[d, :d] * xq) * _s(xq.T * WKQg[:d, :d] * xq) / m,
           r"the query column $z_q = (x_q, 0)$ adds $z_qz_q^\top = \mathrm{diag}(x_qx_q^\top, 0)$ to $EE^\top$; for a general $\theta$ it acts only through $w^{PV}_{21}$, which is $0$ at $\theta_*$",
           lhs=_s(e.T * WPVg * (zq0 * zq0.T) * WKQg * zq0) / m,
           lhs_tex=r"\tfrac1M e_{d+1}^\top W^{PV} z_q z_q^\top W^{KQ} z_q",
           rhs_tex=r"\tfrac1M (w^{PV}_{21})^\top x_q\; x_q^\top W^{KQ}_{11} x_q", label="query-term-general-theta")
    return D


# ------------------------------------------------------------------------------------------ (2a) Wishart identity


def wishart_rhs(Lam, B, m):
    return Lam * B * Lam + (Lam * B.T * Lam + _tr(B * Lam) * Lam) / m


def derivation_wishart(d: int, small_m: int | None = None) -> Derivation:
    r"""E[\hat S B\hat S] = \Lambda B\Lambda + (\Lambda B^T\Lambda + tr(B\Lambda)\Lambda)/M, explicit d x d entries."""
    Lam, B = _sym("l", d), _full("b", d)
    x = _vec("x", d)
    fourth = expect(x * x.T * B * x * x.T, [GaussianBlock(list(x), Lam)])
    D = Derivation(f"zfb-wishart d={d}", fourth, start_tex=r"\mathbb E[x x^\top B x x^\top]")
    D.step(Lam * B * Lam + Lam * B.T * Lam + _tr(B * Lam) * Lam,
           r"fourth moments of $\mathcal N(0,\Lambda)$ read off the MGF $e^{t^\top\Lambda t/2}$ (Isserlis: three pairings)",
           rhs_tex=r"\Lambda B\Lambda + \Lambda B^\top\Lambda + \mathrm{tr}(B\Lambda)\Lambda", label="isserlis")
    D.step(wishart_rhs(Lam, B, M),
           r"$\hat S = \frac1M\sum_i x_ix_i^\top$: the $M$ diagonal pairs $i = j$ give the fourth moment, the $M(M-1)$ independent pairs $i \ne j$ give $\Lambda B\Lambda$",
           lhs=(M * fourth + M * (M - 1) * Lam * B * Lam) / M**2,
           lhs_tex=r"\mathbb E[\hat S B \hat S] = \tfrac1{M^2}\Big(\textstyle\sum_{i}\mathbb E[x_ix_i^\top Bx_ix_i^\top] + \sum_{i\ne j}\Lambda B\Lambda\Big)",
           rhs_tex=r"\Lambda B\Lambda + \tfrac1M\big(\Lambda B^\top\Lambda + \mathrm{tr}(B\Lambda)\Lambda\big)", label="wishart")
    if small_m:
        xs = [_vec(f"x{i + 1}", d) for i in range(small_m)]
        S = sum((xi * xi.T for xi in xs[1:]), xs[0] * xs[0].T) / small_m
        blocks = [GaussianBlock(list(xi), Lam) for xi in xs]
        D.step(wishart_rhs(Lam, B, small_m),
               rf"cross-check at $M = {small_m}$ straight from the joint law of $x_1, \dots, x_{{{small_m}}}$ (product of MGFs), no pair counting",
               lhs=expect(S * B * S, blocks), lhs_tex=rf"\mathbb E[\hat S B\hat S]\big|_{{M={small_m}}}",
               rhs_tex=rf"\Lambda B\Lambda + \tfrac1{{{small_m}}}\big(\Lambda B^\top\Lambda + \mathrm{{tr}}(B\Lambda)\Lambda\big)",
               label=f"direct-M{small_m}")
    return D


# ------------------------------------------------------------------------------------------ (2b) prediction error


def error_general_p(Lam, P, m=M, s=sigma, t=tau):
    r"""tr\Lambda - 2tr(P\Lambda^2) + tr(P\Lambda P\Lambda\Gamma_M) + s^2 tr(P\Lambda P\Lambda)/M + t^2 (P symmetric)."""
    GM = gamma_of(Lam, m)
    return (_tr(Lam) - 2 * _tr(P * Lam**2) + _tr(P * Lam * P * Lam * GM) + s**2 * _tr(P * Lam * P * Lam) / m + t**2)


def error_closed_form(Lam, n=N, m=M, s=sigma, t=tau):
    r"""The statement's form: tr\Lambda - 2tr(\Gamma^{-1}\Lambda^2) + tr(\Gamma^{-1}\Lambda\Gamma^{-1}\Gamma_M\Lambda) + s^2 tr(..)/M + t^2."""
    Gi = gamma_of(Lam, n).inv()
    GM = gamma_of(Lam, m)
    return (_tr(Lam) - 2 * _tr(Gi * Lam**2) + _tr(Gi * Lam * Gi * GM * Lam)
            + s**2 * _tr(Gi * Lam * Gi * Lam) / m + t**2)


def derivation_error(d: int = 2) -> Derivation:
    """The prediction error, from the definition to the closed form (explicit d x d entries, symbolic N, M)."""
    Lam, P, S = _sym("l", d), _sym("p", d), _sym("s", d)
    w, q, h = _vec("w", d), _vec("q", d), _vec("h", d)
    eq = sp.Symbol("epsilon_q")
    Id = sp.eye(d)
    blocks = [GaussianBlock(list(w), Id), GaussianBlock(list(q), Lam),
              GaussianBlock(list(h), sigma**2 * S / M), GaussianBlock([eq], sp.Matrix([[tau**2]]))]
    err = _s(q.T * P * (S * w + h)) - _s(w.T * q) - eq
    A = P * S - Id
    D = Derivation(f"zfb-error d={d}", expect(err**2, blocks),
                   start_tex=r"\mathbb E_{w,x_q,\varepsilon}\big[(\hat y_q - y_q)^2 \,\big|\, x_{1:M}\big]")
    D.step(_tr(A.T * Lam * A) + sigma**2 * _tr(P * Lam * P * S) / M + tau**2,
           r"$\hat y_q = x_q^\top P(\hat S w + \eta)$, $\eta = \frac1M\sum_i\varepsilon_i x_i \sim \mathcal N(0, \sigma^2\hat S/M)$ given $x_{1:M}$; $w, x_q, \eta, \varepsilon_q$ independent and centred, $\mathbb E(x_q^\top Aw)^2 = \mathrm{tr}(A^\top\Lambda A)$",
           rhs_tex=r"\mathrm{tr}\big((P\hat S - I)^\top\Lambda(P\hat S - I)\big) + \tfrac{\sigma^2}{M}\mathrm{tr}(P\Lambda P\hat S) + \tau^2",
           label="condition-on-prompt")
    D.step(_tr(S * P * Lam * P * S) - 2 * _tr(Lam * P * S) + _tr(Lam) + sigma**2 * _tr(P * Lam * P * S) / M + tau**2,
           r"expand the square; $P$, $\Lambda$, $\hat S$ symmetric",
           rhs_tex=r"\mathrm{tr}(\hat S P\Lambda P\hat S) - 2\,\mathrm{tr}(\Lambda P\hat S) + \mathrm{tr}\Lambda + \tfrac{\sigma^2}{M}\mathrm{tr}(P\Lambda P\hat S) + \tau^2",
           label="expand")
    D.step(error_general_p(Lam, P),
           r"average over the prompt: $\mathbb E\hat S = \Lambda$ and the Wishart identity with $B = P\Lambda P$",
           check=expectation_over_prompt(PromptAverage(S, Lam)),
           rhs_tex=r"\mathrm{tr}\Lambda - 2\,\mathrm{tr}(P\Lambda^2) + \mathrm{tr}(P\Lambda P\Lambda\Gamma_M) + \tfrac{\sigma^2}{M}\mathrm{tr}(P\Lambda P\Lambda) + \tau^2",
           label="prompt-average")
    if d > 2:
        return _eta_line(D, d)  # the Gamma^{-1} steps below are rational in the entries; d = 2 keeps them fast
    G = gamma_of(Lam, N)
    Gi = G.inv()
    D.step(error_closed_form(Lam),
           r"at the minimiser $P = \Gamma^{-1}$; $\Gamma$ and $\Gamma_M$ are polynomials in $\Lambda$, so all factors commute",
           check=equal_given({P[a, b]: Gi[a, b] for a in range(d) for b in range(a, d)}, "P = Gamma^{-1}"),
           rhs_tex=r"\mathrm{tr}\Lambda - 2\,\mathrm{tr}(\Gamma^{-1}\Lambda^2) + \mathrm{tr}(\Gamma^{-1}\Lambda\Gamma^{-1}\Gamma_M\Lambda) + \tfrac{\sigma^2}{M}\mathrm{tr}(\Gamma^{-1}\Lambda\Gamma^{-1}\Lambda) + \tau^2",
           label="at-gamma")
    R = Id - Gi * Lam
    D.step(_tr(Lam * R * R) + (_tr(Gi**2 * Lam**3) + _tr(Lam) * _tr(Gi**2 * Lam**2)) / M
           + sigma**2 * _tr(Gi * Lam * Gi * Lam) / M + tau**2,
           r"expand $\Gamma_M = (1 + \frac1M)\Lambda + \frac{\mathrm{tr}\Lambda}{M}I$: bias plus variance",
           rhs_tex=r"\mathrm{tr}\big(\Lambda(I - \Gamma^{-1}\Lambda)^2\big) + \tfrac1M\big[\mathrm{tr}(\Gamma^{-2}\Lambda^3) + \mathrm{tr}\Lambda\,\mathrm{tr}(\Gamma^{-2}\Lambda^2)\big] + \tfrac{\sigma^2}{M}\mathrm{tr}(\Gamma^{-2}\Lambda^2) + \tau^2",
           label="bias-variance")
    T = Lam + _tr(Lam) * Id
    D.step(_tr(Gi**2 * Lam * T * T) / N**2 + (_tr(Gi**2 * Lam**3) + _tr(Lam) * _tr(Gi**2 * Lam**2)) / M
           + sigma**2 * _tr(Gi * Lam * Gi * Lam) / M + tau**2,
           r"$I - \Gamma^{-1}\Lambda = \Gamma^{-1}(\Lambda + \mathrm{tr}\Lambda\,I)/N$: the bias is $O(N^{-2})$",
           rhs_tex=r"\tfrac1{N^2}\mathrm{tr}\big(\Gamma^{-2}\Lambda(\Lambda + \mathrm{tr}\Lambda\, I)^2\big) + \tfrac1M\big[\ldots\big] + \tfrac{\sigma^2}{M}\mathrm{tr}(\Gamma^{-2}\Lambda^2) + \tau^2",
           label="bias-order")
    D.step(Gi * T / N, r"$\Gamma - \Lambda = (\Lambda + \mathrm{tr}\Lambda\,I)/N$",
           lhs=R, lhs_tex=r"I - \Gamma^{-1}\Lambda", rhs_tex=r"\tfrac1N\Gamma^{-1}(\Lambda + \mathrm{tr}\Lambda\, I)",
           label="residual")
    D.step(_tr(Lam) - _tr(Gi * Lam**2),
           r"at $M = N$ without noise $\Gamma_M = \Gamma$; the minimal population loss is half of this",
           lhs=error_closed_form(Lam, N, N, 0, 0), lhs_tex=r"2L(\theta_*) = \mathbb E(\hat y_q - y_q)^2\big|_{M=N,\ \sigma=\tau=0}",
           rhs_tex=r"\mathrm{tr}\Lambda - \mathrm{tr}(\Gamma^{-1}\Lambda^2)", label="min-loss")
    return _eta_line(D, d)


def _eta_line(D: Derivation, d: int, m: int = 3) -> Derivation:
    """Side line: the noise part of the prompt average, eta = (1/M) sum eps_i x_i, has E[eta eta^T | x] = sigma^2 S / M."""
    xs = [_vec(f"x{i + 1}", d) for i in range(m)]
    eps = sp.symbols(f"epsilon_1:{m + 1}")
    eta = sum((eps[i] * xs[i] for i in range(m)), sp.zeros(d, 1)) / m
    Sx = sum((xi * xi.T for xi in xs), sp.zeros(d, d)) / m
    D.step(sigma**2 * Sx / m,
           rf"the noise part given the prompt, at $M = {m}$: $\eta$ is linear in the independent $\varepsilon_i \sim \mathcal N(0,\sigma^2)$",
           lhs=expect(eta * eta.T, [GaussianBlock(list(eps), sigma**2 * sp.eye(m))]),
           lhs_tex=r"\mathbb E_\varepsilon[\eta\eta^\top \mid x_{1:M}]", rhs_tex=r"\tfrac{\sigma^2}{M}\hat S", label="noise-covariance")
    return D


def derivation_error_direct(d: int, m: int) -> Derivation:
    """Independent cross-check at small M: the full expectation from the joint law (no Wishart identity)."""
    Lam, P = _sym("l", d), _sym("p", d)
    w, q = _vec("w", d), _vec("q", d)
    xs = [_vec(f"x{i + 1}", d) for i in range(m)]
    eps = sp.symbols(f"epsilon_1:{m + 1}")
    eq = sp.Symbol("epsilon_q")
    blocks = ([GaussianBlock(list(w), sp.eye(d)), GaussianBlock(list(q), Lam)]
              + [GaussianBlock(list(xi), Lam) for xi in xs]
              + [GaussianBlock(list(eps), sigma**2 * sp.eye(m)), GaussianBlock([eq], sp.Matrix([[tau**2]]))])
    mhat = sum(((_s(w.T * xs[i]) + eps[i]) * xs[i] for i in range(m)), sp.zeros(d, 1)) / m
    err = _s(q.T * P * mhat) - _s(w.T * q) - eq
    D = Derivation(f"zfb-error-direct d={d} M={m}", expect(err**2, blocks),
                   start_tex=rf"\mathbb E(\hat y_q - y_q)^2\big|_{{M={m}}}")
    D.step(error_general_p(Lam, P, m),
           rf"full expectation over $w, x_q, x_1, \dots, x_{{{m}}}, \varepsilon$ from the joint Gaussian law (MGF moments); $P$ symmetric",
           rhs_tex=rf"\mathrm{{tr}}\Lambda - 2\,\mathrm{{tr}}(P\Lambda^2) + \mathrm{{tr}}(P\Lambda P\Lambda\Gamma_{m}) + \tfrac{{\sigma^2}}{{{m}}}\mathrm{{tr}}(P\Lambda P\Lambda) + \tau^2",
           label="direct")
    return D


# ------------------------------------------------------------------------------------------ why Gamma: the minimiser


def derivation_minimiser(d: int = 2) -> Derivation:
    r"""Within the predictors x_q^T C \hat S w (the LSA on u_{12} = u_{21} = 0: C = u U_{11}^T) the loss at M = N is
    minimised exactly at C = \Gamma^{-1}; the reduced gradient flow is ZFB's."""
    Lam, S, C = _sym("l", d), _sym("s", d), _full("C", d)
    w, q = _vec("w", d), _vec("q", d)
    Id = sp.eye(d)
    G = gamma_of(Lam, N)
    Gi = G.inv()
    err = _s(q.T * C * S * w) - _s(w.T * q)
    cond = expect(err**2, [GaussianBlock(list(w), Id), GaussianBlock(list(q), Lam)])

    def f(Cm):
        return _tr(Cm.T * Lam * Cm * Lam * G) - 2 * _tr(Lam * Cm * Lam) + _tr(Lam)

    D = Derivation(f"zfb-minimiser d={d}", cond,
                   start_tex=r"\mathbb E_{w,x_q}\big[(x_q^\top C\hat S w - w^\top x_q)^2 \,\big|\, x_{1:N}\big]")
    D.step(f(C), r"average over a prompt of $N$ tokens (Wishart identity with $B = C^\top\Lambda C$); $\Lambda\Gamma$ symmetric",
           check=expectation_over_prompt(PromptAverage(S, Lam, N)),
           rhs_tex=r"\mathrm{tr}(C^\top\Lambda C\Lambda\Gamma) - 2\,\mathrm{tr}(\Lambda C\Lambda) + \mathrm{tr}\Lambda", label="loss")
    Dl = C - Gi
    D.step(_tr(Lam) - _tr(Gi * Lam**2) + _tr(Dl.T * Lam * Dl * Lam * G),
           r"complete the square around $C = \Gamma^{-1}$ (using $\Lambda\Gamma = \Gamma\Lambda$)",
           rhs_tex=r"\mathrm{tr}\Lambda - \mathrm{tr}(\Gamma^{-1}\Lambda^2) + \mathrm{tr}\big(\Delta^\top\Lambda\Delta\,\Lambda\Gamma\big),\ \Delta = C - \Gamma^{-1}",
           label="complete-square")
    vecD = Dl.reshape(d * d, 1)  # row-major vec(Delta) = column-major vec(Delta^T)
    kron = sp.Matrix(sp.BlockMatrix([[Lam[i, j] * (Lam * G) for j in range(d)] for i in range(d)]).as_explicit())
    D.step(_s(vecD.T * kron * vecD),
           r"$\Lambda\otimes\Lambda\Gamma \succ 0$ (Kronecker product of positive-definite matrices), so the minimum is attained exactly at $C = \Gamma^{-1}$",
           lhs=_tr(Dl.T * Lam * Dl * Lam * G), lhs_tex=r"\mathrm{tr}(\Delta^\top\Lambda\Delta\,\Lambda\Gamma)",
           rhs_tex=r"\mathrm{vec}(\Delta^\top)^\top(\Lambda\otimes\Lambda\Gamma)\,\mathrm{vec}(\Delta^\top)", label="psd")
    # the reduced gradient flow of ZFB's proof: L(U11, u) = f(u U11^T) / 2
    U, u = _full("U", d), sp.Symbol("u")
    Lred = f(u * U.T) / 2
    gradU = sp.Matrix(d, d, lambda i, j: -sp.diff(Lred, U[i, j]))
    D.step(-u**2 * G * Lam * U * Lam + u * Lam**2,
           r"ZFB's reduced flow on $u_{12} = u_{21} = 0$: $\dot U_{11} = -\partial L/\partial U_{11}$ with $L = \frac12 f(uU_{11}^\top)$",
           lhs=gradU, lhs_tex=r"-\partial L/\partial U_{11}", rhs_tex=r"-u^2\Gamma\Lambda U_{11}\Lambda + u\Lambda^2",
           label="ode-U")
    D.step(-u * _tr(G * Lam * U * Lam * U.T) + _tr(Lam**2 * U.T),
           r"$\dot u = -\partial L/\partial u$; at $\Gamma = \Lambda = \Sigma$ both ODEs are BB's flow",
           lhs=-sp.diff(Lred, u), lhs_tex=r"-\partial L/\partial u",
           rhs_tex=r"-\mathrm{tr}\big[u\,\Gamma\Lambda U_{11}\Lambda U_{11}^\top - \Lambda^2 U_{11}^\top\big]", label="ode-u")
    return D


def derivation_balanced(d: int = 2) -> Derivation:
    r"""W_* has u U_{11}^T = \Gamma^{-1} and is balanced (||U_{11}||_F^2 = u^2): the point the balanced flow reaches."""
    Lam = _diag("lambda", d)
    Gi = gamma_of(Lam, N).inv()
    k = _tr(Gi**2)
    U11 = k ** sp.Rational(-1, 4) * Gi
    u = k ** sp.Rational(1, 4)
    D = Derivation(f"zfb-balanced d={d}", u * U11.T, start_tex=r"u_* U_{11,*}^\top")
    D.step(Gi, r"$\mathrm{tr}(\Gamma^{-2})^{1/4}\,\mathrm{tr}(\Gamma^{-2})^{-1/4} = 1$, $\Gamma$ symmetric", rhs_tex=r"\Gamma^{-1}", label="product")
    D.step(u**2, r"balanced: $\|U_{11}\|_F^2 - u^2 = 0$, as conserved by the flow from the balanced initialisation",
           lhs=sum(e**2 for e in U11), lhs_tex=r"\|U_{11,*}\|_F^2 = \mathrm{tr}(\Gamma^{-2})^{-1/2}\mathrm{tr}(\Gamma^{-2})",
           rhs_tex=r"u_*^2 = \mathrm{tr}(\Gamma^{-2})^{1/2}", label="balanced")
    return D


# ------------------------------------------------------------------------------------------ ZFB Theorem 4.2


def derivation_theorem_4_2(d: int = 2) -> Derivation:
    r"""Theorem 4.2's general form: for any (x, y) with E xx^T = \Lambda, m = E[xy] = \Lambda a, \Sigma_{xy} = Cov(xy)."""
    Lam = _diag("lambda", d)  # WLOG: rotate x so that Lambda is diagonal (m and Sigma_xy stay general)
    mv, Sxy = _vec("m", d), _sym("c", d)
    ey2 = sp.Symbol("v_y", positive=True)  # E y^2
    Id = sp.eye(d)
    Gi = gamma_of(Lam, N).inv()
    Li = Lam.inv()
    a = Li * mv
    start = _s(mv.T * Gi * Lam * Gi * mv) + _tr(Gi * Lam * Gi * Sxy) / M - 2 * _s(mv.T * Gi * mv) + ey2
    D = Derivation(f"zfb-theorem-4.2 d={d}", start,
                   start_tex=r"\mathbb E(\hat y_q - y_q)^2 = \mathbb E[\hat m^\top\Gamma^{-1}\Lambda\Gamma^{-1}\hat m] - 2m^\top\Gamma^{-1}m + \mathbb E y^2,\ \mathbb E\hat m\hat m^\top = mm^\top + \Sigma_{xy}/M")
    D.step((ey2 - _s(mv.T * Li * mv)) + _tr(Sxy * Gi**2 * Lam) / M
           + (_s(a.T * Gi**2 * Lam**3 * a) + 2 * _tr(Lam) * _s(a.T * Gi**2 * Lam**2 * a)
              + _tr(Lam)**2 * _s(a.T * Gi**2 * Lam * a)) / N**2,
           r"$\min_w\mathbb E(w^\top x - y)^2 = \mathbb E y^2 - m^\top\Lambda^{-1}m$ at $w = a$; the rest is $a^\top\Lambda(I - \Gamma^{-1}\Lambda)^2 a$ with $I - \Gamma^{-1}\Lambda = \Gamma^{-1}(\Lambda + \mathrm{tr}\Lambda\,I)/N$",
           rhs_tex=r"\min_w\mathbb E(\langle w,x\rangle - y)^2 + \tfrac1M\mathrm{tr}(\Sigma_{xy}\Gamma^{-2}\Lambda) + \tfrac1{N^2}\big[\|a\|^2_{\Gamma^{-2}\Lambda^3} + 2\mathrm{tr}(\Lambda)\|a\|^2_{\Gamma^{-2}\Lambda^2} + \mathrm{tr}(\Lambda)^2\|a\|^2_{\Gamma^{-2}\Lambda}\big]",
           label="zfb-form")
    # the well-specified task w with label noise sigma: its moments, then the average over w ~ N(0, I)
    w, x = _vec("w", d), _vec("x", d)
    eps = sp.Symbol("epsilon")
    y = _s(w.T * x) + eps
    xb = [GaussianBlock(list(x), Lam), GaussianBlock([eps], sp.Matrix([[sigma**2]]))]
    mw = Lam * w
    Sw = Lam * w * w.T * Lam + _s(w.T * Lam * w) * Lam + sigma**2 * Lam
    D.step(Sw, r"for $y = w^\top x + \varepsilon$: $\mathrm{Cov}(xy)$ from the fourth moments of $x$ (MGF)",
           lhs=expect(x * x.T * y**2, xb) - expect(x * y, xb) * expect(x * y, xb).T,
           lhs_tex=r"\Sigma_{xy} = \mathbb E[xx^\top y^2] - mm^\top",
           rhs_tex=r"\Lambda ww^\top\Lambda + (w^\top\Lambda w)\Lambda + \sigma^2\Lambda", label="sigma-xy")
    per_w = start.subs({**{mv[i]: mw[i] for i in range(d)},
                        **{Sxy[i, j]: Sw[i, j] for i in range(d) for j in range(i, d)},
                        ey2: _s(w.T * Lam * w) + sigma**2})
    D.step(error_closed_form(Lam, N, M, sigma, sigma),
           r"average over $w \sim \mathcal N(0, I)$: Theorem 4.2 gives the averaged closed form with $\tau = \sigma$",
           lhs=expect(per_w, [GaussianBlock(list(w), Id)]),
           lhs_tex=r"\mathbb E_w\big[\mathbb E(\hat y_q - y_q)^2 \mid w\big]",
           rhs_tex=r"\mathrm{tr}\Lambda - 2\mathrm{tr}(\Gamma^{-1}\Lambda^2) + \mathrm{tr}(\Gamma^{-1}\Lambda\Gamma^{-1}\Gamma_M\Lambda) + \tfrac{\sigma^2}{M}\mathrm{tr}(\Gamma^{-2}\Lambda^2) + \sigma^2",
           label="average-over-w")
    return D


# ------------------------------------------------------------------------------------------ (4) N -> infinity


def derivation_limit(d: int) -> Derivation:
    """N -> oo: W_* -> (U_*, V_*) of Boursier-Boyer, error -> 0 (diagonal Lambda: every formula is rotation-equivariant)."""
    Lam = _diag("lambda", d)
    Id = sp.eye(d)
    Gi = gamma_of(Lam, N).inv()
    k = _tr(Gi**2)
    WKQ = sp.diag(k ** sp.Rational(-1, 4) * Gi, sp.zeros(1, 1))
    e = sp.zeros(d + 1, 1)
    e[d] = 1
    WPV = k ** sp.Rational(1, 4) * e * e.T
    Si = Lam.inv()
    kS = _tr(Si**2)
    Ustar = sp.diag(kS ** sp.Rational(-1, 4) * Si, sp.zeros(1, 1))
    Vstar = kS ** sp.Rational(1, 4) * e * e.T
    lim = limit_as(N)
    D = Derivation(f"zfb-limit d={d}", WKQ, start_tex=r"W^{KQ}_*(N)")
    D.step(Ustar, r"$\Gamma_N \to \Lambda = \Sigma$", check=lim,
           rhs_tex=r"U_* = \mathrm{tr}(\Sigma^{-2})^{-1/4}\,\mathrm{diag}(\Sigma^{-1}, 0)", label="U-star")
    D.step(Vstar, r"$\Gamma_N \to \Lambda = \Sigma$", check=lim, lhs=WPV, lhs_tex=r"W^{PV}_*(N)",
           rhs_tex=r"V_* = \mathrm{tr}(\Sigma^{-2})^{1/4}\, e_{d+1}e_{d+1}^\top", label="V-star")
    err_nn = error_closed_form(Lam, N, N, 0, 0)
    D.step(0, r"the noiseless error at $M = N$ vanishes, as BB's $\mathcal R_\infty(U_*, V_*) = 0$", check=lim,
           lhs=err_nn, lhs_tex=r"\mathbb E(\hat y_q - y_q)^2\big|_{M=N}", label="error-to-zero")
    D.step((d + 1) * _tr(Lam), r"at rate $(d+1)\mathrm{tr}\Lambda/N$", check=lim, lhs=N * err_nn,
           lhs_tex=r"N\,\mathbb E(\hat y_q - y_q)^2\big|_{M=N}", rhs_tex=r"(d+1)\,\mathrm{tr}\Lambda", label="rate")
    D.step((d + 1) * _tr(Lam) / M, r"at a fixed test length $M$ the limit is $(d+1)\mathrm{tr}\Lambda/M$: Corollary 4.3's first term is attained",
           check=lim, lhs=error_closed_form(Lam, N, M, 0, 0), lhs_tex=r"\mathbb E(\hat y_q - y_q)^2",
           rhs_tex=r"\tfrac{(d+1)\mathrm{tr}\Lambda}{M}", label="fixed-M")
    A, b = WKQ[:d, :d], WPV[d, d]
    R = b * Lam * A - Id
    D.step(2 * _tr(R * Lam * R.T) / 2,
           r"$M\to\infty$ at finite $N$: twice BB's $\mathcal R_\infty(A, b) = \frac12\mathrm{tr}((b\Sigma A - I)\Sigma(b\Sigma A - I)^\top)$ at $W_*(N)$",
           check=limit_as(M, tex=r"M\to\infty"), lhs=error_closed_form(Lam, N, M, 0, 0),
           lhs_tex=r"\mathbb E(\hat y_q - y_q)^2", rhs_tex=r"2\mathcal R_\infty\big(W^{KQ}_*(N), W^{PV}_*(N)\big)",
           label="M-infinity")
    return D


def derivations() -> list[Derivation]:
    return ([derivation_lsa_output(2, 3), derivation_lsa_output(3, 2)]
            + [derivation_wishart(1, 3), derivation_wishart(2, 2), derivation_wishart(3, 2)]
            + [derivation_error(2), derivation_error(3), derivation_error_direct(1, 3), derivation_error_direct(2, 2)]
            + [derivation_minimiser(2), derivation_balanced(2), derivation_theorem_4_2(2)]
            + [derivation_limit(1), derivation_limit(2)])


# ------------------------------------------------------------------------------------------ (3) evidence

LAMBDA_T3 = toeplitz_sigma(3, 0.5)
"""d = 3, \\Lambda_{ij} = 0.5^{|i-j|} (the Toeplitz covariance of the paper's experiments)."""

LAMBDA_D2 = np.diag([1.0, 0.25])


def _cfg(Lam, N_, M_, s=0.0, t=0.0):
    return {"Lambda": Lam, "N": N_, "M": M_, "s": s, "t": t}


def _label(c) -> str:
    noise = "" if not (c["s"] or c["t"]) else f", s={c['s']}, t={c['t']}"
    return f"d={c['Lambda'].shape[0]}, N={c['N']}, M={c['M']}{noise}"


def closed_form(c) -> float:
    """The statement's error formula at a configuration (engine numpy version of ``error_closed_form``)."""
    return zfb_error(c["Lambda"], c["N"], c["M"], c["s"], c["t"])


def check_monte_carlo(configs, n_prompts: int, method: str = "predictor", formula=closed_form):
    """|z| <= 5 between the Monte Carlo of the definition and ``formula``, worst over ``configs``."""

    def run(rng):
        zs, lines = [], []
        for c in configs:
            ref = formula(c)
            est = zfb_error_mc(c["Lambda"], c["N"], c["M"], n_prompts, rng, noise_std=c["s"],
                               target_noise_std=c["t"], method=method)
            z = est.z(ref)
            zs.append(z)
            lines.append(f"[{_label(c)}] MC {est} vs closed form {ref:.6g}: z = {z:+.2f}")
        return at_most(max(abs(z) for z in zs), DEFAULT_Z, "|z|", f"{method}; " + "; ".join(lines))

    return run


WRONG_FORMULAS = {
    "drop tr(Lambda) tr(Gamma^-2 Lambda^2)/M": lambda c: sum(
        v for k, v in zfb_error_parts(c["Lambda"], c["N"], c["M"], c["s"], c["t"]).items() if k != "variance_trace"),
    "Gamma = Lambda at finite N": lambda c: zfb_error(c["Lambda"], math.inf, c["M"], c["s"], c["t"]),
    "prompt noise without 1/M": lambda c: zfb_error(c["Lambda"], c["N"], c["M"], c["s"], c["t"])
    + (c["M"] - 1) * zfb_error_parts(c["Lambda"], c["N"], c["M"], c["s"], c["t"])["prompt_noise"],
}


def check_wrong_formulas_rejected(config, n_prompts: int):
    """Negative control: the same Monte Carlo rejects (|z| >= 5) each wrong formula, and accepts the right one."""

    def run(rng):
        est = zfb_error_mc(config["Lambda"], config["N"], config["M"], n_prompts, rng, noise_std=config["s"],
                           target_noise_std=config["t"])
        right = est.z(zfb_error(config["Lambda"], config["N"], config["M"], config["s"], config["t"]))
        zs = {name: est.z(f(config)) for name, f in WRONG_FORMULAS.items()}
        weakest = min(abs(z) for z in zs.values())
        detail = (f"[{_label(config)}] MC {est}; right formula z = {right:+.2f}; wrong: "
                  + "; ".join(f"{k}: z = {z:+.1f}" for k, z in zs.items()))
        if abs(right) > DEFAULT_Z:
            return at_least(0.0, DEFAULT_Z, "min |z| of wrong formulas", "the right formula is rejected too: " + detail)
        return at_least(weakest, DEFAULT_Z, "min |z| of wrong formulas", detail)

    return run


def check_forward_pass(n_prompts: int = 2000):
    """The ZFB eq. (3.3) forward pass at theta_* equals the learned predictor (float64, relative 1e-12)."""

    def run(rng):
        worst, lines = 0.0, []
        for Lam, N_, M_ in ((LAMBDA_T3, 5, 5), (LAMBDA_T3, 10, 4), (LAMBDA_D2, 3, 17)):
            d = Lam.shape[0]
            root = np.linalg.cholesky(Lam)
            X = rng.standard_normal((n_prompts, M_, d)) @ root.T
            xq = rng.standard_normal((n_prompts, d)) @ root.T
            y = rng.standard_normal((n_prompts, M_)) * 2.0  # arbitrary labels: the identity holds for any (x_i, y_i)
            WKQ, WPV = zfb_minimizer(Lam, N_)
            F = lsa_forward(embed_prompt(X, y, xq), WKQ, WPV)
            pred = zfb_predict(X, y, xq, Lam, N_)
            rel = np.max(np.abs(F[:, d, M_] - pred)) / max(1.0, np.max(np.abs(pred)))
            resid = np.max(np.abs(F[:, :d, M_] - xq))  # rows 1..d of the query column stay x_q
            worst = max(worst, rel, resid)
            lines.append(f"d={d} N={N_} M={M_}: max rel diff {rel:.1e}, query column rows 1..d off by {resid:.1e}")
        return at_most(worst, 1e-12, "max relative difference", "; ".join(lines) + f" ({n_prompts} prompts each)")

    return run


def check_large_n():
    """N -> oo numerically: W_*(N) -> bayes_point(Sigma) (icl engine), N * error(N, N) -> (d+1) tr(Lambda)."""

    def run(rng):
        Lam = LAMBDA_T3
        d = Lam.shape[0]
        U, V = bayes_point(Lam)
        lines, worst = [], 0.0
        for N_ in (10**4, 10**6):
            WKQ, WPV = zfb_minimizer(Lam, N_)
            dist = max(np.max(np.abs(WKQ - U)), np.max(np.abs(WPV - V)))
            rate = N_ * zfb_error(Lam, N_, N_) / ((d + 1) * np.trace(Lam))
            # O(1/N) corrections: N * dist and N * |rate - 1| stay bounded (<= 50 here)
            worst = max(worst, N_ * dist / 50, N_ * abs(rate - 1) / 50)
            lines.append(f"N={N_}: max|W_*(N) - (U_*,V_*)| = {dist:.2e}, N err/((d+1)trL) = {rate:.8f}")
        inf_dist = max(np.max(np.abs(zfb_minimizer(Lam, math.inf)[0] - U)),
                       np.max(np.abs(zfb_minimizer(Lam, math.inf)[1] - V)))
        worst = max(worst, inf_dist / 1e-12)
        lines.append(f"N=inf: max|W_* - (U_*,V_*)| = {inf_dist:.1e}")
        return at_most(worst, 1.0, "scaled distance", "; ".join(lines))

    return run


def check_bb_risk_link():
    """At finite N, the M -> oo error is 2 R_infty(W_*(N)) of Boursier-Boyer (icl engine's general closed form)."""

    def run(rng):
        worst, lines = 0.0, []
        for Lam in (LAMBDA_T3, LAMBDA_D2, np.array([[0.3]])):
            for N_ in (1, 4, 50):
                WKQ, WPV = zfb_minimizer(Lam, N_)
                bb = 2 * icl_risk_infinite(WKQ, WPV, Lam)
                ours = zfb_error(Lam, N_, math.inf)
                rel = abs(bb - ours) / max(abs(ours), 1e-300)
                worst = max(worst, rel)
                lines.append(f"d={Lam.shape[0]} N={N_}: 2R_inf={bb:.10g}, bias={ours:.10g}")
        return at_most(worst, 1e-12, "max relative difference", "; ".join(lines))

    return run


def check_corollary_4_3(points: int = 200):
    """ZFB Corollary 4.3 (averaged noiseless error): excess <= (d+1)tr(L)/M + (1 + 2d + d^2 kappa) tr(L)/N^2."""

    def run(rng):
        worst = 0.0
        for _ in range(points):
            d = int(rng.integers(1, 6))
            A = rng.standard_normal((d, d))
            Lam = A @ A.T + 0.05 * np.eye(d)
            N_, M_ = int(rng.integers(1, 60)), int(rng.integers(1, 60))
            ev = np.linalg.eigvalsh(Lam)
            bound = ((d + 1) * ev.sum() / M_ + (1 + 2 * d + d**2 * ev[-1] / ev[0]) * ev.sum() / N_**2)
            worst = max(worst, zfb_error(Lam, N_, M_) / bound)
        return at_most(worst, 1.0, "max error / bound", f"{points} random (Lambda, N, M), d <= 5: worst ratio {worst:.4f}")

    return run


# ------------------------------------------------------------------------------------------ the statement

STATEMENT_TEX = (
    r"\begin{gathered}\Gamma = \Big(1 + \frac1N\Big)\Lambda + \frac{\mathrm{tr}\Lambda}{N} I_d,\quad "
    r"W^{KQ}_* = \mathrm{tr}(\Gamma^{-2})^{-1/4}\begin{pmatrix}\Gamma^{-1} & 0\\ 0 & 0\end{pmatrix},\quad "
    r"W^{PV}_* = \mathrm{tr}(\Gamma^{-2})^{1/4}\begin{pmatrix}0 & 0\\ 0 & 1\end{pmatrix};\\ "
    r"[f_{\mathrm{LSA}}(E;\theta_*)]_{d+1,M+1} = x_q^\top\Gamma^{-1}\Big(\frac1M\sum_{i=1}^M y_i x_i\Big);\\ "
    r"\mathbb E(\hat y_q - y_q)^2 = \mathrm{tr}\Lambda - 2\,\mathrm{tr}(\Gamma^{-1}\Lambda^2) "
    r"+ \mathrm{tr}(\Gamma^{-1}\Lambda\Gamma^{-1}\Gamma_M\Lambda) + \frac{\sigma^2}{M}\mathrm{tr}(\Gamma^{-1}\Lambda\Gamma^{-1}\Lambda) + \tau^2,"
    r"\quad \Gamma_M = \Big(1 + \frac1M\Big)\Lambda + \frac{\mathrm{tr}\Lambda}{M} I_d;\\ "
    r"L(\theta_*) = \tfrac12\big[\mathrm{tr}\Lambda - \mathrm{tr}(\Gamma^{-1}\Lambda^2)\big]\ (M = N,\ \sigma = \tau = 0).\end{gathered}"
)

HYPOTHESES = [
    r"w \sim \mathcal N(0, I_d),\ x_i, x_q \overset{iid}\sim \mathcal N(0, \Lambda),\ \Lambda \succ 0;\ "
    r"y_i = w^\top x_i + \varepsilon_i,\ y_q = w^\top x_q + \varepsilon_q,\ \varepsilon_i \sim \mathcal N(0,\sigma^2),\ \varepsilon_q \sim \mathcal N(0,\tau^2)"
    r"\ (\text{ZFB train noiselessly: } \sigma = \tau = 0)",
    r"E = \begin{pmatrix} x_1 & \cdots & x_n & x_q\\ y_1 & \cdots & y_n & 0\end{pmatrix},\ "
    r"f_{\mathrm{LSA}}(E;\theta) = E + W^{PV}E\,\frac{E^\top W^{KQ}E}{n},\ \hat y_q = [f_{\mathrm{LSA}}]_{d+1,n+1};\ "
    r"n = N \text{ (training) or } M \text{ (test prompt)}",
    r"\theta_* = (W^{KQ}_*, W^{PV}_*) \text{ is the limit of gradient flow (ZFB Theorem 4.1, taken as given); "
    r"checked here: it minimises the loss over } C = u\,U_{11}^\top \text{ on } u_{12} = u_{21} = 0",
]

NOTES = [
    r"The query column is inside $EE^\top/N$ (ZFB's setup): it adds $z_qz_q^\top = \mathrm{diag}(x_qx_q^\top, 0)$. "
    r"At $\theta_*$ its contribution to $\hat y_q$ is exactly $\ell(1 + x_q^\top\Gamma^{-1}x_q/M)$ with $\ell$ the query's label "
    r"slot, i.e. $0$: $W^{PV}_*$ reads row $d+1$ of $EE^\top$, where the query enters as $\ell\,x_q^\top$. "
    r"For a general $\theta$ the $x_qx_q^\top$ term enters through $w^{PV}_{21}$ as $(w^{PV}_{21})^\top x_q\,x_q^\top W^{KQ}_{11}x_q/M$ "
    r"(a cubic in $x_q$); it vanishes at $\theta_*$. So BB's convention (query not in the sum) and ZFB's agree at $\theta_*$.",
    r"Normalisation: $f_{\mathrm{LSA}}$ divides by the number $n$ of prompt tokens in $E$ ($N$ in training, $M$ at test); "
    r"with $1/N$ kept at test the predictor would be scaled by $M/N$.",
    r"All formulas of paper.md \S7 that were checked hold exactly: $\Gamma$, $W_*$, the predictor, the Wishart identity, "
    r"the averaged error in both forms, $I - \Gamma^{-1}\Lambda = \Gamma^{-1}(\Lambda + \mathrm{tr}\Lambda\,I)/N$, "
    r"the noise terms $\sigma^2\mathrm{tr}(\Gamma^{-1}\Lambda\Gamma^{-1}\Lambda)/M$ and $+\tau^2$, "
    r"$L(\theta_*) = \frac12[\mathrm{tr}\Lambda - \mathrm{tr}(\Gamma^{-1}\Lambda^2)]$, ZFB's reduced ODEs, Theorem 4.2's general form "
    r"(an exact identity needing only $\mathbb E xx^\top = \Lambda$ and i.i.d. prompt pairs), and Corollary 4.3's bound (numerically).",
    r"$N\to\infty$: $\Gamma_N \to \Lambda = \Sigma$, $W_*(N) \to (U_*, V_*)$ of BB Sec. 5 and the error at $M = N$ is "
    r"$(d+1)\mathrm{tr}\Lambda/N + O(N^{-2}) \to 0$, BB's $\mathcal R_\infty(U_*,V_*) = 0$. For $M\to\infty$ at finite $N$ "
    r"the error is $2\mathcal R_\infty(W_*(N)) = \mathrm{tr}(\Lambda(I-\Gamma^{-1}\Lambda)^2)$; at fixed $M$ and $N\to\infty$ it is "
    r"$(d+1)\mathrm{tr}\Lambda/M$, so the first term of Corollary 4.3 is attained.",
    r"The ZFB noise terms are for label noise on the test prompt/target only; ZFB train noiselessly, so $\Gamma$ does not involve $\sigma$.",
]

CONFIG_EQ = _cfg(LAMBDA_T3, 5, 5)
CONFIG_NE = _cfg(LAMBDA_T3, 10, 4)
CONFIG_NOISY = _cfg(LAMBDA_T3, 6, 12, 0.5, 0.5)
CONFIG_PROMPT_NOISE = _cfg(LAMBDA_D2, 3, 7, 1.0, 0.0)

STATEMENT = Statement(
    id="zfb-linear",
    number="ZFB Thms 4.1-4.2",
    title="Trained linear self-attention: the global minimiser, its learned predictor and its prediction error",
    summary="At Γ = (1+1/N)Λ + tr(Λ)/N I, W_* gives ŷ = x_q^T Γ^{-1} (1/M Σ y_i x_i) with "
            "E(ŷ - y)^2 = trΛ - 2tr(Γ^{-1}Λ^2) + tr(Γ^{-1}ΛΓ^{-1}Γ_MΛ) (+ noise terms); N -> ∞ gives BB's (U_*, V_*)",
    source="Zhang, Frei & Bartlett (2024), JMLR 25(49), Theorems 4.1-4.2 and eq. (3.3); used by Boursier & Boyer "
           "(arXiv 2512.11784), proof of Theorem 5.1/5.2",
    statement_tex=STATEMENT_TEX,
    hypotheses_tex=HYPOTHESES,
    derivations=derivations,
    checks=[
        Check("mc-lsa-forward-M-eq-N", "montecarlo",
              check_monte_carlo([CONFIG_EQ], 200_000, method="lsa"),
              "Monte Carlo of the full LSA forward pass (eq. 3.3) at θ_*, noiseless, d=3 Toeplitz 0.5, N=M=5"),
        Check("mc-predictor-M-ne-N", "montecarlo",
              check_monte_carlo([CONFIG_NE], 200_000),
              "Monte Carlo of the learned predictor, noiseless, d=3, N=10, M=4"),
        Check("mc-noisy", "montecarlo",
              check_monte_carlo([CONFIG_NOISY, CONFIG_PROMPT_NOISE], 200_000),
              "label noise: prompt and target (d=3, N=6, M=12, s=t=0.5), prompt only (d=2, N=3, M=7, s=1)"),
        Check("forward-pass-equals-predictor", "float64", check_forward_pass(),
              "eq. (3.3) at θ_* vs x_q^T Γ^{-1}(1/M Σ y_i x_i) on random prompts, relative 1e-12"),
        Check("large-N", "float64", check_large_n(),
              "W_*(N) -> (U_*, V_*) and N·error(N, N) -> (d+1) trΛ at N = 1e4, 1e6"),
        Check("bb-risk-link", "float64", check_bb_risk_link(),
              "M -> ∞ error = 2 R_∞(W_*(N)) with the icl engine's general R_∞ closed form"),
        Check("corollary-4.3", "float64", check_corollary_4_3(),
              "Corollary 4.3's bound holds at 200 random (Λ, N, M)"),
        Check("wrong-formulas-rejected", "negative-control",
              check_wrong_formulas_rejected(_cfg(LAMBDA_T3, 5, 5, 0.5, 0.0), 200_000),
              "the Monte Carlo rejects (|z| >= 5) the error without tr(Λ)tr(Γ^{-2}Λ^2)/M, with Γ = Λ, and with noise not /M"),
        Check("mc-sweep", "montecarlo",
              check_monte_carlo([CONFIG_EQ, CONFIG_NE, CONFIG_NOISY, CONFIG_PROMPT_NOISE,
                                 _cfg(LAMBDA_T3, 1, 1), _cfg(LAMBDA_T3, 2, 30, 0.3, 0.0), _cfg(np.array([[2.0]]), 2, 2)],
                                2_000_000, method="lsa"),
              "sweep with 2e6 prompts each through the full LSA forward pass", slow=True),
    ],
    status="verified",
    notes_tex=NOTES,
    order=7.0,
)

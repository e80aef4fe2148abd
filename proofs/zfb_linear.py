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

import itertools
import math
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Callable

import mpmath
import numpy as np
import sympy as sp

from verify.kernel.catalogue import vanishing_up_to
from verify.kernel.mutate import to_formula
from verify.icl import zfb_references as zr
from verify.icl.risk import bayes_point, icl_risk_infinite, toeplitz_sigma
from verify.icl.zfb import (
    error_form, error_general_sym, error_sym, error_symbols, form_at, gamma_form, gamma_sym, lsa_error_conditional_mc,
    lsa_trained_minimizer, minimizer_from_gamma, trained_first_order, zfb_error, zfb_error_parts, zfb_gamma,
)
from verify.kernel.claim import ClaimPoint, ClaimSpec
from verify.kernel.derivation import Assumption, Derivation, by, equal_given, maps
from verify.kernel.evidence import agreement, bound, rejection, scaled, z_test
from verify.kernel.verdict import Finding
from verify.kernel.statement import Mutant, Statement
from verify.symbolic import symbolic_matrix, symbolic_vector
from verify.symbolic.gaussian_mgf import GaussianBlock, PromptAverage, mgf_expectation, symmetric_symbols, wishart_product

N, M = sp.symbols("N M", positive=True)
sigma, tau = sp.symbols("sigma tau", positive=True)  # prompt-label and target noise standard deviations


def _s(e):
    return e[0, 0] if isinstance(e, sp.MatrixBase) else e


def _tr(A):
    return A.trace()


# ------------------------------------------------------------------------------------------ (1) LSA output at theta_*


def derivation_lsa_output(d: int = 2, m: int = 3) -> Derivation:
    """[f_LSA(E; theta_*)]_{d+1, M+1} = x_q^T P (1/M sum y_i x_i), P = Gamma^{-1}, with the query column in E."""
    P = symbolic_matrix("p", d, d, symmetric=True)
    c = sp.Symbol("c", positive=True)  # tr(Gamma^{-2})^{1/4}
    ell = sp.Symbol("ell")  # the query's label slot (0 in ZFB)
    xs = [symbolic_vector(f"x{i + 1}", d) for i in range(m)]
    ys = [sp.Symbol(f"y_{i + 1}") for i in range(m)]
    xq = symbolic_vector("q", d)
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
    D = Derivation(f"zfb-lsa-output d={d} M={m}", F[d, m], start_tex=r"[f_{\mathrm{LSA}}(E;\theta_*)]_{d+1,M+1}",
                   conclusion=_s(xq.T * P * mhat), conclusion_tex=r"x_q^\top\Gamma^{-1}\hat m")
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
    return D


def derivation_query_term(d: int = 2, m: int = 3) -> Derivation:
    """At a general theta (label slot 0) the query column acts only through w^{PV}_{21}, which is 0 at theta_*."""
    WPV, WKQ = symbolic_matrix("v", d + 1, d + 1), symbolic_matrix("k", d + 1, d + 1)
    xq = symbolic_vector("q", d)
    zq = xq.col_join(sp.zeros(1, 1))
    e = sp.zeros(d + 1, 1)
    e[d] = 1
    target = _s(WPV[d, :d] * xq) * _s(xq.T * WKQ[:d, :d] * xq) / m
    D = Derivation(f"zfb-query-term d={d}", _s(e.T * WPV * (zq * zq.T) * WKQ * zq) / m,
                   start_tex=r"\tfrac1M e_{d+1}^\top W^{PV} z_q z_q^\top W^{KQ} z_q", conclusion=target)
    D.step(target, r"$z_q = (x_q, 0)$: $z_qz_q^\top = \mathrm{diag}(x_qx_q^\top, 0)$ meets only $w^{PV}_{21}$ and $W^{KQ}_{11}$",
           rhs_tex=r"\tfrac1M (w^{PV}_{21})^\top x_q\; x_q^\top W^{KQ}_{11} x_q", label="query-term-general-theta")
    return D


# ------------------------------------------------------------------------------------------ (2a) Wishart identity


def derivation_wishart(d: int) -> Derivation:
    r"""E[\hat S B\hat S] = \Lambda B\Lambda + (\Lambda B^T\Lambda + tr(B\Lambda)\Lambda)/M, explicit d x d entries, symbolic M."""
    Lam, B, S = symbolic_matrix("l", d, d, symmetric=True), symbolic_matrix("b", d, d), symmetric_symbols("s", d)
    avg = PromptAverage(S, Lam, M)
    D = Derivation(f"zfb-wishart d={d}", S * B * S, start_tex=r"\hat S B\hat S", conclusion=wishart_product(Lam, B, M))
    D.step(wishart_product(Lam, B, M),
           r"mean over the prompt: $\mathbb E\hat S = \Lambda$, pairs $i \ne j$ independent, $i = j$ fourth moments from the MGF $e^{t^\top\Lambda t/2}$",
           check=maps("E over the prompt (MGF route)", avg, r"\xrightarrow{\ \mathbb E_{x_{1:M}}\ }"),
           rhs_tex=r"\Lambda B\Lambda + \tfrac1M\big(\Lambda B^\top\Lambda + \mathrm{tr}(B\Lambda)\Lambda\big)", label="wishart")
    return D


# ------------------------------------------------------------------------------------------ (2b) prediction error


def _eta_assumption(blocks) -> Assumption:
    return Assumption("eta-law", r"\eta = \tfrac1M\sum_i\varepsilon_ix_i \mid x_{1:M} \sim \mathcal N(0, \sigma^2\hat S/M)",
                      rule=lambda e: mgf_expectation(e, blocks), check=_ETA_CHECK)


def eta_covariance_check(sigma_, m: int = 3, d: int = 2):
    r"""Check that E_\varepsilon[\eta\eta^T | x] = \sigma^2 \hat S/M for \eta = (1/M)\sum_i \varepsilon_i x_i.

    The reference is the expectation from the MGF of \varepsilon (SymPy, :func:`mgf_expectation`), at M = 3, d = 2;
    the mutant drops the 1/M."""
    xs = [sp.Matrix(d, 1, lambda i, _, k=k: sp.Symbol(f"x{k + 1}_{i + 1}")) for k in range(m)]
    eps = sp.symbols(f"epsilon_1:{m + 1}")
    eta = sum((eps[i] * xs[i] for i in range(m)), sp.zeros(d, 1)) / m
    exact = sp.lambdify([sigma_] + [v for x in xs for v in x],
                        mgf_expectation(eta * eta.T, [GaussianBlock(list(eps), sigma_**2 * sp.eye(m))]))

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


_ETA_CHECK = eta_covariance_check(sigma)


def derivation_error(d: int = 2) -> Derivation:
    r"""E(\hat y_q - y_q)^2 from the predictor's definition to the closed form (d x d explicit entries, symbolic M, N)."""
    Lam, P, S = symbolic_matrix("l", d, d, symmetric=True), symbolic_matrix("p", d, d, symmetric=True), symmetric_symbols("s", d)
    w, q, eta = symbolic_vector("w", d), symbolic_vector("q", d), symbolic_vector("eta", d)
    eq = sp.Symbol("epsilon_q")
    blocks = [GaussianBlock(list(w), sp.eye(d)), GaussianBlock(list(q), Lam),
              GaussianBlock(list(eta), sigma**2 * S / M), GaussianBlock([eq], sp.Matrix([[tau**2]]))]
    err = _s(q.T * P * (S * w + eta)) - _s(w.T * q) - eq
    Gi = gamma_sym(Lam, N).inv()
    D = Derivation(f"zfb-error d={d}", err**2, start_tex=r"(\hat y_q - y_q)^2 = \big(x_q^\top P(\hat S w + \eta) - w^\top x_q - \varepsilon_q\big)^2",
                   conclusion=error_sym(Lam, N, M, sigma, tau))
    A = P * S - sp.eye(d)
    D.step(_tr(A.T * Lam * A) + sigma**2 * _tr(P * Lam * P * S) / M + tau**2,
           r"mean over $w$, $x_q$, $\varepsilon_q$ and $\eta$ given the prompt (independent, centred; moments from their MGFs)",
           check=by(_eta_assumption(blocks)),
           rhs_tex=r"\mathrm{tr}\big((P\hat S - I)^\top\Lambda(P\hat S - I)\big) + \tfrac{\sigma^2}{M}\mathrm{tr}(P\Lambda P\hat S) + \tau^2",
           label="condition-on-prompt")
    D.step(_tr(S * P * Lam * P * S) - 2 * _tr(Lam * P * S) + _tr(Lam) + sigma**2 * _tr(P * Lam * P * S) / M + tau**2,
           r"expand the square; $P$, $\Lambda$, $\hat S$ symmetric", label="expand",
           rhs_tex=r"\mathrm{tr}(\hat S P\Lambda P\hat S) - 2\,\mathrm{tr}(\Lambda P\hat S) + \mathrm{tr}\Lambda + \tfrac{\sigma^2}{M}\mathrm{tr}(P\Lambda P\hat S) + \tau^2")
    D.step(error_general_sym(Lam, P, M, sigma, tau),
           r"mean over the prompt: $\mathbb E\hat S = \Lambda$ and the Wishart identity with $B = P\Lambda P$",
           check=maps("E over the prompt (MGF route)", PromptAverage(S, Lam, M), r"\xrightarrow{\ \mathbb E_{x_{1:M}}\ }"),
           rhs_tex=r"\mathrm{tr}\Lambda - 2\,\mathrm{tr}(P\Lambda^2) + \mathrm{tr}(P\Lambda P\Lambda\Gamma_M) + \tfrac{\sigma^2}{M}\mathrm{tr}(P\Lambda P\Lambda) + \tau^2",
           label="prompt-average")
    D.step(error_sym(Lam, N, M, sigma, tau), r"at the minimizer $P = \Gamma^{-1}$ (Theorem 4.1)",
           check=equal_given({P[a, b]: Gi[a, b] for a in range(d) for b in range(a, d)}, r"$P = \Gamma^{-1}$"),
           rhs_tex=r"\mathrm{tr}\Lambda - 2\,\mathrm{tr}(\Gamma^{-1}\Lambda^2) + \mathrm{tr}(\Gamma^{-1}\Lambda\Gamma^{-1}\Gamma_M\Lambda) + \tfrac{\sigma^2}{M}\mathrm{tr}(\Gamma^{-1}\Lambda\Gamma^{-1}\Lambda) + \tau^2",
           label="at-gamma")
    return D


def derivation_error_direct(d: int, m: int) -> Derivation:
    """Independent cross-check at small M: the full expectation from the joint law (no Wishart identity)."""
    Lam, P = symbolic_matrix("l", d, d, symmetric=True), symbolic_matrix("p", d, d, symmetric=True)
    w, q = symbolic_vector("w", d), symbolic_vector("q", d)
    xs = [symbolic_vector(f"x{i + 1}", d) for i in range(m)]
    eps = sp.symbols(f"epsilon_1:{m + 1}")
    eq = sp.Symbol("epsilon_q")
    blocks = ([GaussianBlock(list(w), sp.eye(d)), GaussianBlock(list(q), Lam)] + [GaussianBlock(list(xi), Lam) for xi in xs]
              + [GaussianBlock(list(eps), sigma**2 * sp.eye(m)), GaussianBlock([eq], sp.Matrix([[tau**2]]))])
    mhat = sum(((_s(w.T * xs[i]) + eps[i]) * xs[i] for i in range(m)), sp.zeros(d, 1)) / m
    err = _s(q.T * P * mhat) - _s(w.T * q) - eq
    D = Derivation(f"zfb-error-direct d={d} M={m}", err**2, start_tex=rf"(\hat y_q - y_q)^2\big|_{{M={m}}}",
                   conclusion=error_general_sym(Lam, P, m, sigma, tau))
    D.step(error_general_sym(Lam, P, m, sigma, tau),
           rf"mean over $w, x_q, x_1, \dots, x_{{{m}}}, \varepsilon$ from the joint Gaussian law (MGF moments); $P$ symmetric",
           check=maps("E over the joint law (MGF route)", lambda e: mgf_expectation(e, blocks), r"\xrightarrow{\ \mathbb E\ }"),
           rhs_tex=rf"\mathrm{{tr}}\Lambda - 2\,\mathrm{{tr}}(P\Lambda^2) + \mathrm{{tr}}(P\Lambda P\Lambda\Gamma_{m}) + \tfrac{{\sigma^2}}{{{m}}}\mathrm{{tr}}(P\Lambda P\Lambda) + \tau^2",
           label="direct")
    return D


def derivation_error_forms(d: int = 2) -> Derivation:
    """The paper's second form: bias O(N^-2) plus variance O(1/M)."""
    Lam = symbolic_matrix("l", d, d, symmetric=True)
    Id = sp.eye(d)
    Gi = gamma_sym(Lam, N).inv()
    T = Lam + _tr(Lam) * Id
    noise = sigma**2 * _tr(Gi * Lam * Gi * Lam) / M + tau**2
    var = (_tr(Gi**2 * Lam**3) + _tr(Lam) * _tr(Gi**2 * Lam**2)) / M
    final = _tr(Gi**2 * Lam * T * T) / N**2 + var + noise
    D = Derivation(f"zfb-error-forms d={d}", error_sym(Lam, N, M, sigma, tau), start_tex=r"\mathbb E(\hat y_q - y_q)^2",
                   conclusion=final)
    R = Id - Gi * Lam
    D.step(_tr(Lam * R * R) + var + noise, r"expand $\Gamma_M = (1 + \frac1M)\Lambda + \frac{\mathrm{tr}\Lambda}{M}I$: bias plus variance",
           rhs_tex=r"\mathrm{tr}\big(\Lambda(I - \Gamma^{-1}\Lambda)^2\big) + \tfrac1M\big[\mathrm{tr}(\Gamma^{-2}\Lambda^3) + \mathrm{tr}\Lambda\,\mathrm{tr}(\Gamma^{-2}\Lambda^2)\big] + \ldots",
           label="bias-variance")
    D.step(final, r"$I - \Gamma^{-1}\Lambda = \Gamma^{-1}(\Lambda + \mathrm{tr}\Lambda\,I)/N$: the bias is $O(N^{-2})$",
           rhs_tex=r"\tfrac1{N^2}\mathrm{tr}\big(\Gamma^{-2}\Lambda(\Lambda + \mathrm{tr}\Lambda\, I)^2\big) + \tfrac1M\big[\ldots\big] + \ldots",
           label="bias-order")
    return D


def derivation_min_loss(d: int = 2) -> Derivation:
    Lam = symbolic_matrix("l", d, d, symmetric=True)
    Gi = gamma_sym(Lam, N).inv()
    D = Derivation(f"zfb-min-loss d={d}", error_sym(Lam, N, N, 0, 0), start_tex=r"\mathbb E(\hat y_q - y_q)^2\big|_{M=N,\ \sigma=\tau=0}",
                   conclusion=_tr(Lam) - _tr(Gi * Lam**2))
    D.step(_tr(Lam) - _tr(Gi * Lam**2), r"at $M = N$ without noise $\Gamma_M = \Gamma$; $L(\theta_*)$ is half of this",
           rhs_tex=r"\mathrm{tr}\Lambda - \mathrm{tr}(\Gamma^{-1}\Lambda^2) = 2L(\theta_*)", label="min-loss")
    return D


def derivations() -> list[Derivation]:
    return ([derivation_lsa_output(2, 3), derivation_lsa_output(3, 2), derivation_query_term(2)]
            + [derivation_wishart(1), derivation_wishart(2), derivation_wishart(3)]
            + [derivation_error(2), derivation_error_direct(1, 3), derivation_error_direct(2, 2),
               derivation_error_forms(2), derivation_min_loss(2)])


# ------------------------------------------------------------------------------------------ (3) evidence

LAMBDA_T3 = toeplitz_sigma(3, 0.5)
"""d = 3, \\Lambda_{ij} = 0.5^{|i-j|} (the Toeplitz covariance of the paper's experiments)."""
LAMBDA_D2 = np.diag([1.0, 0.25])


def error_from_gamma(Lambda, G_N, G_M, M, noise_std=0.0, target_noise_std=0.0) -> float:
    r"""The statement's error form in terms of the claimed matrices:
    tr\Lambda - 2tr(\Gamma^{-1}\Lambda^2) + tr(\Gamma^{-1}\Lambda\Gamma^{-1}\Gamma_M\Lambda) + s^2 tr(\Gamma^{-1}\Lambda\Gamma^{-1}\Lambda)/M + t^2."""
    L = np.asarray(Lambda, dtype=float)
    Gi = np.linalg.inv(np.asarray(G_N, dtype=float))
    Gi = (Gi + Gi.T) / 2
    inv_m = 0.0 if math.isinf(M) else 1.0 / M
    GiL = Gi @ L
    return float(np.trace(L) - 2 * np.trace(GiL @ L) + np.trace(GiL @ Gi @ np.asarray(G_M, dtype=float) @ L)
                 + noise_std**2 * np.trace(GiL @ GiL) * inv_m + target_noise_std**2)


N_, M_, S_, T_ = error_symbols()
ERROR_FORM = error_form()
"""The statement's closed form of E(y_hat - y_q)^2 (general d, SymPy): the conclusion of the derivations above,
which evaluate it at explicit entries (verify.icl.zfb.error_sym)."""


def _exact(x) -> sp.Rational:
    """A float, Fraction or SymPy number as an exact rational (a float is its exact dyadic value)."""
    if isinstance(x, Fraction):
        return sp.Rational(x.numerator, x.denominator)
    return sp.Rational(x) if isinstance(x, (sp.Basic, int)) else sp.Rational(float(x))


def error_value(expr, Lambda, N, M, s=0, t=0) -> sp.Basic:
    r"""A general-d SymPy form in \Lambda, N, M, s, t (:data:`ERROR_FORM` or a planted slip of it) at a point, exactly
    (\Lambda rows of floats or fractions, every float taken at its exact value; M = inf allowed)."""
    rows = np.asarray(Lambda, dtype=object).tolist() if not isinstance(Lambda, list) else Lambda
    Lam = sp.ImmutableMatrix([[_exact(x) for x in row] for row in rows])
    m = sp.oo if isinstance(M, float) and math.isinf(M) else _exact(M)
    return form_at(expr, Lam, {N_: _exact(N), M_: m, S_: _exact(s), T_: _exact(t)})


def _rate_constant(Lambda) -> float:
    L = np.asarray(Lambda, dtype=float)
    return (L.shape[0] + 1) * float(np.trace(L))


@dataclass(frozen=True)
class ZFBClaim:
    r"""What the statement claims, as one subject for the numeric checks: \Gamma_n (``gamma``), W_*(\Gamma)
    (``weights``), the error in terms of (\Lambda, \Gamma_N, \Gamma_M, M, s, t) (``error``) and lim N error(N, N)
    (``rate_constant``).  A mutant replaces one part (e.g. \Gamma = (1 + 2/N)\Lambda + tr\Lambda/N I)."""

    gamma: Callable = zfb_gamma
    weights: Callable = minimizer_from_gamma
    error: Callable = error_from_gamma
    rate_constant: Callable = _rate_constant
    predictor_scale: float = 1.0
    form: object = None
    """A SymPy error form (general d, :func:`verify.icl.zfb.error_form`'s symbols) that replaces ``error`` when given:
    how a closed form, or a generated mutant of it, becomes this subject."""

    def minimizer(self, Lambda, N):
        return self.weights(self.gamma(Lambda, N))

    def error_at(self, Lambda, N, M, s=0.0, t=0.0) -> float:
        if self.form is not None:
            return float(error_value(self.form, Lambda, N, M, s, t))
        return float(self.error(Lambda, self.gamma(Lambda, N), self.gamma(Lambda, M), M, s, t))

    def predict(self, X, y, x_q, Lambda, N):
        r"""x_q^T \Gamma_N^{-1}(1/M \sum_i y_i x_i) with the claimed \Gamma."""
        Gi = np.linalg.inv(self.gamma(Lambda, N))
        Gi = (Gi + Gi.T) / 2
        M = np.shape(X)[-2]
        mhat = np.einsum("...md,...m->...d", np.asarray(X, float), np.asarray(y, float)) / M
        return self.predictor_scale * np.einsum("...d,de,...e->...", np.asarray(x_q, float), Gi, mhat)

    def replace(self, **kw) -> "ZFBClaim":
        return replace(self, **kw)


CLAIM = ZFBClaim()
"""The statement as a numeric subject: \\Gamma_n = zfb_gamma, W_*(\\Gamma), the error form, (d+1) tr\\Lambda."""


def gamma_two_over_n(Lam, n):
    r"""A planted \Gamma = (1 + 2/N)\Lambda + tr(\Lambda)/N I (\Lambda at N = \infty)."""
    return Lam if math.isinf(n) else (1 + 2 / n) * Lam + np.trace(Lam) / n * np.eye(Lam.shape[0])


def error_drop_trace(Lam, GN, GM, m, s, t):
    r"""The error with \Gamma_M missing its tr(\Lambda)/M I, i.e. without tr(\Lambda) tr(\Gamma^{-2}\Lambda^2)/M."""
    return error_from_gamma(Lam, GN, GM - (0 if math.isinf(m) else np.trace(Lam) / m) * np.eye(Lam.shape[0]), m, s, t)


def error_noise_not_m(Lam, GN, GM, m, s, t):
    """The error with the prompt-noise term missing its 1/M."""
    return error_from_gamma(Lam, GN, GM, m, s * math.sqrt(m), t)


WRONG = {
    "Gamma = (1 + 2/N)Lambda + tr(Lambda)/N I": CLAIM.replace(gamma=gamma_two_over_n),
    "Gamma = Lambda at finite N": CLAIM.replace(gamma=lambda L, n: np.asarray(L, float)),
    "drop tr(Lambda) tr(Gamma^-2 Lambda^2)/M": CLAIM.replace(error=error_drop_trace),
    "prompt noise without 1/M": CLAIM.replace(error=error_noise_not_m),
    "error 1% too large": CLAIM.replace(error=scaled(error_from_gamma, 1.01)),
    "error 2% too large": CLAIM.replace(error=scaled(error_from_gamma, 1.02)),
    "rate d tr(Lambda)": CLAIM.replace(rate_constant=lambda L: L.shape[0] * np.trace(L)),
    "W_KQ with Gamma not inverted": CLAIM.replace(weights=lambda G: minimizer_from_gamma(np.linalg.inv(G))),
    "predictor normalised by N": CLAIM.replace(predictor_scale=0.5),
}


def prompt_points(rng, n_prompts: int = 200):
    """Prompts with arbitrary labels at (d, N, M) = (3, 5, 5), (3, 10, 4), (2, 3, 17)."""
    return [_prompts_at(Lam, N_, M_, n_prompts, rng)
            for Lam, N_, M_ in ((LAMBDA_T3, 5, 5), (LAMBDA_T3, 10, 4), (LAMBDA_D2, 3, 17))]


def _prompts_at(Lam, N_, M_, n_prompts, rng) -> dict:
    root = np.linalg.cholesky(Lam)
    d = Lam.shape[0]
    return {"Lambda": Lam, "N": N_, "X": rng.standard_normal((n_prompts, M_, d)) @ root.T,
            "xq": rng.standard_normal((n_prompts, d)) @ root.T, "y": 2.0 * rng.standard_normal((n_prompts, M_)),
            "label": f"d={d}, N={N_}, M={M_}, {n_prompts} prompts, arbitrary labels"}


def large_n_slope(p, c: ZFBClaim) -> float:
    """Fitted slope in log N (N = 1e2..1e5) of |N(W_*(N) - (U_*, V_*)) - D_1| and |N err(N, N) - rate constant|.

    D_1 is the derivative in 1/N of the Gamma-free trained minimizer: a right claim gives slope ~ -1, a wrong
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
    return [_random_configuration(k, rng) for k in range(n_random)] + [
        {"Lambda": LAMBDA_T3, "N": 10**4, "M": m_, "label": f"d=3, N=1e4, M={m_}"} for m_ in (1, 2)]


def _random_configuration(k: int, rng) -> dict:
    d = int(rng.integers(1, 6))
    A = rng.standard_normal((d, d))
    return {"Lambda": A @ A.T + 0.05 * np.eye(d), "N": int(rng.integers(1, 60)), "M": int(rng.integers(1, 60)),
            "label": f"random {k}, d={d}"}


def corollary_ratio(p, c: ZFBClaim) -> float:
    r"""ZFB Cor. 4.3: excess <= (d+1)tr\Lambda/M + (1 + 2d + d^2\kappa) tr\Lambda/N^2; returns claimed error / bound."""
    Lam = p["Lambda"]
    ev = np.linalg.eigvalsh(Lam)
    d = Lam.shape[0]
    b = (d + 1) * ev.sum() / p["M"] + (1 + 2 * d + d**2 * ev[-1] / ev[0]) * ev.sum() / p["N"] ** 2
    return float(c.error_at(Lam, p["N"], p["M"]) / b)


def rejected_z(p, estimate, claims) -> float:
    """|z| of the trained LSA's Monte Carlo ``estimate`` against claims[p["which"]]."""
    c = claims[p["which"]]
    return abs(estimate.z(c.error_at(p["Lambda"], p["N"], p["M"], p["s"], p["t"])))


def _mutants(*names):
    return [Mutant(n, WRONG[n]) for n in names]


def _cfg(Lam, N_, M_, s=0.0, t=0.0):
    noise = "" if not (s or t) else f", s={s}, t={t}"
    return {"Lambda": Lam, "N": N_, "M": M_, "s": s, "t": t, "label": f"d={Lam.shape[0]}, N={N_}, M={M_}{noise}"}


def _value(p, c: ZFBClaim):
    return c.error_at(p["Lambda"], p["N"], p["M"], p["s"], p["t"])


def _mc(n_prompts):
    """The LSA forward pass at W_*(claimed Gamma), inner mean over (w, eps, x_q) by exact cubature (verify.icl.zfb)."""
    return lambda p, rng, c: lsa_error_conditional_mc(p["Lambda"], *c.minimizer(p["Lambda"], p["N"]), p["M"], n_prompts, rng,
                                                       noise_std=p["s"], target_noise_std=p["t"])


def _mc_check(name, configs, n_prompts, mutants, description, slow=False):
    """A z-test whose simulation depends on the subject: the forward pass runs at W_*(claimed Gamma) and is compared
    with the claimed error, so a wrong Gamma changes both sides and is caught where they no longer match."""
    return z_test(name, subject=CLAIM, estimate=_mc(n_prompts), points=configs, value=_value, driven=True,
                  mutants=_mutants(*mutants), resolve=0.01, description=description, slow=slow,
                  adapter=lambda expr: CLAIM.replace(form=expr))


CONFIG_EQ = _cfg(LAMBDA_T3, 5, 5)
CONFIG_NE = _cfg(LAMBDA_T3, 10, 4)
CONFIG_NOISY = _cfg(LAMBDA_T3, 6, 12, 0.5, 0.5)
CONFIG_PROMPT_NOISE = _cfg(LAMBDA_D2, 3, 7, 1.0, 0.0)
GAMMA_MUTANTS = ("Gamma = (1 + 2/N)Lambda + tr(Lambda)/N I", "Gamma = Lambda at finite N")


def _predictor(c):
    return lambda p: c.predict(p["X"], p["y"], p["xq"], p["Lambda"], p["N"])


def _bb_points():
    return [{"Lambda": Lam, "N": N_, "label": f"d={Lam.shape[0]}, N={N_}"}
            for Lam in (LAMBDA_T3, LAMBDA_D2, np.array([[0.3]])) for N_ in (1, 4, 50)]


# ------------------------------------------------------------------------------------------ the closed form, exactly

_L = next(iter(ERROR_FORM.atoms(sp.MatrixSymbol)))  # Lambda
_GI = gamma_form(N_).I
PROMPT_NOISE_TERM = S_**2 * sp.Trace(_GI * _L * _GI * _L) / M_
_T = [None] + [sp.Trace(_L**k) if k > 1 else sp.Trace(_L) for k in range(1, 5)]
E4_LAMBDA = (_T[1]**4 - 6 * _T[1]**2 * _T[2] + 3 * _T[2]**2 + 8 * _T[1] * _T[3] - 6 * _T[4]) / 24
"""e_4(Lambda) by Newton's identities: zero for d <= 3."""
ERROR_SLIPS = {
    "prompt-noise term 1% too large": ERROR_FORM + PROMPT_NOISE_TERM / 100,
    "+ e_4(Lambda)/N (zero for d <= 3)": ERROR_FORM + E4_LAMBDA / N_,
    "prompt-noise term without 1/M": ERROR_FORM + PROMPT_NOISE_TERM * (M_ - 1),
    "target noise t^2/M": ERROR_FORM - T_**2 + T_**2 / M_,
}
"""Planted wrong closed forms (SymPy, written once: mutants of the exact checks and entries of the claim catalogue)."""

ERROR_DIMS = (1, 2, 3, 4, 5)


def error_points(rng) -> list[dict]:
    r"""Exact points of the error's checks: generic \Lambda = R R^T + I/4 (:func:`verify.icl.zfb_references.rational_lambda`)
    at d = 1..5 (the form's matrix degree: an error vanishing for small d, e.g. a multiple of e_4(\Lambda), is
    seen), N, M in 1..40; per d one point with prompt and target noise (s^2 on both sides of 1/2) and M != N, and one
    noiseless with M = N (d even) or with prompt noise only (d odd)."""
    out = []
    for k in ERROR_DIMS:
        Lam = zr.rational_lambda(k, rng)
        m4 = zr.fourth_moments(Lam)  # memoised moments, shared by the two points of this Lambda
        n = int(rng.integers(1, 41))
        m = int(rng.choice([j for j in range(1, 41) if j != n]))
        s_ = zr.small_rational(0.5 + 0.5 * rng.random()) if k % 2 else zr.small_rational(0.2 + 0.4 * rng.random())
        t_ = zr.small_rational(0.3 + rng.random())
        out.append({"Lambda": Lam, "N": n, "M": m, "s": s_, "t": t_, "dim": k, "m4": m4,
                    "label": f"d={k}, N={n}, M={m}, s={s_}, t={t_}"})
        quiet = k % 2 == 0
        s2 = Fraction(0) if quiet else zr.small_rational(0.8 + rng.random())
        m2 = n if quiet else m
        out.append({"Lambda": Lam, "N": n, "M": m2, "s": s2, "t": Fraction(0), "dim": k, "m4": m4,
                    "label": f"d={k}, N={n}, M={m2}, s={s2}, t=0"})
    return out


def exact_error_of(expr):
    """The subject: ``expr`` (a SymPy error form) exactly at a point, as an mpf at the working precision."""
    def value(p):
        v = sp.Rational(error_value(expr, p["Lambda"], p["N"], p["M"], p["s"], p["t"]))
        return zr.to_mpmath(Fraction(int(v.p), int(v.q)))
    return value


def _error_reference(p):
    return zr.to_mpmath(zr.error_reference(p["Lambda"], p["N"], p["M"], p["s"], p["t"], p["m4"]))


def _float_lambda(p) -> np.ndarray:
    return np.array([[float(x) for x in row] for row in p["Lambda"]])


def numeric_error_forms(p, zfb=zfb_error, claim=None) -> list[float]:
    """The two numpy forms of the error at a point: the engine's :func:`verify.icl.zfb.zfb_error` (public API and
    studies) and the numeric checks' :meth:`ZFBClaim.error_at`."""
    L, args = _float_lambda(p), (p["N"], p["M"], float(p["s"]), float(p["t"]))
    return [zfb(L, *args), (claim or CLAIM).error_at(L, *args)]


def _closed_twice(p) -> list[float]:
    v = float(error_value(ERROR_FORM, p["Lambda"], p["N"], p["M"], p["s"], p["t"]))
    return [v, v]


def _zfb_error_with(part: str, factor: float = 1.0, add=None):
    """A planted numpy error: :func:`verify.icl.zfb.zfb_error_parts` with one part scaled, or a term added."""
    def err(L, N, M, s=0.0, t=0.0):
        parts = zfb_error_parts(L, N, M, s, t)
        parts[part] *= factor
        return float(sum(parts.values())) + (add(L, N) if add else 0.0)
    return err


def _e4_float(L, N) -> float:
    ev = np.linalg.eigvalsh(np.asarray(L, float))
    return float(sum(np.prod(c) for c in itertools.combinations(ev, 4))) / N


REJECTED = ("drop tr(Lambda) tr(Gamma^-2 Lambda^2)/M", "Gamma = Lambda at finite N", "prompt noise without 1/M",
            "Gamma = (1 + 2/N)Lambda + tr(Lambda)/N I")

CHECKS = [
    agreement("error-vs-definition", exact_error_of(ERROR_FORM), _error_reference, error_points, digits=30, dps=40,
              kind="quadrature", adapter=exact_error_of, reference_name="the exact error of the Γ-free minimizer",
              description="the closed form, evaluated exactly, vs E(ŷ_q - y_q)^2 of the predictor at the minimizer of the "
                          "population loss found without Γ, from the definition (Gaussian moments read off the MGF, the "
                          "prompt average by pair counting; exact fractions: verify.icl.zfb_references.error_reference); "
                          "d = 1..5, N, M in 1..40, noise on and off: sees 1% of the prompt-noise term and terms that vanish "
                          "only for d <= 3",
              mutants=[Mutant(k, v) for k, v in ERROR_SLIPS.items()]),
    agreement("numeric-error-forms-vs-closed-form", numeric_error_forms, _closed_twice, error_points, digits=12,
              kind="float64", reference_name="the SymPy closed form evaluated exactly",
              description="the numpy error forms (verify.icl.zfb.zfb_error, the public API's; and the numeric checks' "
                          "ZFBClaim.error_at) vs the statement's SymPy closed form in exact arithmetic, d = 1..5",
              mutants=[Mutant("zfb_error: prompt noise 1% too large",
                              lambda p: numeric_error_forms(p, zfb=_zfb_error_with("prompt_noise", 1.01))),
                       Mutant("zfb_error: + e_4(Lambda)/N", lambda p: numeric_error_forms(p, zfb=_zfb_error_with("bias", add=_e4_float))),
                       Mutant("ZFBClaim.error: prompt noise without 1/M",
                              lambda p: numeric_error_forms(p, claim=WRONG["prompt noise without 1/M"]))]),
    _mc_check("mc-lsa-forward-M-eq-N", [CONFIG_EQ], 300_000, GAMMA_MUTANTS + ("error 1% too large",),
              "LSA forward pass (eq. 3.3) at W_*(claimed Γ) vs the claimed error, noiseless, d=3 Toeplitz 0.5, N=M=5; "
              "mean over (w, x_q) by exact cubature, over x_{1:M} by Monte Carlo; must resolve 1%"),
    _mc_check("mc-predictor-M-ne-N", [CONFIG_NE], 500_000,
              GAMMA_MUTANTS + ("drop tr(Lambda) tr(Gamma^-2 Lambda^2)/M", "error 1% too large"),
              "learned predictor x_q^T Γ^{-1} m̂ (run as the forward pass at W_*(claimed Γ)) vs the claimed error, d=3, N=10, M=4"),
    _mc_check("mc-noisy", [CONFIG_NOISY, CONFIG_PROMPT_NOISE], 50_000,
              GAMMA_MUTANTS + ("prompt noise without 1/M", "error 2% too large"),
              "label noise: prompt and target (d=3, N=6, M=12, s=t=0.5), prompt only (d=2, N=3, M=7, s=1)"),
    agreement("forward-pass-equals-predictor", subject=_predictor(CLAIM), reference=zr.trained_forward, points=prompt_points,
              digits=12, kind="float64", reference_name="the forward pass at the Γ-free trained minimizer",
              mutants=[Mutant(n, _predictor(WRONG[n])) for n in GAMMA_MUTANTS + ("predictor normalised by N",)],
              description="x_q^T Γ^{-1}(1/M Σ y_i x_i) with the claimed Γ vs eq. (3.3) at the minimizer of the population "
                          "loss found without Γ (verify.icl.zfb.lsa_trained_minimizer), arbitrary labels"),
    bound("large-N", CLAIM, large_n_slope, [{"Lambda": LAMBDA_T3, "label": "d=3 Toeplitz"}, {"Lambda": LAMBDA_D2, "label": "d=2"}],
          threshold=-0.9, relation="<=", unit="slope", kind="float64", what="fitted log-log slope of the O(1/N) remainders",
          adapter=lambda expr: CLAIM.replace(form=expr),
          mutants=_mutants("Gamma = (1 + 2/N)Lambda + tr(Lambda)/N I", "rate d tr(Lambda)", "W_KQ with Gamma not inverted"),
          description="W_*(N) = (U_*, V_*) + D_1/N + O(N^-2) with D_1 the derivative in 1/N of the Γ-free trained minimizer "
                      "(complex step), and N·err(N, N) = (d+1)trΛ + O(1/N): both remainders, fitted over N = 1e2..1e5, "
                      "must decay like 1/N (slope <= -0.9); a wrong constant leaves a plateau (slope ~ 0)"),
    agreement("bb-risk-link", subject=lambda p: CLAIM.error_at(p["Lambda"], p["N"], math.inf),
              adapter=lambda expr: (lambda p: CLAIM.replace(form=expr).error_at(p["Lambda"], p["N"], math.inf)),
              reference=lambda p: 2 * icl_risk_infinite(*lsa_trained_minimizer(p["Lambda"], p["N"]), p["Lambda"]),
              points=_bb_points(), digits=12, kind="float64", reference_name="2 R_∞ at the Γ-free trained minimizer",
              mutants=[Mutant(n, (lambda c: lambda p: c.error_at(p["Lambda"], p["N"], math.inf))(WRONG[n]))
                       for n in GAMMA_MUTANTS + ("error 1% too large",)],
              description="claimed M -> ∞ error = 2 R_∞(W(N)) of BB (icl engine) at the minimizer trained without Γ"),
    bound("corollary-4.3", CLAIM, corollary_ratio, corollary_points, threshold=1.0, relation="<=", unit="error/bound",
          kind="float64", what="claimed error / Corollary 4.3 bound",
          mutants=_mutants("Gamma = (1 + 2/N)Lambda + tr(Lambda)/N I", "error 1% too large"),
          description="Corollary 4.3's bound holds at 200 random (Λ, N, M) and where it is tight (N = 1e4, M = 1, 2)"),
    rejection("wrong-formulas-rejected", tuple(WRONG[n] for n in REJECTED), rejected_z,
              [dict(_cfg(LAMBDA_T3, 5, 5, 0.5, 0.0), which=k, label=n) for k, n in enumerate(REJECTED)],
              prepare=zr.trained_error_estimate,
              threshold=5.0, unit="|z|", what="|z| of the trained LSA's Monte Carlo against a wrong form",
              mutants=[Mutant("the right formula", (CLAIM,) * len(REJECTED))],
              description="the Monte Carlo of the Γ-free trained LSA rejects (|z| >= 5) each wrong form"),
    _mc_check("mc-sweep", [CONFIG_EQ, CONFIG_NE, CONFIG_NOISY, CONFIG_PROMPT_NOISE, _cfg(LAMBDA_T3, 1, 1),
                           _cfg(LAMBDA_T3, 2, 30, 0.3, 0.0), _cfg(np.array([[2.0]]), 2, 2)], 1_000_000,
              GAMMA_MUTANTS + ("error 1% too large",), "sweep, 1e6 prompts each through the LSA forward pass", slow=True),
]


# ------------------------------------------------------------------------------------------ user claims (verify claim)
# ``verify claim zfb-error``: exact rational points, d = 1..5, with references computed from the DEFINITION without
# Gamma and without the Wishart identity (verify.icl.zfb_references.error_reference).

CLAIM_DPS = 40
CLAIM_DIMS = (1, 2, 3, 4, 5)
ERROR_CASES = ((False, False), (True, False), (False, True), (True, True))
"""Per dimension, (noiseless, M = N): noise s, t > 0 with M != N; none, M != N; s > 0 = t with M = N; none, M = N."""


def error_claim_points(seed: int) -> list:
    r"""Points of ``verify claim zfb-error``: d = 1..5, four each (:data:`ERROR_CASES`), N, M in 1..40, s, t in (1/8)Z,
    reference verify.icl.zfb_references.error_reference (exact).  ``cases``: ``noiseless`` (s = t = 0),
    ``equal-lengths`` (M = N)."""
    rng = np.random.default_rng([seed, 72])
    return [_error_point(dim, quiet, equal, rng) for dim in CLAIM_DIMS for quiet, equal in ERROR_CASES]


def _error_point(dim: int, quiet: bool, equal: bool, rng) -> ClaimPoint:
    Lam = zr.rational_lambda(dim, rng)
    n = int(rng.integers(1, 41))
    m = n if equal else int(rng.choice([k for k in range(1, 41) if k != n]))
    s = 0 if quiet else zr.small_rational(0.3 + rng.random())
    t = 0 if quiet or equal else zr.small_rational(0.3 + rng.random())
    cases = frozenset(name for name, on in (("noiseless", quiet), ("equal-lengths", equal)) if on)
    ref = zr.error_reference(Lam, n, m, s, t)
    with mpmath.mp.workdps(CLAIM_DPS + 10):
        values = {"Lambda": zr.to_mpmath(Lam), "N": mpmath.mpf(n), "M": mpmath.mpf(m), "s": zr.to_mpmath(Fraction(s)),
                  "t": zr.to_mpmath(Fraction(t)), "I": mpmath.eye(dim)}
        return ClaimPoint(dim, values, zr.to_mpmath(ref), cases)


_G = "((1 + 1/N)*Lambda + trace(Lambda)/N*I)"           # Gamma_N
_GM = "((1 + 1/M)*Lambda + trace(Lambda)/M*I)"          # Gamma_M
_GI = f"{_G}**-1"
_ERR = (f"trace(Lambda) - 2*trace({_GI}*Lambda**2) + trace({_GI}*Lambda*{_GI}*{_GM}*Lambda)"
        f" + s**2*trace({_GI}*Lambda*{_GI}*Lambda)/M + t**2")
_VAR = f"(trace({_G}**-2*Lambda**3) + trace(Lambda)*trace({_G}**-2*Lambda**2))/M"
_NOISE = f" + s**2*trace({_G}**-2*Lambda**2)/M + t**2"
_POINTS = ("d = 1..5, generic Lambda = R R^T + I/4 (R in (1/16)Z, no zero entry), N in 1..40, exact;\n"
           "reference without Gamma: the minimizer C of the population loss (a linear solve;\n"
           "Gaussian fourth moments read off the MGF, prompt average by pair counting)")
_SYNTAX = "syntax: SymPy's: * matrix product, .T transpose, **-1 or inverse() inverse, trace()."

ERROR_CLAIM = ClaimSpec(
    id="zfb-error", statement_id="zfb-linear",
    domains={"Lambda": "spd", "N": "integer", "M": "integer", "s": "scalar", "t": "scalar", "I": "identity"}, hypotheses={"noiseless": {"s": "0", "t": "0"}, "equal-lengths": {"M": "N"}},
    summary="ZFB Thm 4.2 averaged: E(y_hat - y)^2 of the trained LSA on M test tokens (noise s, t)",
    symbols_help=("symbols: Lambda (d x d, SPD), N (training length), M (test prompt length), s (prompt-label\n"
                  "noise std), t (target noise std), I (d x d identity); Gamma is written out in Lambda, N, I.\n" + _SYNTAX),
    example=_ERR, expected_shape=lambda d: (), points=error_claim_points,
    assumptions={"noiseless": "s = t = 0 (ZFB train and test noiselessly)", "equal-lengths": "M = N"},
    coverage=(_POINTS + ";\nM in 1..40 with M != N and M = N, noise s, t > 0 and s = t = 0; reference E(y_hat - y)^2\n"
              "of x_q^T C (1/M sum y_i x_i) from the definition (exact)"),
    equivalents=(f"trace(Lambda*(I - {_GI}*Lambda)**2) + {_VAR}{_NOISE}",                  # bias + variance + noise
                 f"trace({_G}**-2*Lambda*(Lambda + trace(Lambda)*I)**2)/N**2 + {_VAR}{_NOISE}",  # bias O(N^-2)
                 _ERR.replace(_GI, "N*inverse((N + 1)*Lambda + trace(Lambda)*I)"),
                 (f"trace(Lambda) - 2*trace(Lambda**2*{_GI}) + (1 + 1/M)*trace(Lambda*{_GI}*Lambda*{_GI}*Lambda)"
                  f" + trace(Lambda)/M*trace({_GI}*Lambda*{_GI}*Lambda) + (s**2/M)*trace(Lambda*{_GI}*Lambda*{_GI}) + t^2"),
                 _ERR.replace("2*trace", "2.0*trace").replace("s**2*", "0.25*(2*s)**2*").replace("t**2", "(t*t)"),
                 _ERR.replace("/M", "*M**-1").replace(f"trace({_GI}*Lambda**2)", f"trace(({_GI}*Lambda**2).T)")),
    wrong_examples=(_ERR.replace(_G, "((1 + 2/N)*Lambda + trace(Lambda)/N*I)"),           # 2/N for 1/N in Gamma
                    _ERR.replace(_GI, "Lambda**-1"),                                        # Gamma = Lambda
                    _ERR.replace(_GM, "((1 + 1/M)*Lambda)"),                                # tr(Lambda)/M term dropped
                    to_formula(ERROR_SLIPS["prompt-noise term without 1/M"]),               # noise without 1/M
                    to_formula(ERROR_SLIPS["prompt-noise term 1% too large"]),              # noise 1% too large
                    to_formula(ERROR_SLIPS["+ e_4(Lambda)/N (zero for d <= 3)"]),           # 0 at d <= 3 (e_4)
                    _ERR.replace("- 2*trace", "- trace"),                                   # 2 -> 1
                    _ERR.replace(_GI, _G),                                                  # Gamma not inverted
                    _ERR.replace(_GM, "((1 + 1/M)*Lambda + trace(Lambda**2)/M*I)"),         # tr <-> tr(Lambda^2)
                    _ERR.replace("s**2*", "s*").replace("t**2", "t"),                       # std for variance
                    _ERR.replace("s**2", "S2").replace("t**2", "s**2").replace("S2", "t**2"),  # s <-> t
                    to_formula(ERROR_SLIPS["target noise t^2/M"]),                          # target noise / M
                    f"(1 + 1e-12)*({_ERR})",                                                # relative offset 1e-12
                    f"{_ERR} + {vanishing_up_to(3, 'Lambda')}*trace(Lambda)/N",            # 0 at d <= 3
                    f"{_ERR} + {vanishing_up_to(4, 'Lambda')}*t**2"),                       # 0 at d <= 4
    conditional_examples=((_ERR.split(" + s**2")[0], ("noiseless",)),                      # noise terms dropped
                          (_ERR.replace(_GM, _G), ("equal-lengths",)),                     # Gamma_M = Gamma_N
                          (f"trace(Lambda) - trace({_GI}*Lambda**2)", ("noiseless", "equal-lengths"))),  # 2 L(theta_*)
)



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
    r"checked here: it minimizes the loss over } C = u\,U_{11}^\top \text{ on } u_{12} = u_{21} = 0",
]

NOTES = [
    r"The query column is inside $EE^\top/N$ (ZFB's setup): it adds $z_qz_q^\top = \mathrm{diag}(x_qx_q^\top, 0)$. "
    r"At $\theta_*$ its contribution to $\hat y_q$ is exactly $\ell(1 + x_q^\top\Gamma^{-1}x_q/M)$ with $\ell$ the query's label "
    r"slot, i.e. $0$: $W^{PV}_*$ reads row $d+1$ of $EE^\top$, where the query enters as $\ell\,x_q^\top$. "
    r"For a general $\theta$ the $x_qx_q^\top$ term enters through $w^{PV}_{21}$ as $(w^{PV}_{21})^\top x_q\,x_q^\top W^{KQ}_{11}x_q/M$ "
    r"(a cubic in $x_q$); it vanishes at $\theta_*$. So BB's convention (query not in the sum) and ZFB's agree at $\theta_*$.",
    r"Normalisation: $f_{\mathrm{LSA}}$ divides by the number $n$ of prompt tokens in $E$ ($N$ in training, $M$ at test); "
    r"with $1/N$ kept at test the predictor would be scaled by $M/N$.",
    r"All ZFB formulas the paper uses that were checked hold exactly: $\Gamma$, $W_*$, the predictor, the Wishart identity, "
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


STATEMENT = Statement(
    id="zfb-linear",
    finding=Finding(kind="verified", summary="at Γ = (1 + 1/N)Λ + tr(Λ)/N·I the trained linear self-attention predicts x_qᵀ Γ⁻¹ (1/M Σ yᵢ xᵢ), with the stated prediction error"),
    number="ZFB Thms 4.1-4.2",
    title="Trained linear self-attention: the global minimizer, its learned predictor and its prediction error",
    summary="At Γ = (1+1/N)Λ + tr(Λ)/N I, W_* gives ŷ = x_q^T Γ^{-1} (1/M Σ y_i x_i) with "
            "E(ŷ - y)^2 = trΛ - 2tr(Γ^{-1}Λ^2) + tr(Γ^{-1}ΛΓ^{-1}Γ_MΛ) (+ noise terms); N -> ∞ gives BB's (U_*, V_*)",
    source="Zhang, Frei & Bartlett (2024), JMLR 25(49), Theorems 4.1-4.2 and eq. (3.3); used by Boursier & Boyer "
           "(arXiv 2512.11784), proof of Theorem 5.1/5.2",
    statement_tex=STATEMENT_TEX,
    hypotheses_tex=HYPOTHESES,
    derivations=derivations,
    checks=CHECKS,
    claims=[ERROR_CLAIM],
    notes_tex=NOTES,
    closed_form=ERROR_FORM, domains=ERROR_CLAIM.domains,
    order=7.0,
)

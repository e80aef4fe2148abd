r"""Reference points of the ICL claims (``verify claim``), d = 1..5, from the DEFINITION of R_\infty.

    R_\infty(U, V) = 1/2 E_{w, x_q, \varepsilon_q} (p_\infty - w^T x_q - \varepsilon_q)^2,
    p_\infty = e_{d+1}^T V \Gamma_w U (x_q, 0),   \Gamma_w = [[\Sigma, \Sigma w], [w^T\Sigma, w^T\Sigma w + s^2]].

Two references, neither of which sees a closed form:

* d <= :data:`FULL_QUADRATURE_MAX_DIM`: :func:`verify.icl.references.definition_quadrature`, the 3-node tensor
  Gauss-Hermite rule over all 2d + 1 coordinates (w, x_q, \varepsilon_q) (3^{2d+1} nodes; exact, the integrand
  has degree <= 4 in each coordinate), 45 digits.
* every d (:func:`task_moments`): the same rule over w only (3^d nodes, 243 at d = 5), with (x_q, \varepsilon_q)
  integrated by their second moments.  Per node w, \Gamma_w is built, p_\infty = x_q^T r(w) with
  r(w) = U_{:,1:d}^T \Gamma_w^T V^T e_{d+1} (the definition's product, entry by entry) and h = r(w) - w; then

      E_{x_q, \varepsilon_q} 1/2 (x_q^T h - \varepsilon_q)^2 = 1/2 (h^T \Sigma h + s^2)       (E x x^T = \Sigma, E x\varepsilon = 0),

  a quadratic form's mean, not the closed form (whose content, the fourth moments of w through \Gamma_w, is
  left to the quadrature).  The integrand in w has degree <= 4 per coordinate: the rule is exact.
  Differentiating under the integral (p_\infty is bilinear in (U, V); q = \Gamma_w^T V^T e_{d+1}):

      \partial R/\partial U_{ij} = E_w[q_i (\Sigma h)_j]  (j <= d),     \partial R/\partial V_{d+1,k} = E_w[(\Gamma_w U_{:,1:d} \Sigma h)_k],

  also exact (degree <= 4 per coordinate).  R is a quadratic in U_{:,1:d} (p_\infty is linear in U):
  the minimiser over U11 with the last row u = 0 solves the normal equations E[q_{1:d} q_{1:d}^T] U11 =
  E[q_{1:d} w^T] (:func:`minimiser_U11`), moments by the same rule.

Points (exact dyadic rationals, so SymPy, mpmath and float64 see the same numbers) carry the hypotheses they
satisfy (:class:`verify.kernel.formula.ClaimPoint` ``cases``): ``invariant-subspace`` (U = diag(A, 0), V = b e e^T:
u = 0, a = 0 and the unused blocks 0), ``noiseless`` (s = 0), ``balanced`` (b = tr(\Sigma^{-2})^{1/4}).
Builders are cached per seed.  Accuracy: 50-digit arithmetic, the rule exact; claims compare at 40 digits with
tolerance 1e-20 (a relative error of 1e-12 is rejected by 8 orders of magnitude).

>>> from verify.icl.risk import bayes_point
>>> U, V = bayes_point([[2.0]])
>>> with mp.workdps(30):
...     mp.nstr(task_moments(U, V, [[2.0]], 0.5)["risk"], 20)
'0.125'
"""

from __future__ import annotations

import functools
import itertools

import mpmath
import numpy as np
import sympy as sp
from mpmath import mp

from verify.kernel.claim import ClaimPoint
from verify.icl.risk import icl_risk_infinite_quadrature
from verify.icl.references import definition_quadrature, random_point, _dyadic
from verify.numerics.quadrature import hermite_rule
from verify.numerics.strategies import random_covariance

__all__ = ["DIMS", "FULL_QUADRATURE_MAX_DIM", "REF_DPS", "task_moments", "minimiser_U11", "invariant_point",
           "risk_claim_points", "gradient_claim_points", "minimiser_claim_points", "coverage", "claim_values",
           "RISK_CASES", "GRADIENT_BLOCKS", "swap", "swap_symbols", "vanishing_at_small_d",
           "cayley_hamilton3", "common_mutants"]

DIMS = (1, 2, 3, 4, 5)
"""Dimensions of every ICL claim's points."""
FULL_QUADRATURE_MAX_DIM = 2
"""Largest d at which the risk claim's reference is the full (w, x_q, eps_q) rule (1.2 s per point at d = 3)."""
REF_DPS = 50
"""Working digits of the references."""
RISK_CASES = (("generic", True), ("generic", False), ("invariant", True), ("invariant", False))
"""Per d, the four kinds of point: (off / on the invariant subspace, label noise s > 0 / s = 0)."""
GRADIENT_BLOCKS = ("U11", "u", "a", "b")
_SALT = 57  # the claims' random stream: default_rng([seed, _SALT, d, kind])


# --------------------------------------------------------------------------------------- conversions


def _mp(x):
    """An exact mpf of a SymPy rational, an mpf or a float (SymPy irrationals to the working precision)."""
    if isinstance(x, mpmath.mpf):
        return x
    if isinstance(x, (sp.Rational, sp.Integer)):
        return mp.mpf(int(x.p)) / int(x.q)
    if isinstance(x, sp.Basic):
        return mp.mpf(str(sp.N(x, mp.dps + 10)))
    return mp.mpf(float(x))


def _rows(M) -> list:
    if isinstance(M, mpmath.matrix):
        return [[_mp(M[i, j]) for j in range(M.cols)] for i in range(M.rows)]
    if hasattr(M, "tolist"):
        M = M.tolist()
    return [[_mp(x) for x in row] for row in M]


def _matrix(rows) -> mpmath.matrix:
    return mpmath.matrix([list(r) for r in rows])


# --------------------------------------------------------------------------------------- the reference


def task_moments(U, V, Sigma, noise, dps: int = REF_DPS, gradient: bool = False, normal: bool = False) -> dict:
    r"""E over (w, x_q, \varepsilon_q) of the definition, w by the exact 3-node tensor rule (3^d nodes), the query
    by its second moments (see the module docstring).  Returns ``{"risk": mpf}`` plus, with ``gradient``,
    ``"gU"``, ``"gV"`` ((d+1) x (d+1) mpmath matrices, \partial R/\partial U and \partial R/\partial V; 0 on the
    unused entries) and, with ``normal``, ``"Eqq"`` = E[q q^T], ``"Eqw"`` = E[q w^T] (q = \Gamma_w^T V^T e_{d+1}) and ``"Eww"`` = E[w w^T] on the same rule.
    Entries: SymPy rationals, mpf or floats, all exact.  The closed form is never used."""
    with mp.workdps(int(dps) + 10):
        S, Um, Vm = _rows(Sigma), _rows(U), _rows(V)
        k = len(S)
        if len(Um) != k + 1 or len(Vm) != k + 1:
            raise ValueError(f"U, V: expected ({k + 1}, {k + 1}) matrices for Sigma of shape ({k}, {k})")
        s2 = _mp(noise) ** 2
        v = Vm[k]
        x3, w3 = hermite_rule(3, int(dps))
        risk = mp.zero
        gU = [[mp.zero] * (k + 1) for _ in range(k + 1)]
        gV = [mp.zero] * (k + 1)
        Eqq = [[mp.zero] * (k + 1) for _ in range(k + 1)]
        Eqw = [[mp.zero] * k for _ in range(k + 1)]
        Eww = [[mp.zero] * k for _ in range(k)]
        for idx in itertools.product(range(3), repeat=k):
            w = [x3[i] for i in idx]
            om = mpmath.fprod(w3[i] for i in idx)
            Sw = [mpmath.fdot(S[i], w) for i in range(k)]
            G = [S[i] + [Sw[i]] for i in range(k)] + [Sw + [mpmath.fdot(w, Sw) + s2]]  # Gamma_w
            q = [mpmath.fdot(v, [G[j][c] for j in range(k + 1)]) for c in range(k + 1)]  # (e^T V Gamma_w)^T
            h = [mpmath.fdot(q, [Um[i][j] for i in range(k + 1)]) - w[j] for j in range(k)]  # r(w) - w
            Sh = [mpmath.fdot(S[i], h) for i in range(k)]
            risk += om * (mpmath.fdot(h, Sh) + s2) / 2
            if gradient:
                for i in range(k + 1):
                    for j in range(k):
                        gU[i][j] += om * q[i] * Sh[j]
                t = [mpmath.fdot(Um[i][:k], Sh) for i in range(k + 1)]  # U_{:,1:d} Sigma h
                for c in range(k + 1):
                    gV[c] += om * mpmath.fdot(G[c], t)
            if normal:
                oq = [om * qi for qi in q]
                for i in range(k + 1):
                    for j in range(i, k + 1):
                        Eqq[i][j] += oq[i] * q[j]
                    for j in range(k):
                        Eqw[i][j] += oq[i] * w[j]
                for i in range(k):
                    for j in range(i, k):
                        Eww[i][j] += om * w[i] * w[j]
        out = {"risk": +risk}
        if gradient:
            out["gU"] = _matrix(gU)
            gVm = mpmath.zeros(k + 1, k + 1)
            for c in range(k + 1):
                gVm[k, c] = gV[c]
            out["gV"] = gVm
        if normal:
            for i in range(k + 1):
                for j in range(i):
                    Eqq[i][j] = Eqq[j][i]
            for i in range(k):
                for j in range(i):
                    Eww[i][j] = Eww[j][i]
            out["Eqq"], out["Eqw"], out["Eww"] = _matrix(Eqq), _matrix(Eqw), _matrix(Eww)
    return out


def minimiser_U11(V, Sigma, noise, dps: int = REF_DPS, with_risk: bool = False):
    r"""argmin over U11 of R_\infty (definition) with u = 0: E[q_{1:d}q_{1:d}^T] U11 = E[q_{1:d} w^T] (normal
    equations of a quadratic in U11; the unused last column of U plays no role).  With ``with_risk`` also the
    definition's R_\infty there, from the same moments: with u = 0, p_\infty = x_q^T U11^T q_{1:d}, so

        R_\infty(U11) = 1/2 tr(\Sigma (U11^T E[qq^T] U11 - U11^T E[qw^T] - E[wq^T] U11 + E[ww^T])) + s^2/2.

    ``ValueError`` if E[q q^T] is singular (b = 0)."""
    k = len(_rows(Sigma))
    with mp.workdps(int(dps) + 10):
        mo = task_moments(np.zeros((k + 1, k + 1)), V, Sigma, noise, dps=dps, normal=True)
        Q = mo["Eqq"][:k, :k]
        P = mo["Eqw"][:k, :k]
        try:
            U11 = mpmath.inverse(Q) * P
        except ZeroDivisionError:
            raise ValueError("V: E[q q^T] is singular (b = 0?): the minimiser over U11 is not unique") from None
        if not with_risk:
            return U11
        S = _matrix(_rows(Sigma))
        inner = U11.T * Q * U11 - U11.T * P - P.T * U11 + mo["Eww"]
        risk = (mpmath.fsum((S * inner)[i, i] for i in range(k)) + _mp(noise) ** 2) / 2
        return U11, risk


# --------------------------------------------------------------------------------------- points


def invariant_point(point: dict) -> dict:
    """The point projected on the invariant subspace: U = diag(U11, 0), V = b e_{d+1} e_{d+1}^T."""
    k = point["dim"]
    Um = sp.Matrix(point["U"])
    Vm = sp.zeros(k + 1, k + 1)
    Um[k, :] = sp.zeros(1, k + 1)
    Um[:, k] = sp.zeros(k + 1, 1)
    Vm[k, k] = point["V"][k, k]
    return dict(point, U=sp.ImmutableMatrix(Um), V=sp.ImmutableMatrix(Vm))


def claim_values(U, V, Sigma, noise, names=("U11", "u", "a", "b", "Sigma", "s", "I")) -> dict:
    """The formula symbols (mpmath values) of a point: U11, u, a, b, Sigma, s, I."""
    Ur, Vr, Sr = _rows(U), _rows(V), _rows(Sigma)
    k = len(Sr)
    vals = {"U11": _matrix([r[:k] for r in Ur[:k]]), "u": _matrix([[x] for x in Ur[k][:k]]),
            "a": _matrix([[x] for x in Vr[k][:k]]), "b": Vr[k][k], "Sigma": _matrix(Sr), "s": _mp(noise),
            "I": mpmath.eye(k)}
    return {n: vals[n] for n in names}


def _cases(kind: str, noise: bool) -> frozenset:
    return frozenset(({"invariant-subspace"} if kind == "invariant" else set()) | (set() if noise else {"noiseless"}))


def _exact_points(seed: int) -> list:
    """(dim, kind, noise, exact point) for every d and kind of :data:`RISK_CASES`; each from its own stream."""
    out = []
    for k in DIMS:
        for j, (kind, noise) in enumerate(RISK_CASES):
            pt = random_point(k, np.random.default_rng([int(seed), _SALT, k, j]), noise=noise)
            out.append((k, kind, noise, invariant_point(pt) if kind == "invariant" else pt))
    return out


@functools.lru_cache(maxsize=8)
def risk_claim_points(seed: int) -> tuple:
    """Points of ``icl-risk-infinite``: d = 1..5, per d one generic point with s > 0 and one with s = 0, one on
    the invariant subspace with s > 0 and one with s = 0; the reference is the definition's expectation
    (full rule at d <= 2, :func:`task_moments` at every d >= 3)."""
    pts = []
    for k, kind, noise, pt in _exact_points(seed):
        with mp.workdps(REF_DPS):
            ref = (definition_quadrature(pt, dps=REF_DPS - 5) if k <= FULL_QUADRATURE_MAX_DIM
                   else task_moments(pt["U"], pt["V"], pt["Sigma"], pt["s"])["risk"])
            vals = claim_values(pt["U"], pt["V"], pt["Sigma"], pt["s"])
        pts.append(ClaimPoint(k, vals, ref, _cases(kind, noise)))
    return tuple(pts)


@functools.lru_cache(maxsize=8)
def _gradient_table(seed: int) -> tuple:
    rows = []
    for k, kind, noise, pt in _exact_points(seed):
        with mp.workdps(REF_DPS):
            g = task_moments(pt["U"], pt["V"], pt["Sigma"], pt["s"], gradient=True)
            vals = claim_values(pt["U"], pt["V"], pt["Sigma"], pt["s"])
            gU, gV = g["gU"], g["gV"]
            blocks = {"U11": gU[:k, :k], "u": gU[k, :k].T, "a": gV[k, :k].T, "b": gV[k, k]}
        rows.append((k, vals, blocks, _cases(kind, noise)))
    return tuple(rows)


def gradient_claim_points(seed: int, block: str) -> tuple:
    """Points of ``icl-gradient-<block>``: the same (d, kind) grid as the risk claim; the reference is the
    block of the definition's gradient (differentiation under the integral, :func:`task_moments`)."""
    if block not in GRADIENT_BLOCKS:
        raise ValueError(f"block: expected one of {', '.join(GRADIENT_BLOCKS)}, got {block!r}")
    return tuple(ClaimPoint(k, vals, bl[block], cases) for k, vals, bl, cases in _gradient_table(seed))


MINIMISER_CASES = (("generic", True), ("generic", False), ("balanced", True), ("balanced", False))


@functools.lru_cache(maxsize=8)
def _minimiser_table(seed: int) -> tuple:
    rows = []
    for k in DIMS:
        for j, (kind, noise) in enumerate(MINIMISER_CASES):
            rng = np.random.default_rng([int(seed), _SALT + 1, k, j])
            S = random_covariance(k, rng, floor=0.4)
            S = sp.ImmutableMatrix(k, k, lambda i, jj: _dyadic(S[min(i, jj), max(i, jj)]))
            sv = _dyadic(0.2 + 0.6 * rng.random()) if noise else sp.Integer(0)
            with mp.workdps(REF_DPS + 10):
                if kind == "balanced":  # the paper's V_*: b = tr(Sigma^-2)^(1/4)
                    Si = mpmath.inverse(_matrix(_rows(S)))
                    b_ = mpmath.root(sum((Si * Si)[i, i] for i in range(k)), 4)
                else:
                    b_ = _mp(_dyadic(rng.choice([-1.0, 1.0]) * rng.uniform(0.4, 1.6)))
                Vm = mpmath.zeros(k + 1, k + 1)
                Vm[k, k] = b_
                U11, risk = minimiser_U11(Vm, S, sv, with_risk=True)
                if k <= FULL_QUADRATURE_MAX_DIM:  # the full rule over (w, x_q, eps_q) at the minimiser
                    Um = mpmath.zeros(k + 1, k + 1)
                    Um[:k, :k] = U11
                    risk = icl_risk_infinite_quadrature(Um.tolist(), Vm.tolist(), S, sv, dps=REF_DPS - 5)
            vals = {"Sigma": _matrix(_rows(S)), "b": b_, "s": _mp(sv), "I": mpmath.eye(k)}
            cases = frozenset(({"balanced"} if kind == "balanced" else set()) | (set() if noise else {"noiseless"}))
            rows.append((k, vals, U11, risk, cases))
    return tuple(rows)


def minimiser_claim_points(seed: int, what: str) -> tuple:
    """Points of ``icl-minimizer-U11`` (``what="U11"``: the minimiser over U11 at u = a = 0, given b, Sigma, s)
    and ``icl-bayes-risk`` (``what="risk"``: the definition's R_\\infty at that minimiser)."""
    if what not in ("U11", "risk"):
        raise ValueError(f"what: expected 'U11' or 'risk', got {what!r}")
    return tuple(ClaimPoint(k, vals, U11 if what == "U11" else risk, cases)
                 for k, vals, U11, risk, cases in _minimiser_table(seed))


def coverage(kind: str) -> str:
    """The ``coverage`` text of an ICL claim (printed by ``verify claim --help``; lines under 100 columns)."""
    dims = ", ".join(map(str, DIMS))
    if kind in ("risk", "gradient"):
        grid = (f"d = {dims}; per d: generic U, V (u, a != 0), s > 0 and s = 0 (noiseless),\n"
                "and on the invariant subspace U = diag(A, 0), V = b e e^T with s > 0 and s = 0\n"
                "(invariant-subspace[, noiseless]); Sigma random SPD, non-diagonal for d >= 2; exact entries.\n")
        if kind == "risk":
            ref = (f"reference: the definition; d <= {FULL_QUADRATURE_MAX_DIM}: 3-node Gauss-Hermite over all "
                   f"(w, x_q, eps_q) (exact);\nd >= {FULL_QUADRATURE_MAX_DIM + 1}: the same rule over w, the query by "
                   "its second moments\n(verify.icl.claim_points.task_moments); 50 digits, tolerance 1e-20.")
        else:
            ref = ("reference: the gradient of the definition, differentiated under the integral, at every d\n"
                   "(w by the exact 3-node rule, the query by its second moments: verify.icl.claim_points.task_moments);\n"
                   "50 digits, tolerance 1e-20.")
        return grid + ref
    if kind == "minimiser":
        return (f"d = {dims}; per d 4 points: V = b e e^T with random b (s > 0; s = 0: noiseless)\n"
                "and with the paper's b = tr(Sigma^-2)^(1/4) (balanced[, noiseless]);\n"
                "Sigma random SPD, non-diagonal for d >= 2.\n"
                "reference: argmin over U11 (u = a = 0) of the definition's R_inf: normal equations\n"
                "E[q q^T] U11 = E[q w^T], moments by the exact 3-node rule over w\n(verify.icl.claim_points.minimiser_U11); "
                "50 digits, tolerance 1e-20.")
    if kind == "bayes":
        return (f"d = {dims}; the points of icl-minimizer-U11 (random/balanced b; s > 0, s = 0).\n"
                "reference: the definition's R_inf at the argmin over U11 (u = a = 0) of the definition:\n"
                f"full Gauss-Hermite over (w, x_q, eps_q) at d <= {FULL_QUADRATURE_MAX_DIM}, the argmin's moments\n"
                f"at d >= {FULL_QUADRATURE_MAX_DIM + 1} (verify.icl.claim_points.minimiser_U11); 50 digits, tolerance 1e-20.")
    raise ValueError(f"kind: expected risk, gradient, minimiser or bayes, got {kind!r}")


# --------------------------------------------------------------------------- wrong terms for the catalogues


def swap(formula: str, old: str, new: str) -> str:
    """``formula`` with every ``old`` replaced by ``new``; ``ValueError`` if ``old`` does not occur (so a planted
    mutant can never silently equal the true form).

    >>> swap("a*b + a", "a", "c")
    'c*b + c'
    """
    if old not in formula:
        raise ValueError(f"old: {old!r} does not occur in the formula")
    return formula.replace(old, new)


def vanishing_at_small_d(term: str) -> str:
    """A term that is 0 at d = 1, 2, 3 and not above: (tr I - 1)(tr I - 2)(tr I - 3) * term."""
    return f"(trace(I) - 1)*(trace(I) - 2)*(trace(I) - 3)*({term})"


def cayley_hamilton3(X: str) -> str:
    """The degree-3 Cayley-Hamilton polynomial of X with its invariants written by Newton's identities:
    X^3 - e1 X^2 + e2 X - e3 I, the zero matrix for every d <= 3 and generically not for d >= 4."""
    t1, t2, t3 = f"trace({X})", f"trace({X}*{X})", f"trace({X}*{X}*{X})"
    e2 = f"({t1}**2 - {t2})/2"
    e3 = f"({t1}**3 - 3*{t1}*{t2} + 2*{t3})/6"
    return f"({X}*{X}*{X} - {t1}*{X}*{X} + {e2}*{X} - {e3}*I)"


def swap_symbols(formula: str, x: str, y: str) -> str:
    """Exchange the whole-word symbols ``x`` and ``y`` (e.g. the blocks a <-> u); ``ValueError`` if either is absent.

    >>> swap_symbols("a.T*Sigma*u + trace(a*u.T)", "a", "u")
    'u.T*Sigma*a + trace(u*a.T)'
    """
    import re

    pats = {x: re.compile(rf"\b{re.escape(x)}\b"), y: re.compile(rf"\b{re.escape(y)}\b")}
    for name, pat in pats.items():
        if not pat.search(formula):
            raise ValueError(f"formula: symbol {name!r} does not occur")
    return re.sub(rf"\b(?:{re.escape(x)}|{re.escape(y)})\b", lambda m: y if m.group(0) == x else x, formula)


def common_mutants(formula: str, scalar: bool) -> tuple:
    """Mutants every ICL gradient claim must reject: blocks a <-> u swapped, a factor 1/2, a term vanishing only at
    d <= 3, the Cayley-Hamilton polynomial of a 3x3 Sigma (its trace for a scalar claim), the noise b s^2 u dropped
    from e = c0 + b tr(Sigma) u, the cross term b tr(Sigma) u dropped, a relative offset 1e-12."""
    ch = cayley_hamilton3("Sigma")
    return (swap_symbols(formula, "a", "u"), f"(1/2)*({formula})",
            f"{formula} + {vanishing_at_small_d('trace(Sigma)' if scalar else 'Sigma')}",
            f"{formula} + {'trace(' + ch + ')' if scalar else ch}", swap(formula, " + b*s**2*u", ""),
            swap(formula, " + b*trace(Sigma)*u", ""), f"(1 + 1e-12)*({formula})")

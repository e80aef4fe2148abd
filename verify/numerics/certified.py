r"""Certified enclosures with Arb (python-flint): balls guaranteed to contain the exact value.

:func:`attention_enclosure` encloses the *definition* of measure attention for \mu = N(m, \Gamma),

    T[\mu](z) = \int e^{<Kz',Qz>} V z' d\mu(z') / \int e^{<Kz',Qz>} d\mu(z'),

rigorously.  With z' = m + B g (B B^T = \Gamma, Cholesky in ball arithmetic) the score is
a^T m + b^T g, b = B^T K^T Q z, so the tilted law of g is a product measure and (Fubini)

    \bar g_k = N_k / D_k,   N_k = \int g e^{b_k g} \varphi(g) dg,   D_k = \int e^{b_k g} \varphi(g) dg.

Each 1-D integral is enclosed by Arb's certified integration on [-R, R] plus a ball for the tails:
since e^{bg}\varphi(g) = e^{b^2/2}\varphi(g - b) and the Mills bound P(G > x) <= \varphi(x)/x,

    \int_{|g|>R} (1 + |g|) e^{bg} \varphi(g) dg <= 2 e^{b^2/2} \varphi(R - |b|) (2 + |b| / (R - |b|))  (R > |b| + 1).

Then T[\mu](z) \in V (m + B \bar g).  Nothing here uses the closed form of Lemma 2.1.

python-flint is an optional dependency (``pip install python-flint``); :func:`available` says whether it is.

>>> if available():
...     ball = attention_enclosure([[1.0]], [[1.0]], [[1.0]], [0.5], [[1.0]], [1.0], prec=120)[0]
...     print(ball.contains(1.5), float(ball.rad()) < 1e-30)
... else:
...     print(True, True)
True True
"""

from __future__ import annotations

import math

import numpy as np

from verify._validation import attention_inputs

__all__ = ["available", "attention_enclosure", "to_arb_matrix", "tilted_moments_ball"]

try:  # optional: certified numerics need python-flint
    from flint import acb, arb, ctx
except ImportError:  # pragma: no cover - exercised only where python-flint is absent
    acb = arb = ctx = None


def available() -> bool:
    """True when python-flint (Arb) is importable."""
    return arb is not None


def _require():
    if arb is None:
        raise ImportError("python-flint is needed for certified enclosures: pip install python-flint")


def to_arb_matrix(a) -> list:
    """Exact conversion of a float array to nested lists of arb balls (radius 0)."""
    arr = np.asarray(a, dtype=float)
    if arr.ndim == 1:
        return [arb(float(x)) for x in arr]
    return [[arb(float(x)) for x in row] for row in arr]


def _cholesky(G: list) -> list:
    d = len(G)
    L = [[arb(0) for _ in range(d)] for _ in range(d)]
    for j in range(d):
        s = G[j][j] - sum((L[j][k] ** 2 for k in range(j)), arb(0))
        if not s > 0:
            raise ValueError("cov: not certifiably positive definite (use a better-conditioned covariance)")
        L[j][j] = s.sqrt()
        for i in range(j + 1, d):
            L[i][j] = (G[i][j] - sum((L[i][k] * L[j][k] for k in range(j)), arb(0))) / L[j][j]
    return L


def tilted_moments_ball(b, R: float):
    """Enclosures of (D, N) = (\\int e^{bg}\\varphi, \\int g e^{bg}\\varphi) over R, tails included."""
    inv_sqrt_2pi = 1 / (2 * arb.pi()).sqrt()
    bc = acb(b)
    den = acb.integral(lambda x, _: (bc * x - x * x / 2).exp(), -R, R).real * inv_sqrt_2pi
    num = acb.integral(lambda x, _: x * (bc * x - x * x / 2).exp(), -R, R).real * inv_sqrt_2pi
    babs = abs(b).upper()
    gap = arb(R) - babs
    tail = 2 * (babs * babs / 2).exp() * (-(gap * gap) / 2).exp() * inv_sqrt_2pi * (2 + babs / gap)
    tail = tail.upper()
    return den + arb(0, tail), num + arb(0, tail)


def attention_enclosure(K, Q, V, mean, cov, z, prec: int = 160) -> list:
    """Certified balls for the coordinates of T[N(m, \\Gamma)](z), computed at ``prec`` bits.

    Every ball contains the exact value of the definition for the given (float) inputs.

    >>> I = np.eye(2)
    >>> balls = attention_enclosure(I, I, I, [1.0, 0.0], I, [0.0, 1.0], prec=80)  # Lemma 2.1: exactly (1, 1)
    >>> [b.contains(1) for b in balls], all(b.rad() < 1e-15 for b in balls)
    ([True, True], True)
    """
    _require()
    K_np, Q_np, V_np, m_np, G_np, z_np = attention_inputs(K, Q, V, mean, cov, z)
    if not isinstance(prec, int) or isinstance(prec, bool):
        raise TypeError(f"prec: expected an int number of bits (>= 53), got {type(prec).__name__}")
    if prec < 53:
        raise ValueError(f"prec: expected an int >= 53 bits, got {prec!r}")
    d = m_np.shape[0]
    with ctx.workprec(prec + 20):
        Kb, Qb, Vb, Gb = (to_arb_matrix(M) for M in (K_np, Q_np, V_np, G_np))
        mb, zb = to_arb_matrix(m_np), to_arb_matrix(z_np)
        qz = [sum((Qb[i][j] * zb[j] for j in range(d)), arb(0)) for i in range(d)]
        a = [sum((Kb[i][j] * qz[i] for i in range(d)), arb(0)) for j in range(d)]  # a = K^T Q z
        B = _cholesky(Gb)
        b = [sum((B[i][k] * a[i] for i in range(d)), arb(0)) for k in range(d)]  # b = B^T a
        gbar = []
        for bk in b:
            babs = float(abs(bk).upper())
            R = babs + math.sqrt(2 * (prec + 30) * math.log(2)) + 2
            den, num = tilted_moments_ball(bk, R)
            gbar.append(num / den)
        x = [mb[i] + sum((B[i][k] * gbar[k] for k in range(d)), arb(0)) for i in range(d)]
        return [+sum((Vb[i][j] * x[j] for j in range(d)), arb(0)) for i in range(d)]

r"""Softmax attention on a Gaussian mixture: the definition by quadrature, Arb and Monte Carlo, and where it is
not affine.

For \mu = \sum_k \pi_k N(m_k, \Gamma_k) on R^d and a = K^T Q z (so <K z', Q z> = a^T z'),

    T[\mu](z) = \int e^{a^T z'} V z' d\mu(z') / \int e^{a^T z'} d\mu(z')
              = V \sum_k \pi_k N_k / \sum_k \pi_k D_k,   D_k = E e^{a^T X_k},  N_k = E X_k e^{a^T X_k},  X_k ~ N(m_k, \Gamma_k).

Everything here integrates that *definition*; the closed form (Gabet, Boursier & Boyer 2026)

    T[\mu](z) = V \sum_k w_k(z) (m_k + \Gamma_k a),   w_k \propto \pi_k e^{a^T m_k + a^T \Gamma_k a / 2},

is :func:`mixture_limit` (float64, log-sum-exp), used by the non-affinity study and as the Monte Carlo subject.

* :func:`mixture_attention_quadrature`: the d-dimensional tensor-product Gauss-Hermite rule of D_k and N_k per
  component.  With X_k = m_k + B_k g (B_k B_k^T = \Gamma_k) the integrand e^{a^T X_k} = e^{a^T m_k} \prod_j
  e^{b_j g_j} (b = B_k^T a) is a product, so the n^d-node tensor sums are *exactly* products of 1-D sums
  I_r(b_j) = \sum_i w_i x_i^r e^{b_j x_i} (the same numbers, d n terms instead of n^d).  No MGF is used.
* :func:`mixture_attention_enclosure` (d = 1): Arb balls of D_k, N_k by certified integration plus tail bounds
  (``verify.numerics.certified.tilted_moments_ball``), combined in ball arithmetic.
* :func:`mixture_batch_means`: finite prompts of L tokens from the mixture, softmax on tokens, batch means.
* :func:`separation_study`: d = 1, \mu = (N(-\delta, s^2) + N(\delta, s^2))/2, K = Q = V = 1: T(z) = s^2 z +
  \delta \tanh(\delta z) against its best affine fit on [-R, R] and against linear attention, as \delta grows.

>>> mu = Mixture([0.5, 0.5], [[-1.0], [1.0]], [[[0.25]], [[0.25]]])
>>> T = mixture_attention_quadrature([[1.0]], [[1.0]], [[1.0]], mu, [0.5], dps=30)
>>> mp.nstr(T[0], 20), float(mixture_limit([[1.0]], [[1.0]], [[1.0]], mu, [0.5])[0])   # 0.125 + tanh(0.5)
('0.5871171572600097585', 0.5871171572600098)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import mpmath
import numpy as np
from mpmath import mp

from verify.numerics.attention import softmax_batch_means
from verify.kernel.claim import ClaimPoint
from verify.numerics.quadrature import mp_matrix
from verify.numerics.measures import as_generator, covariance_root
from verify.numerics.quadrature import GUARD_DIGITS, MAX_NODES, hermite_rule, nodes_needed
from verify.numerics.strategies import random_covariance, random_matrix
from verify._validation import as_array, as_matrix, as_vector, covariance, positive_int, seed_value

__all__ = ["Mixture", "mixture_attention_quadrature", "mixture_attention_enclosure", "mixture_limit",
           "mixture_linear_limit", "mixture_batch_means", "component_tilt", "separation_study", "write_study",
           "study_summary", "SEPARATIONS", "mixture_claim_points", "mixture_claim_coverage", "CLAIM_DIMS", "formula_at", "symmetric_pair", "output_dir", "combined_tilted_mean"]


# ------------------------------------------------------------------------------------------ the measure


@dataclass(frozen=True)
class Mixture:
    r"""\mu = \sum_k \pi_k N(m_k, \Gamma_k): ``weights`` (C,) positive, summing to 1 (to 1e-12); ``means`` (C, d);
    ``covs`` (C, d, d) symmetric positive definite.

    >>> Mixture([0.5, 0.6], [[0.0], [1.0]], [[[1.0]], [[1.0]]])
    Traceback (most recent call last):
    ...
    ValueError: weights: must sum to 1, got 1.1
    """

    weights: np.ndarray
    means: np.ndarray
    covs: np.ndarray
    roots: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        w = as_vector(self.weights, "weights")
        if np.any(w <= 0):
            raise ValueError(f"weights: must be positive, got {w.tolist()}")
        if abs(w.sum() - 1) > 1e-12:
            raise ValueError(f"weights: must sum to 1, got {w.sum():.6g}")
        means = as_array(self.means, "means", ndim=2)
        if means.shape[0] != w.shape[0]:
            raise ValueError(f"means: expected {w.shape[0]} rows (one per weight), got {means.shape[0]}")
        d = means.shape[1]
        covs = as_array(self.covs, "covs", ndim=3)
        if covs.shape != (w.shape[0], d, d):
            raise ValueError(f"covs: expected shape {(w.shape[0], d, d)}, got {covs.shape}")
        covs = np.stack([covariance(c, f"covs[{k}]", d) for k, c in enumerate(covs)])
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "means", means)
        object.__setattr__(self, "covs", covs)
        object.__setattr__(self, "roots", tuple(covariance_root(c) for c in covs))

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    @property
    def components(self) -> int:
        return self.weights.shape[0]

    @property
    def mean(self) -> np.ndarray:
        return self.weights @ self.means

    @property
    def second_moment(self) -> np.ndarray:
        """E[X X^T] = \\sum_k \\pi_k (\\Gamma_k + m_k m_k^T)."""
        return sum(p * (G + np.outer(m, m)) for p, m, G in zip(self.weights, self.means, self.covs))

    @property
    def cov(self) -> np.ndarray:
        return self.second_moment - np.outer(self.mean, self.mean)

    def sample(self, n: int, seed) -> np.ndarray:
        """``n`` i.i.d. draws (component labels, then Gaussians) as an ``(n, d)`` array."""
        n = positive_int(n, "n")
        rng = as_generator(seed)
        labels = rng.choice(self.components, size=n, p=self.weights)
        g = rng.standard_normal((n, self.dim))
        out = np.empty((n, self.dim))
        for k in range(self.components):
            sel = labels == k
            out[sel] = self.means[k] + g[sel] @ self.roots[k].T
        return out


def _mixture(mu) -> Mixture:
    if not isinstance(mu, Mixture):
        raise TypeError(f"mu: expected a Mixture, got {type(mu).__name__}")
    return mu


def _kqv(K, Q, V, z, d: int):
    return (as_matrix(K, "K", (d, d)), as_matrix(Q, "Q", (d, d)), as_matrix(V, "V", (d, d)), as_vector(z, "z", d))


# ------------------------------------------------------------------------------------------ closed form (float)


def component_tilt(K, Q, V, mu, z) -> np.ndarray:
    r"""Log of the unnormalised tilted weights,  \log \pi_k + a^T m_k + a^T \Gamma_k a / 2  (closed form)."""
    mu = _mixture(mu)
    K, Q, V, zz = _kqv(K, Q, V, z, mu.dim)
    a = K.T @ Q @ zz
    return np.log(mu.weights) + mu.means @ a + 0.5 * np.einsum("i,kij,j->k", a, mu.covs, a)


def mixture_limit(K, Q, V, mu, z) -> np.ndarray:
    r"""The closed form  V \sum_k w_k (m_k + \Gamma_k a),  w = softmax_k(\log\pi_k + a^T m_k + a^T\Gamma_k a/2),
    a = K^T Q z, in float64 (log-sum-exp: huge tilts never give NaN)."""
    mu = _mixture(mu)
    K, Q, V, zz = _kqv(K, Q, V, z, mu.dim)
    a = K.T @ Q @ zz
    s = component_tilt(K, Q, V, mu, zz)
    w = np.exp(s - s.max())
    w /= w.sum()
    return V @ (w @ (mu.means + mu.covs @ a))


def mixture_linear_limit(K, Q, V, mu, z) -> np.ndarray:
    r"""Normalised linear attention on \mu:  V E[z' z'^T] K^T Q z = V \sum_k \pi_k (\Gamma_k + m_k m_k^T) K^T Q z."""
    mu = _mixture(mu)
    K, Q, V, zz = _kqv(K, Q, V, z, mu.dim)
    return V @ mu.second_moment @ K.T @ Q @ zz


# ------------------------------------------------------------------------------------------ quadrature


def _mp(x):
    return mp.mpf(float(x))


def _component_sums(a: list, m: np.ndarray, cov: np.ndarray, dps: int) -> tuple:
    r"""(D, N) = (E e^{a^T X}, E X e^{a^T X}), X ~ N(m, \Gamma), by the tensor-product Gauss-Hermite rule, through
    its product structure (see the module docstring); ``a`` holds mpf at the working precision, and B B^T = \Gamma
    is the Cholesky factor at that precision (a float64 root would perturb \Gamma by 1e-16)."""
    d = len(a)
    chol = mp.cholesky(mpmath.matrix([[_mp(cov[i, j]) for j in range(d)] for i in range(d)]))
    B = [[chol[i, j] for j in range(d)] for i in range(d)]
    mm = [_mp(x) for x in m]
    b = [mp.fsum(B[i][j] * a[i] for i in range(d)) for j in range(d)]
    n = nodes_needed(max(abs(float(x)) for x in b), dps, d)
    if n > MAX_NODES:
        raise ValueError(f"z: the whitened tilt max|B^T K^T Q z| = {max(abs(float(x)) for x in b):.3g} needs {n} > "
                         f"{MAX_NODES} Gauss-Hermite nodes for dps={dps}; scale down K, Q, z or the covariances")
    nodes, weights = hermite_rule(n, dps)
    I0, I1 = [], []
    for bj in b:
        terms = [w * mp.exp(bj * x) for x, w in zip(nodes, weights)]
        I0.append(mp.fsum(terms))
        I1.append(mp.fsum(t * x for t, x in zip(terms, nodes)))
    scale = mp.exp(mp.fsum(a[i] * mm[i] for i in range(d)))
    D = scale * mp.fprod(I0)
    rest = [mp.fprod(I0[j] for j in range(d) if j != k) * I1[k] for k in range(d)]
    N = [scale * (mm[i] * mp.fprod(I0) + mp.fsum(B[i][k] * rest[k] for k in range(d))) for i in range(d)]
    return D, N


def mixture_attention_quadrature(K, Q, V, mu, z, dps: int = 40, *, components: bool = False):
    r"""T[\mu](z) from its definition, V \sum_k \pi_k N_k / \sum_k \pi_k D_k, each D_k, N_k by the tensor-product
    Gauss-Hermite rule with :func:`verify.numerics.quadrature.nodes_needed` nodes (error bound below 10^{-(dps+2)}) at
    ``dps`` + 10 digits.  Returns d mpf; with ``components=True`` also the posterior masses
    \pi_k D_k / \sum_j \pi_j D_j (as mpf), from the same sums."""
    mu = _mixture(mu)
    dps = positive_int(dps, "dps")
    K, Q, V, zz = _kqv(K, Q, V, z, mu.dim)
    d = mu.dim
    with mp.workdps(dps + GUARD_DIGITS):
        qz = [mp.fsum(_mp(Q[i, j]) * _mp(zz[j]) for j in range(d)) for i in range(d)]
        a = [mp.fsum(_mp(K[i, j]) * qz[i] for i in range(d)) for j in range(d)]
        sums = [_component_sums(a, mu.means[k], mu.covs[k], dps + GUARD_DIGITS) for k in range(mu.components)]
        den = mp.fsum(_mp(p) * D for p, (D, _) in zip(mu.weights, sums))
        num = [mp.fsum(_mp(p) * N[i] for p, (_, N) in zip(mu.weights, sums)) for i in range(d)]
        x = [t / den for t in num]
        out = [mp.fsum(_mp(V[i, j]) * x[j] for j in range(d)) for i in range(d)]
        post = [_mp(p) * D / den for p, (D, _) in zip(mu.weights, sums)]
    with mp.workdps(dps):
        out = [+t for t in out]
        return (out, [+t for t in post]) if components else out


def combined_tilted_mean(parts, weights, a, dps: int = 40, *, reweight: bool = True) -> list:
    r"""\sum_k \pi_k M_k(a) E_k / \sum_k \pi_k M_k(a) from each part's own log-MGF and tilted mean, both integrated
    from their definitions (:func:`verify.numerics.quadrature.log_mgf`, :func:`verify.numerics.quadrature.tilted_mean` with K = Q = I,
    z = a); ``reweight=False`` drops the M_k (the planted "untilted weights" error).  The right-hand side of the
    mixture-tilt identity, for any parts those functions integrate (Gaussian, discrete)."""
    from verify.numerics.quadrature import log_mgf, tilted_mean

    weights = as_vector(weights, "weights", len(parts))
    eye = np.eye(len(a))
    with mp.workdps(dps + GUARD_DIGITS):
        Ms = [mp.exp(log_mgf(c, a, dps + GUARD_DIGITS)) if reweight else mp.one for c in parts]
        Es = [tilted_mean(c, eye, eye, a, dps + GUARD_DIGITS) for c in parts]
        den = mp.fsum(_mp(p) * M for p, M in zip(weights, Ms))
        out = [mp.fsum(_mp(p) * M * E[i] for p, M, E in zip(weights, Ms, Es)) / den for i in range(len(a))]
    with mp.workdps(dps):
        return [+t for t in out]


# ------------------------------------------------------------------------------------------ Arb (d = 1)


def mixture_attention_enclosure(K, Q, V, mu, z, prec: int = 200) -> list:
    r"""d = 1: an Arb ball certified to contain T[\mu](z) for the given (float) inputs.

    Per component X = m + s g (s = \sqrt{\Gamma}), e^{aX} = e^{am} e^{b g} with b = s a: D = e^{am} I_0(b),
    N = e^{am} (m I_0(b) + s I_1(b)), I_r(b) = \int g^r e^{bg} \varphi(g) dg enclosed by
    ``verify.numerics.certified.tilted_moments_ball`` (certified integration on [-R, R] plus a Mills tail bound)."""
    from verify.numerics.certified import _require, tilted_moments_ball as tilted_moments  # the engine's certified 1-D pair

    _require()
    from flint import arb, ctx

    mu = _mixture(mu)
    if mu.dim != 1:
        raise ValueError(f"mu: the certified enclosure is for d = 1, got d = {mu.dim}")
    if not isinstance(prec, int) or isinstance(prec, bool) or prec < 53:
        raise ValueError(f"prec: expected an int >= 53 bits, got {prec!r}")
    K, Q, V, zz = _kqv(K, Q, V, z, 1)
    with ctx.workprec(prec + 20):
        a = arb(float(K[0, 0])) * arb(float(Q[0, 0])) * arb(float(zz[0]))
        den, num = arb(0), arb(0)
        for p, m, G in zip(mu.weights, mu.means[:, 0], mu.covs[:, 0, 0]):
            s = arb(float(G)).sqrt()
            b = s * a
            R = float(abs(b).upper()) + math.sqrt(2 * (prec + 30) * math.log(2)) + 2
            I0, I1 = tilted_moments(b, R)
            scale = (a * arb(float(m))).exp()
            den += arb(float(p)) * scale * I0
            num += arb(float(p)) * scale * (arb(float(m)) * I0 + s * I1)
        return [+(arb(float(V[0, 0])) * num / den)]


# ------------------------------------------------------------------------------------------ Monte Carlo


def mixture_batch_means(K, Q, V, mu, z, L: int, prompts: int, rng, batches: int = 40) -> np.ndarray:
    r"""Finite-prompt softmax attention on L i.i.d. tokens from the mixture (``prompts`` prompts), as a
    ``batches`` x d array of batch means (:func:`verify.numerics.attention.softmax_batch_means`)."""
    return softmax_batch_means(_mixture(mu), K, Q, V, z, L, prompts, rng, batches)


# ------------------------------------------------------------------------------------------ non-affinity study

SEPARATIONS = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0)
"""Half-distances \\delta between the two components of the study (component sd s = 0.5)."""


def _limit_on_grid(mu: Mixture, zs: np.ndarray) -> np.ndarray:
    """d = 1, K = Q = V = 1: :func:`mixture_limit` at every z of ``zs`` at once (a = z; log-sum-exp over components)."""
    m, G = mu.means[:, 0], mu.covs[:, 0, 0]
    s = np.log(mu.weights)[None, :] + zs[:, None] * m[None, :] + 0.5 * zs[:, None] ** 2 * G[None, :]
    w = np.exp(s - s.max(axis=1, keepdims=True))
    return (w * (m[None, :] + zs[:, None] * G[None, :])).sum(axis=1) / w.sum(axis=1)


def symmetric_pair(delta: float, sd: float = 0.5) -> Mixture:
    r"""(N(-\delta, s^2) + N(\delta, s^2)) / 2 in d = 1."""
    return Mixture([0.5, 0.5], [[-float(delta)], [float(delta)]], [[[sd * sd]], [[sd * sd]]])


def separation_study(separations=SEPARATIONS, sd: float = 0.5, half_width: float = 2.0, grid: int = 401,
                     check_points: int = 3, dps: int = 30) -> dict:
    r"""d = 1, K = Q = V = 1, \mu = (N(-\delta, s^2) + N(\delta, s^2))/2: T(z) = s^2 z + \delta \tanh(\delta z).

    For each \delta: the least-squares affine fit \alpha + \beta z of T on a uniform grid of [-R, R]
    (R = ``half_width``), the gap  max |T - fit|  and its RMS, the gap of linear attention
    T_lin(z) = (s^2 + \delta^2) z, and the agreeing digits of the closed form with the quadrature of the
    definition at ``check_points`` z values (so the figure's curve is the definition's, not only the formula's)."""
    zs = np.linspace(-half_width, half_width, positive_int(grid, "grid"))
    one = np.eye(1)
    rows = []
    for delta in separations:
        mu = symmetric_pair(delta, sd)
        T = _limit_on_grid(mu, zs)
        if abs(T[-1] - mixture_limit(one, one, one, mu, [zs[-1]])[0]) > 1e-12 * max(1.0, abs(T[-1])):
            raise ArithmeticError("the vectorised closed form disagrees with mixture_limit")  # pragma: no cover
        beta, alpha = np.polyfit(zs, T, 1)
        fit = alpha + beta * zs
        lin = float(mixture_linear_limit(one, one, one, mu, [1.0])[0]) * zs  # linear in z
        digits = []
        for t in np.linspace(0.3, half_width, check_points):
            with mp.workdps(dps):
                q = mixture_attention_quadrature(one, one, one, mu, [t], dps=dps)[0]
                c = mixture_limit(one, one, one, mu, [t])[0]
                rel = abs(q - mp.mpf(float(c))) / max(1, abs(q))
                digits.append(16.0 if rel == 0 else float(-mp.log10(rel)))
        rows.append({"delta": float(delta), "sd": sd, "slope": float(beta), "intercept": float(alpha),
                     "affine_gap_max": float(np.max(np.abs(T - fit))),
                     "affine_gap_rms": float(np.sqrt(np.mean((T - fit) ** 2))),
                     "linear_gap_max": float(np.max(np.abs(T - lin))),
                     "closed_form_vs_quadrature_digits": round(min(digits), 2)})
    return {"setting": {"d": 1, "K": 1, "Q": 1, "V": 1, "sd": sd, "z_range": [-half_width, half_width],
                        "grid": int(grid), "formula": "T(z) = s^2 z + delta tanh(delta z)"},
            "rows": rows}


def study_summary(study: dict) -> str:
    """The study as a text table."""
    lines = ["delta  |T - affine| max  |T - affine| rms  |T - linear| max  slope   closed form vs definition",
             "-----  ----------------  ----------------  ----------------  ------  ------------------------"]
    for r in study["rows"]:
        lines.append(f"{r['delta']:<5.2f}  {r['affine_gap_max']:<16.3e}  {r['affine_gap_rms']:<16.3e}  "
                     f"{r['linear_gap_max']:<16.3e}  {r['slope']:<6.3f}  {r['closed_form_vs_quadrature_digits']:.1f} digits")
    s = study["setting"]
    lines.append(f"d = 1, K = Q = V = 1, mu = (N(-delta, s^2) + N(delta, s^2))/2, s = {s['sd']:g}, "
                 f"z in [{s['z_range'][0]:g}, {s['z_range'][1]:g}]")
    lines.append(f"{s['formula']}; last column: closed form vs quadrature")
    return "\n".join(lines)


def output_dir(out) -> Path:
    """``-o/--output`` DIR: an existing directory, or a new one whose parent exists (``ValueError`` otherwise)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"-o/--output: {str(out)!r} exists and is not a directory")
    if not out.exists() and not out.parent.exists():
        raise ValueError(f"-o/--output: parent directory {str(out.parent)!r} does not exist")
    return out


def write_study(study: dict, out) -> list:
    """Write ``mixture.json`` and the figure ``mixture.png`` (T vs z, its affine fit, linear attention, for three
    separations; and the gap against \\delta) into directory ``out`` (created if its parent exists)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = output_dir(out)
    out.mkdir(exist_ok=True)
    s = study["setting"]
    zs = np.linspace(s["z_range"][0], s["z_range"][1], s["grid"])
    one = np.eye(1)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
    shown = [r for r in study["rows"] if r["delta"] in (0.5, 1.5, 3.0)] or study["rows"][-1:]
    for r, colour in zip(shown, ("tab:blue", "tab:orange", "tab:green")):
        mu = symmetric_pair(r["delta"], s["sd"])
        T = _limit_on_grid(mu, zs)
        ax.plot(zs, T, color=colour, label=f"softmax, δ={r['delta']:g}")
        ax.plot(zs, r["intercept"] + r["slope"] * zs, color=colour, ls="--", lw=1, label="best affine fit")
        ax.plot(zs, (s["sd"] ** 2 + r["delta"] ** 2) * zs, color=colour, ls=":", lw=1, label="linear attention")
    ax.set_xlabel("z")
    ax.set_ylabel("T[μ](z)")
    ax.set_ylim(-4, 4)
    ax.set_title("μ = ½N(-δ, s²) + ½N(δ, s²), s = %g, K = Q = V = 1" % s["sd"])
    ax.legend(fontsize=7, ncol=1)
    deltas = [r["delta"] for r in study["rows"]]
    bx.plot(deltas, [r["affine_gap_max"] for r in study["rows"]], "o-", label="max |T - best affine|")
    bx.plot(deltas, [r["affine_gap_rms"] for r in study["rows"]], "s-", label="rms |T - best affine|")
    bx.set_xlabel("separation δ")
    bx.set_ylabel(f"gap on z ∈ [{s['z_range'][0]:g}, {s['z_range'][1]:g}]")
    bx.legend(fontsize=8)
    bx.set_title("departure from affinity")
    fig.tight_layout()
    png = out / "mixture.png"
    fig.savefig(png, dpi=120)
    plt.close(fig)
    js = out / "mixture.json"
    js.write_text(json.dumps(study, indent=1))
    return [png, js]


# ------------------------------------------------------------------------------------------ claim points

CLAIM_DIMS = (1, 2, 3)
"""Dimensions of the ``verify claim gaussian-mixture-limit`` points."""
CLAIM_MAX_TILT = 3.0
"""Largest whitened tilt max_k |B_k^T K^T Q z| of a claim point (redrawn beyond)."""
CLAIM_MIN_POSTERIOR = 0.05
r"""Smallest tilted component mass \pi_k D_k / \sum_j \pi_j D_j of a claim point (redrawn below: a component
with a negligible mass would hide a wrong form of its own term)."""
_SALT = 1010


def _claim_draw(dim: int, rng, shared: bool) -> tuple:
    K, Q = random_matrix(dim, rng, 0.6), random_matrix(dim, rng, 0.6)
    V = random_matrix(dim, rng, 1.0)
    pi1 = float(rng.uniform(0.2, 0.8))
    means = rng.standard_normal((2, dim))
    G1 = random_covariance(dim, rng)
    G2 = G1 if shared else random_covariance(dim, rng)
    z = rng.standard_normal(dim)
    return K, Q, V, Mixture([pi1, 1 - pi1], means, np.stack([G1, G2])), z


def mixture_claim_points(seed: int, dps: int = 40) -> tuple:
    r"""The claim's points: per d in :data:`CLAIM_DIMS`, two mixtures with two generic covariances and one with a
    shared covariance (case ``"shared-covariance"``), \pi_1 ~ U(0.2, 0.8), m_k, V, z ~ N(0, 1), K, Q ~ N(0, 0.36),
    \Gamma_k = A A^T/d + 0.3 I; redrawn while the whitened tilt exceeds :data:`CLAIM_MAX_TILT` or a tilted component
    mass is below :data:`CLAIM_MIN_POSTERIOR`.  Reference: :func:`mixture_attention_quadrature` of the definition
    (40 digits).  Symbols: K, Q, V, z, pi1, pi2, m1, m2, Gamma1, Gamma2."""
    seed = seed_value(seed)
    pts = []
    for dim in CLAIM_DIMS:
        rng = np.random.default_rng([seed, _SALT, dim])
        for k in range(3):
            shared = k == 2
            for _ in range(1000):
                K, Q, V, mu, z = _claim_draw(dim, rng, shared)
                a = K.T @ Q @ z
                tilt = max(float(np.max(np.abs(np.linalg.cholesky(G).T @ a))) for G in mu.covs)
                if tilt > CLAIM_MAX_TILT:
                    continue
                ref, post = mixture_attention_quadrature(K, Q, V, mu, z, dps=dps, components=True)
                if min(post) >= CLAIM_MIN_POSTERIOR:
                    break
            else:  # pragma: no cover - the draw succeeds within a few tries
                raise RuntimeError(f"no balanced claim point at d={dim} in 1000 draws")
            with mp.workdps(dps):
                values = {"K": mp_matrix(K), "Q": mp_matrix(Q), "V": mp_matrix(V), "z": mp_matrix(z),
                          "pi1": mp.mpf(float(mu.weights[0])), "pi2": mp.mpf(float(mu.weights[1])),
                          "m1": mp_matrix(mu.means[0]), "m2": mp_matrix(mu.means[1]),
                          "Gamma1": mp_matrix(mu.covs[0]), "Gamma2": mp_matrix(mu.covs[1])}
                pts.append(ClaimPoint(dim, values, mpmath.matrix(ref),
                                      frozenset({"shared-covariance"}) if shared else frozenset()))
    return tuple(pts)


def mixture_claim_coverage() -> str:
    """The ``coverage`` text of the claim (``verify claim --help``)."""
    return (f"d = {', '.join(map(str, CLAIM_DIMS))}; per d two 2-component mixtures with generic covariances and one "
            f"with a\nshared covariance (case shared-covariance); pi1 ~ U(0.2, 0.8), pi2 = 1 - pi1; whitened tilt "
            f"<= {CLAIM_MAX_TILT:g};\nevery tilted component mass >= {CLAIM_MIN_POSTERIOR:g}.  Reference: the "
            "definition by the d-dimensional tensor\nGauss-Hermite rule per component "
            "(verify.gaussian.mixture.mixture_attention_quadrature), never a closed form;\n40 digits, tolerance 1e-20.")


def formula_at(formula: str, p: dict, dps: int = 40) -> mpmath.matrix:
    r"""A claim-grammar formula (symbols K, Q, V, z, pi1, pi2, m1, m2, Gamma1, Gamma2) at the point ``p`` (keys K, Q,
    V, z and ``mu``, a two-component :class:`Mixture`), evaluated through :func:`verify.kernel.formula.evaluate` at ``dps``
    digits; returns a d x 1 mpmath matrix."""
    from verify.kernel.formula import Value, evaluate

    mu = _mixture(p["mu"])
    if mu.components != 2:
        raise ValueError(f"mu: the claim grammar names two components, got {mu.components}")
    with mp.workdps(dps):
        ns = {k: Value(mp_matrix(p[k])) for k in ("K", "Q", "V", "z")}
        ns.update({"pi1": Value(mp.mpf(float(mu.weights[0]))), "pi2": Value(mp.mpf(float(mu.weights[1]))),
                   "m1": Value(mp_matrix(mu.means[0])), "m2": Value(mp_matrix(mu.means[1])),
                   "Gamma1": Value(mp_matrix(mu.covs[0])), "Gamma2": Value(mp_matrix(mu.covs[1]))})
        v = evaluate(formula, ns).v
        return v if isinstance(v, mpmath.matrix) else mpmath.matrix([[v]])


# ------------------------------------------------------------------------------------------ symbolic-size steps



"""Probability measures on R^d: the prompts of the measure-based view.

A prompt of L tokens is the empirical measure  \\hat\\mu_L = (1/L) \\sum_l \\delta_{z_l};  the
infinite-prompt regime studies the token law  \\mu  itself (paper, Sec. 1).

>>> import numpy as np
>>> g = Gaussian([0.0, 1.0], [[2.0, 0.5], [0.5, 1.0]])
>>> g.dim
2
>>> g.sample(3, seed=0).shape
(3, 2)
>>> np.array_equal(g.sample(5, seed=7), g.sample(5, seed=7))
True
>>> Gaussian([0.0, 0.0], [[1.0, 2.0], [2.0, 1.0]])
Traceback (most recent call last):
...
ValueError: cov: covariance must be positive definite (min eigenvalue -1)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from verify._validation import as_array, as_matrix, as_vector, covariance, positive_float, positive_int, real

__all__ = ["Gaussian", "Rademacher", "Discrete", "Empirical", "as_generator", "covariance_root",
           "gaussian_mean_of_log_density", "is_gaussian_mean_of_log_density", "UniformCube", "GaussianMixture",
           "isotropic_gaussian"]


def as_generator(seed) -> np.random.Generator:
    """A ``numpy.random.Generator`` from an int seed, a ``SeedSequence`` or a Generator.

    ``None`` is refused: every stochastic function in this toolkit is reproducible by construction.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if seed is None or isinstance(seed, bool):
        raise TypeError("seed: expected an int, a SeedSequence or a numpy Generator (randomness is explicit)")
    if isinstance(seed, (int, np.integer)):
        if seed < 0:
            raise ValueError(f"seed: must be >= 0, got {seed}")
        return np.random.default_rng(int(seed))
    if isinstance(seed, (list, tuple)) and all(isinstance(s, (int, np.integer)) for s in seed):
        return np.random.default_rng([int(s) for s in seed])
    raise TypeError(f"seed: expected an int, a SeedSequence or a numpy Generator, got {type(seed).__name__}")


@dataclass(frozen=True)
class Gaussian:
    """The Gaussian measure  N(m, \\Gamma)  on R^d (\\Gamma symmetric positive definite).

    ``allow_singular=True`` admits a positive semi-definite \\Gamma (Lemma 2.1 holds for every PSD \\Gamma).
    ``root`` is a matrix B with B B^T = \\Gamma (Cholesky when \\Gamma is definite), so that
    X = m + B G with G ~ N(0, I) has law N(m, \\Gamma).

    >>> g = Gaussian([1.0, 0.0], [[2.0, 0.5], [0.5, 1.0]])
    >>> g.sample(4, seed=0).shape, g.cov.tolist()
    ((4, 2), [[2.0, 0.5], [0.5, 1.0]])
    """

    mean: np.ndarray
    cov: np.ndarray
    allow_singular: bool = False
    root: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if not isinstance(self.allow_singular, (bool, np.bool_)):
            raise TypeError(f"allow_singular: expected a bool, got {type(self.allow_singular).__name__}")
        mean = as_vector(self.mean, "mean")
        cov = covariance(self.cov, "cov", mean.shape[0], allow_singular=self.allow_singular)
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "cov", cov)
        object.__setattr__(self, "root", covariance_root(cov))

    @property
    def dim(self) -> int:
        return self.mean.shape[0]

    def sample(self, n: int, seed) -> np.ndarray:
        """``n`` i.i.d. draws as an ``(n, d)`` array."""
        n = positive_int(n, "n")
        rng = as_generator(seed)
        g = rng.standard_normal((n, self.dim))
        return self.mean + g @ self.root.T

    def second_moment(self) -> np.ndarray:
        """E[X X^T] = \\Gamma + m m^T."""
        return self.cov + np.outer(self.mean, self.mean)


MAX_ATOM_DIM = 22
"""Largest dimension whose 2^d Rademacher atoms are enumerated (:meth:`Rademacher.atoms`)."""


class _CentredIsotropic:
    """Mean 0 and covariance scale^2 I for the product measures below (fields ``dim`` and ``scale``)."""

    @property
    def mean(self) -> np.ndarray:
        return np.zeros(self.dim)

    @property
    def cov(self) -> np.ndarray:
        return self.scale**2 * np.eye(self.dim)


@dataclass(frozen=True)
class Rademacher(_CentredIsotropic):
    """The product of ``dim`` symmetric \\pm ``scale`` coins: a sub-Gaussian, non-Gaussian measure.

    Used as the negative control of Lemma 2.1: its tilted mean is  scale * tanh(scale * a)  per coordinate,
    not affine in a.

    >>> sorted(set(Rademacher(2, 0.5).sample(50, seed=0).ravel().tolist()))
    [-0.5, 0.5]
    """

    dim: int
    scale: float = 1.0

    def __post_init__(self):
        positive_int(self.dim, "dim")
        object.__setattr__(self, "scale", positive_float(self.scale, "scale"))

    def sample(self, n: int, seed) -> np.ndarray:
        n = positive_int(n, "n")
        rng = as_generator(seed)
        return self.scale * (2.0 * rng.integers(0, 2, size=(n, self.dim)) - 1.0)

    def atoms(self) -> tuple[np.ndarray, np.ndarray]:
        """All 2^d atoms and their (equal) weights: the measure exactly (d <= MAX_ATOM_DIM)."""
        if self.dim > MAX_ATOM_DIM:
            raise ValueError(f"dim: the 2^{self.dim} atoms exceed the limit of 2^{MAX_ATOM_DIM}; use sample()")
        grid = np.array(np.meshgrid(*[[-1.0, 1.0]] * self.dim, indexing="ij")).reshape(self.dim, -1).T
        return self.scale * grid, np.full(grid.shape[0], 0.5**self.dim)


@dataclass(frozen=True)
class Discrete:
    """A finitely supported measure  \\sum_i w_i \\delta_{x_i}  on R^d (``atoms`` n x d, ``weights`` summing to 1).

    A generic non-Gaussian law: with unequal weights and asymmetric atoms it has non-zero odd cumulants, so
    identities that hold for every measure (e.g. tilted mean = gradient of the log-MGF) can be told apart from
    Gaussian-only ones.

    >>> mu = Discrete([[0.0], [1.0], [3.0]], [0.5, 0.3, 0.2])
    >>> round(float(mu.mean[0]), 12), round(float(mu.cov[0, 0]), 12)
    (0.9, 1.29)
    >>> Discrete([[0.0], [1.0]], [0.5, 0.6])
    Traceback (most recent call last):
    ...
    ValueError: weights: expected non-negative weights summing to 1, got sum 1.1
    """

    points: np.ndarray
    weights: np.ndarray

    def __post_init__(self):
        x = as_matrix(self.points, "atoms")
        w = as_vector(self.weights, "weights", x.shape[0])
        if np.any(w < 0) or abs(w.sum() - 1.0) > 1e-12:
            raise ValueError(f"weights: expected non-negative weights summing to 1, got sum {w.sum():.3g}")
        object.__setattr__(self, "points", x)
        object.__setattr__(self, "weights", w)

    @property
    def dim(self) -> int:
        return self.points.shape[1]

    @property
    def mean(self) -> np.ndarray:
        return self.weights @ self.points

    @property
    def cov(self) -> np.ndarray:
        c = self.points - self.mean
        return (c * self.weights[:, None]).T @ c

    def sample(self, n: int, seed) -> np.ndarray:
        n = positive_int(n, "n")
        rng = as_generator(seed)
        return self.points[rng.choice(self.points.shape[0], size=n, p=self.weights)]

    def atoms(self) -> tuple[np.ndarray, np.ndarray]:
        """The atoms and their weights: the measure exactly."""
        return self.points, self.weights


def isotropic_gaussian(sigma: float, dim: int) -> "Gaussian":
    """The centred isotropic Gaussian  N(0, \\sigma^2 I_d)  (\\sigma-sub-Gaussian, the prompt law of Prop 3.1's
    Gaussian case).

    >>> isotropic_gaussian(2.0, 2).cov.tolist()
    [[4.0, 0.0], [0.0, 4.0]]
    """
    from verify._validation import positive_float

    s = positive_float(sigma, "sigma")
    d = positive_int(dim, "dim")
    return Gaussian(np.zeros(d), s * s * np.eye(d))


@dataclass(frozen=True)
class UniformCube(_CentredIsotropic):
    """The uniform law on the cube  [-\\sigma\\sqrt3, \\sigma\\sqrt3]^d: centred, covariance \\sigma^2 I, and
    \\sigma-sub-Gaussian (per coordinate  E e^{\\lambda x} = \\sinh(c\\lambda)/(c\\lambda) <= e^{c^2\\lambda^2/6},
    c = \\sigma\\sqrt3).  A product measure: its exponential tilt factorises over coordinates.

    >>> mu = UniformCube(2, 1.5)
    >>> float(mu.half_width) == 1.5 * 3 ** 0.5, mu.sample(4, seed=0).shape
    (True, (4, 2))
    """

    dim: int
    scale: float = 1.0

    def __post_init__(self):
        from verify._validation import positive_float

        object.__setattr__(self, "dim", positive_int(self.dim, "dim"))
        object.__setattr__(self, "scale", positive_float(self.scale, "scale"))

    @property
    def half_width(self) -> float:
        return self.scale * 3.0**0.5

    def sample(self, n: int, seed) -> np.ndarray:
        n = positive_int(n, "n")
        rng = as_generator(seed)
        c = self.half_width
        return rng.uniform(-c, c, size=(n, self.dim))


@dataclass(frozen=True, init=False, eq=False)
class GaussianMixture:
    r"""A Gaussian mixture  \mu = \sum_k \pi_k N(m_k, \Gamma_k)  on R^d.  Two ways to build one:

    * ``GaussianMixture(weights, means, covs)``: ``weights`` (C,) positive and summing to 1 (to 1e-12), ``means``
      (C, d), ``covs`` (C, d, d) symmetric positive definite;
    * ``GaussianMixture(dim, scale=1.0, fraction=0.5, direction=None)``: the symmetric pair
      (1/2) N(m, s^2 I) + (1/2) N(-m, s^2 I)  with  m = \sigma\sqrt{f}\,e,  s^2 = (1 - f)\sigma^2  (\sigma = ``scale``,
      e a unit ``direction``, default (1,...,1)/\sqrt d, f = ``fraction`` in [0, 1)): centred, covariance
      s^2 I + m m^T, and \sigma-sub-Gaussian (E e^{<\lambda, x>} = e^{s^2|\lambda|^2/2}\cosh<m, \lambda>
      <= e^{(s^2 + |m|^2)|\lambda|^2/2} = e^{\sigma^2|\lambda|^2/2}).  Its ``center`` m and ``component_sd`` s are
      defined (``symmetric`` is True), and it is sampled by a random sign times m plus s G.

    >>> mu = GaussianMixture(2, 2.0)
    >>> np.round(mu.cov, 12).tolist(), mu.components, mu.symmetric
    ([[3.0, 1.0], [1.0, 3.0]], 2, True)
    >>> nu = GaussianMixture([0.25, 0.75], [[-1.0], [1.0]], [[[0.5]], [[1.0]]])
    >>> nu.mean.tolist(), nu.cov.round(12).tolist(), nu.sample(3, seed=0).shape
    ([0.5], [[1.625]], (3, 1))
    >>> GaussianMixture([0.5, 0.6], [[0.0], [1.0]], [[[1.0]], [[1.0]]])
    Traceback (most recent call last):
    ...
    ValueError: weights: must sum to 1, got 1.1
    """

    weights: np.ndarray
    means: np.ndarray
    covs: np.ndarray
    symmetric: bool = False
    scale: float | None = None
    fraction: float | None = None
    direction: tuple | None = None
    roots: tuple = field(default=(), repr=False)

    def __init__(self, *args, **kwargs):
        symmetric = "dim" in kwargs or (bool(args) and isinstance(args[0], (int, np.integer))
                                        and not isinstance(args[0], bool))
        if symmetric:
            self._symmetric_pair(*args, **kwargs)
        else:
            self._components(*args, **kwargs)

    def _set(self, **values):
        for k, v in values.items():
            object.__setattr__(self, k, v)

    def _symmetric_pair(self, dim, scale=1.0, fraction=0.5, direction=None):
        d = positive_int(dim, "dim")
        s = positive_float(scale, "scale")
        f = real(fraction, "fraction")  # a bool, None, a string or a complex number is a TypeError naming it
        if not 0.0 <= f < 1.0:
            raise ValueError(f"fraction: expected a number in [0, 1), got {fraction!r}")
        e = np.ones(d) if direction is None else as_vector(direction, "direction", d)
        if not np.linalg.norm(e) > 0:
            raise ValueError("direction: expected a non-zero vector")
        e = tuple(float(x) for x in e / np.linalg.norm(e))
        self._set(scale=s, fraction=f, direction=e, symmetric=True)
        m, sd = self.center, self.component_sd
        self._set(weights=np.array([0.5, 0.5]), means=np.stack([m, -m]), covs=np.stack([sd * sd * np.eye(d)] * 2),
                  roots=(sd * np.eye(d),) * 2)

    def _components(self, weights, means, covs):
        w = as_vector(weights, "weights")
        if np.any(w <= 0):
            raise ValueError(f"weights: must be positive, got {w.tolist()}")
        if abs(w.sum() - 1) > 1e-12:
            raise ValueError(f"weights: must sum to 1, got {w.sum():.6g}")
        means = as_array(means, "means", ndim=2)
        if means.shape[0] != w.shape[0]:
            raise ValueError(f"means: expected {w.shape[0]} rows (one per weight), got {means.shape[0]}")
        d = means.shape[1]
        covs = as_array(covs, "covs", ndim=3)
        if covs.shape != (w.shape[0], d, d):
            raise ValueError(f"covs: expected shape {(w.shape[0], d, d)}, got {covs.shape}")
        covs = np.stack([covariance(c, f"covs[{k}]", d) for k, c in enumerate(covs)])
        self._set(weights=w, means=means, covs=covs, roots=tuple(covariance_root(c) for c in covs), symmetric=False,
                  scale=None, fraction=None, direction=None)

    def _pair_only(self, name: str):
        if not self.symmetric:
            raise ValueError(f"{name}: defined for the symmetric pair GaussianMixture(dim, scale, fraction, direction) "
                             f"only")

    @property
    def dim(self) -> int:
        return len(self.direction) if self.symmetric else self.means.shape[1]

    @property
    def components(self) -> int:
        """The number C of components."""
        return self.weights.shape[0]

    @property
    def center(self) -> np.ndarray:
        """The symmetric pair's component mean m (the other component sits at -m)."""
        self._pair_only("center")
        return self.scale * self.fraction**0.5 * np.asarray(self.direction)

    @property
    def component_sd(self) -> float:
        """The symmetric pair's component standard deviation s."""
        self._pair_only("component_sd")
        return self.scale * (1.0 - self.fraction) ** 0.5

    @property
    def mean(self) -> np.ndarray:
        return np.zeros(self.dim) if self.symmetric else self.weights @ self.means

    def second_moment(self) -> np.ndarray:
        """E[X X^T] = \\sum_k \\pi_k (\\Gamma_k + m_k m_k^T)."""
        if self.symmetric:
            return self.cov
        return sum(p * (G + np.outer(m, m)) for p, m, G in zip(self.weights, self.means, self.covs))

    @property
    def cov(self) -> np.ndarray:
        if self.symmetric:
            m = self.center
            return self.component_sd**2 * np.eye(self.dim) + np.outer(m, m)
        return self.second_moment() - np.outer(self.mean, self.mean)

    def sample(self, n: int, seed) -> np.ndarray:
        """``n`` i.i.d. draws as an ``(n, d)`` array: a component label (the symmetric pair: a random sign), then a
        Gaussian."""
        n = positive_int(n, "n")
        rng = as_generator(seed)
        if self.symmetric:
            sign = 2.0 * rng.integers(0, 2, size=(n, 1)) - 1.0
            return sign * self.center + self.component_sd * rng.standard_normal((n, self.dim))
        labels = rng.choice(self.components, size=n, p=self.weights)
        g = rng.standard_normal((n, self.dim))
        out = np.empty((n, self.dim))
        for k in range(self.components):
            sel = labels == k
            out[sel] = self.means[k] + g[sel] @ self.roots[k].T
        return out


@dataclass(frozen=True)
class Empirical:
    """The empirical measure (1/L) \\sum_l \\delta_{z_l} of a prompt ``tokens`` (an L x d array).

    >>> mu = Empirical([[0.0, 1.0], [2.0, 3.0]])
    >>> mu.size, mu.dim, mu.tokens.mean(axis=0).tolist()
    (2, 2, [1.0, 2.0])
    """

    tokens: np.ndarray

    def __post_init__(self):
        t = as_matrix(self.tokens, "tokens")
        if t.shape[0] < 1:
            raise ValueError("tokens: a prompt needs L >= 1 tokens")
        object.__setattr__(self, "tokens", t)

    @property
    def dim(self) -> int:
        return self.tokens.shape[1]

    @property
    def size(self) -> int:
        return self.tokens.shape[0]


def covariance_root(cov: np.ndarray) -> np.ndarray:
    """A matrix B with B B^T = cov: Cholesky, or (semi-definite cov) the eigen-root V diag(sqrt(max(l, 0)))."""
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        vals, vecs = np.linalg.eigh(cov)
        return vecs * np.sqrt(np.clip(vals, 0.0, None))


def gaussian_mean_of_log_density(log_density, variables):
    r"""The mean of the Gaussian density  p(x) \propto e^{q(x)}  given its log-density q (SymPy, explicit entries).

    q must be a quadratic polynomial in ``variables`` (its Hessian H free of them), and then the mean is the
    mode, the solution of  \nabla q(x) = 0:  x^* = -H^{-1} \nabla q(0).  Whether H is negative definite
    (a normalisable density) is the caller's hypothesis.  Returns a column ``sp.Matrix``; ``ValueError`` when
    q is not quadratic or H is singular.

    >>> import sympy as sp
    >>> x, c, s = sp.symbols("x c s", positive=True)
    >>> gaussian_mean_of_log_density(-(x - c) ** 2 / (2 * s), [x])
    Matrix([[c]])
    >>> gaussian_mean_of_log_density(-x ** 4, [x])
    Traceback (most recent call last):
    ...
    ValueError: log_density: not quadratic in x (its Hessian depends on x)
    """
    import sympy as sp

    xs = list(variables)
    q = sp.sympify(log_density)
    if isinstance(q, sp.MatrixBase):
        if q.shape != (1, 1):
            raise ValueError(f"log_density: expected a scalar, got shape {q.shape}")
        q = q[0, 0]
    H = sp.hessian(q, xs)
    if any(e.has(*xs) for e in H):
        raise ValueError(f"log_density: not quadratic in {', '.join(map(str, xs))} (its Hessian depends on them)"
                         if len(xs) > 1 else f"log_density: not quadratic in {xs[0]} (its Hessian depends on {xs[0]})")
    g0 = sp.Matrix([sp.diff(q, v) for v in xs]).xreplace({v: 0 for v in xs})
    if H.det() == 0:
        raise ValueError("log_density: singular Hessian, not a Gaussian density")
    return (-H.LUsolve(g0)).applyfunc(sp.cancel)


def is_gaussian_mean_of_log_density(log_density, mean, variables, trials: int = 3, seed: int = 1) -> tuple[bool, str]:
    r"""Whether ``mean`` is the mean of the Gaussian density  p \propto e^{q}, q = ``log_density``: q is quadratic in
    ``variables`` (Hessian H free of them), H is non-singular, and  \nabla q(mean) = 0  -- the unique stationary
    point of a quadratic is its mode, which for a Gaussian is the mean.  The same statement as
    :func:`gaussian_mean_of_log_density` without solving the linear system (cheap when H = -\Gamma^{-1} has
    symbolic entries).  A false ``mean`` is refuted at random rational values of the other symbols.

    Returns ``(ok, detail)`` (a :func:`verify.kernel.derivation.relation` test).

    >>> import sympy as sp
    >>> x, c = sp.symbols("x c")
    >>> is_gaussian_mean_of_log_density(-(x - c) ** 2 / 2, [c], [x])[0], is_gaussian_mean_of_log_density(-(x - c) ** 2 / 2, [2 * c], [x])[0]
    (True, False)
    """
    import random

    import sympy as sp

    xs = list(variables)
    q = sp.sympify(log_density)
    if isinstance(q, sp.MatrixBase):
        q = q[0, 0]
    mu = list(mean)
    if len(mu) != len(xs):
        raise ValueError(f"mean: expected {len(xs)} entries, got {len(mu)}")
    H = sp.hessian(q, xs)
    if any(e.has(*xs) for e in H):
        return False, "not quadratic: the Hessian depends on the variables"
    at = {v: c for v, c in zip(xs, mu)}
    grad = [sp.diff(q, v).xreplace(at) for v in xs]
    rng = random.Random(seed)
    free = sorted(set().union(*(sp.sympify(g).free_symbols for g in grad), *(e.free_symbols for e in H)), key=str)
    for _ in range(trials):
        point = {s: sp.Rational(rng.randint(-7, 7) or 1, rng.randint(1, 5)) for s in free}
        try:
            values = [sp.nsimplify(g.xreplace(point)) for g in grad]
        except ZeroDivisionError:
            continue
        bad = [k for k, v in enumerate(values) if v != 0]
        if bad:
            return False, f"gradient at the claimed mean is not 0 (coordinate {bad[0]} at a random rational point)"
    if not all(g == 0 or sp.cancel(sp.together(g)) == 0 for g in grad):
        return False, "gradient at the claimed mean does not simplify to 0"
    point = {s: sp.Rational(rng.randint(-7, 7) or 1, rng.randint(1, 5)) for s in free}
    try:
        nonsingular = H.xreplace(point).det() != 0
    except ZeroDivisionError:
        nonsingular = False
    if not nonsingular and H.det() == 0:
        return False, "singular Hessian: not a Gaussian density"
    return True, f"quadratic in {len(xs)} variables, non-singular Hessian, gradient 0 at the mean"

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

from .validation import as_matrix, as_vector, covariance, positive_int

__all__ = ["Gaussian", "Rademacher", "Empirical", "as_generator", "covariance_root"]


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
    """

    mean: np.ndarray
    cov: np.ndarray
    allow_singular: bool = False
    root: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self):
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


@dataclass(frozen=True)
class Rademacher:
    """The product of ``dim`` symmetric \\pm ``scale`` coins: a sub-Gaussian, non-Gaussian measure.

    Used as the negative control of Lemma 2.1: its tilted mean is  scale * tanh(scale * a)  per coordinate,
    not affine in a.
    """

    dim: int
    scale: float = 1.0

    def __post_init__(self):
        positive_int(self.dim, "dim")

    @property
    def mean(self) -> np.ndarray:
        return np.zeros(self.dim)

    @property
    def cov(self) -> np.ndarray:
        return self.scale**2 * np.eye(self.dim)

    def sample(self, n: int, seed) -> np.ndarray:
        n = positive_int(n, "n")
        rng = as_generator(seed)
        return self.scale * (2.0 * rng.integers(0, 2, size=(n, self.dim)) - 1.0)

    def atoms(self) -> tuple[np.ndarray, np.ndarray]:
        """All 2^d atoms and their (equal) weights: the measure exactly."""
        grid = np.array(np.meshgrid(*[[-1.0, 1.0]] * self.dim, indexing="ij")).reshape(self.dim, -1).T
        return self.scale * grid, np.full(grid.shape[0], 0.5**self.dim)


@dataclass(frozen=True)
class Empirical:
    """The empirical measure (1/L) \\sum_l \\delta_{z_l} of a prompt ``tokens`` (an L x d array)."""

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

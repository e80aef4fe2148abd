"""Monte Carlo estimates that carry their standard error.

An :class:`Estimate` is a sample mean with its standard error  s / sqrt(n).  A statistical check
compares it to a reference through the z-score  (mean - reference) / stderr  and passes when
|z| <= 5 (the house default), printing the z it saw.

>>> import numpy as np
>>> est = mean_estimate(np.array([1.0, 2.0, 3.0, 4.0]))
>>> est.mean, round(est.stderr, 6), est.n
(2.5, 0.645497, 4)
>>> round(est.z(2.0), 4)
0.7746
>>> mean_estimate([1.0])
Traceback (most recent call last):
...
ValueError: samples: need at least 2 samples for a standard error, got 1
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

from .validation import as_array

__all__ = ["Estimate", "mean_estimate", "stream", "DEFAULT_Z"]

DEFAULT_Z = 5.0
"""Default threshold of every statistical check, in standard errors."""


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo mean with its standard error and sample count."""

    mean: float
    stderr: float
    n: int

    def z(self, reference: float) -> float:
        """(mean - reference) / stderr; infinite when the estimate is exact but wrong."""
        diff = self.mean - float(reference)
        if self.stderr == 0.0:
            return 0.0 if diff == 0.0 else math.copysign(math.inf, diff)
        return diff / self.stderr

    def interval(self, z: float = 1.96) -> tuple[float, float]:
        """The symmetric confidence interval  mean +- z * stderr."""
        return self.mean - z * self.stderr, self.mean + z * self.stderr

    def __sub__(self, other: "Estimate") -> "Estimate":
        """Difference of two *independent* estimates (standard errors add in quadrature)."""
        return Estimate(self.mean - other.mean, math.hypot(self.stderr, other.stderr), min(self.n, other.n))

    def __str__(self) -> str:
        return f"{self.mean:.6g} +- {self.stderr:.2g} (n={self.n})"


def mean_estimate(samples) -> Estimate:
    """The sample mean of i.i.d. ``samples`` with standard error  std(ddof=1) / sqrt(n)."""
    x = as_array(samples, "samples").ravel()
    if x.size < 2:
        raise ValueError(f"samples: need at least 2 samples for a standard error, got {x.size}")
    return Estimate(float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size)), int(x.size))


def stream(seed: int, *key: str | int) -> np.random.Generator:
    """An independent, reproducible generator for ``key`` under a master ``seed``.

    Streams are derived with ``SeedSequence([seed, crc32(key)...])``, so a check always sees the same
    bits for the same seed whatever else runs before it.

    >>> a = stream(0, "lemma-2.1", "mc").standard_normal(3)
    >>> b = stream(0, "lemma-2.1", "mc").standard_normal(3)
    >>> bool((a == b).all())
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise TypeError(f"seed: expected a non-negative int, got {seed!r}")
    words = [int(seed)] + [zlib.crc32(str(k).encode()) for k in key]
    return np.random.default_rng(np.random.SeedSequence(words))

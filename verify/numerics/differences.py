r"""Finite differences: gradients and Hessians of black-box functions, with optional Richardson extrapolation.

* :func:`central_difference` -- the gradient of a scalar function of an array, entry by entry,

      \partial f / \partial X_k \approx D_h = (f(X + h e_k) - f(X - h e_k)) / (2h)            (error O(h^2 f''')),

  or with ``richardson`` the extrapolation (4 D_{h/2} - D_h) / 3 (error O(h^4 f^{(5)}): exact up to rounding
  when f is a polynomial of degree <= 4 in each entry);
* :func:`hessian_fd` -- the Hessian of a function from its gradient, column k by the same central difference
  of the gradient (Richardson by default), symmetrised (H + H^T) / 2.

Neither function knows what it differentiates: a reference built from them never sees a closed form of the
derivative it is compared with.

>>> import numpy as np
>>> central_difference(lambda X: float((X ** 3).sum()), np.array([1.0, 2.0]), h=1e-4).round(6).tolist()
[3.0, 12.0]
>>> central_difference(lambda X: float((X ** 4).sum()), np.array([1.0]), h=0.5, richardson=True).tolist()
[4.0]
>>> hessian_fd(lambda x: np.array([3 * x[0] ** 2 * x[1], x[0] ** 3]), [1.0, 2.0]).round(10).tolist()
[[12.0, 3.0], [3.0, 0.0]]
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from verify._validation import as_array, positive_float

__all__ = ["central_difference", "hessian_fd"]


def central_difference(f: Callable[[np.ndarray], float], X, h=1e-5, name: str = "X",
                       richardson: bool = False) -> np.ndarray:
    r"""Gradient of a scalar function by central differences, entry by entry (same shape as ``X``):

        \partial f / \partial X_{ij} \approx (f(X + h E_{ij}) - f(X - h E_{ij})) / (2h)      (error O(h^2 f''')),

    with ``richardson`` each entry is (4 D_{h/2} - D_h) / 3 (error O(h^4 f^{(5)})).  ``name`` names ``X`` in
    error messages.

    >>> central_difference(lambda X: 0.0, np.array([np.nan]))
    Traceback (most recent call last):
    ...
    ValueError: X: contains NaN or infinite entries
    >>> central_difference(3.0, [1.0])
    Traceback (most recent call last):
    ...
    TypeError: f: expected a callable, got float
    """
    if not callable(f):
        raise TypeError(f"f: expected a callable, got {type(f).__name__}")
    X = as_array(X, name)
    h = positive_float(h, "h")
    G = np.zeros_like(X)
    flat = G.reshape(-1)

    def D(k: int, step: float) -> float:
        Xp = X.copy().reshape(-1)
        Xm = X.copy().reshape(-1)
        Xp[k] += step
        Xm[k] -= step
        return (float(f(Xp.reshape(X.shape))) - float(f(Xm.reshape(X.shape)))) / (2.0 * step)

    for k in range(X.size):
        flat[k] = (4.0 * D(k, h / 2.0) - D(k, h)) / 3.0 if richardson else D(k, h)
    return G


def hessian_fd(grad: Callable[[np.ndarray], np.ndarray], x, h=1e-3, richardson: bool = True) -> np.ndarray:
    r"""Hessian of a function from its gradient by central differences, symmetrised (H + H^T)/2.

    Column k is D_h = (g(x + h e_k) - g(x - h e_k)) / (2h); with ``richardson`` it is (4 D_{h/2} - D_h) / 3,
    whose error is O(h^4 g^{(5)}): exact (up to rounding) when g is a polynomial of degree <= 4.

    >>> hessian_fd(lambda x: x, [[1.0]])
    Traceback (most recent call last):
    ...
    ValueError: x: expected a 1-d array, got shape (1, 1)
    >>> hessian_fd(lambda x: np.zeros(3), [1.0, 2.0])
    Traceback (most recent call last):
    ...
    ValueError: grad: expected a gradient of shape (2,), got (3,)
    """
    if not callable(grad):
        raise TypeError(f"grad: expected a callable, got {type(grad).__name__}")
    x = as_array(x, "x", ndim=1)
    h = positive_float(h, "h")
    n = x.size

    def column(k: int, step: float) -> np.ndarray:
        xp, xm = x.copy(), x.copy()
        xp[k] += step
        xm[k] -= step
        gp = np.asarray(grad(xp), dtype=float)
        gm = np.asarray(grad(xm), dtype=float)
        if gp.shape != (n,):
            raise ValueError(f"grad: expected a gradient of shape ({n},), got {gp.shape}")
        return (gp - gm) / (2.0 * step)

    H = np.empty((n, n))
    for k in range(n):
        Dh = column(k, h)
        H[:, k] = (4.0 * column(k, h / 2.0) - Dh) / 3.0 if richardson else Dh
    return (H + H.T) / 2.0

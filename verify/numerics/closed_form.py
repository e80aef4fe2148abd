r"""A SymPy closed form evaluated numerically: how a statement's formula, written once, becomes numbers.

A closed form is a SymPy expression of matrix symbols (``MatrixSymbol``: ``*`` the matrix product, ``.T`` the
transpose, ``.I`` the inverse, ``Trace`` of a 1 x 1 product for a scalar such as a^T m) and scalar symbols
(``Symbol``), with ``exp``, powers and rationals.  It is compiled once per (expression, symbols, backend) by
:func:`sympy.lambdify` into

* mpmath at ``dps`` digits: :func:`evaluate_closed_form` (the subject of quadrature and certified checks);
* numpy float64: :func:`float_closed_form` / :func:`evaluate_closed_form_float` (the subject of float64 and Monte Carlo checks, and the
  reference a hand-written fast kernel is checked against).

Values are given by symbol name; a column symbol (n x 1) takes a 1-d array (or an n x k array: k columns at once
in numpy, where the expression is linear in it), a matrix symbol a 2-d array, a scalar symbol a number.

>>> import sympy as sp
>>> d = sp.Symbol("d", integer=True, positive=True)
>>> A, x, c = sp.MatrixSymbol("A", d, d), sp.MatrixSymbol("x", d, 1), sp.Symbol("c")
>>> values = {"A": [[2.0, 0.0], [0.0, 4.0]], "x": [1.0, 1.0], "c": 0.5}
>>> print(evaluate_closed_form(x.T * A * x / 2, [A, x], values, dps=20))
[3.0]
>>> evaluate_closed_form_float(c * sp.exp(sp.Trace(x.T * A * x)) * x, [A, x, c], values).round(6).tolist()
[201.714397, 201.714397]
"""

from __future__ import annotations

import functools
from typing import Callable

import mpmath
import numpy as np
from mpmath import mp

__all__ = ["evaluate_closed_form", "evaluate_closed_form_float", "float_closed_form", "compiled_closed_form"]


def _trace(X):
    """The trace of an mpmath matrix (or a number, its own trace)."""
    if isinstance(X, mpmath.matrix):
        return mpmath.fsum(X[i, i] for i in range(X.rows))
    return X


def _printer(backend: str):
    from sympy.printing.numpy import NumPyPrinter
    from sympy.printing.pycode import MpmathPrinter

    if backend == "numpy":
        class Printer(NumPyPrinter):
            def _print_Trace(self, expr):
                return f"numpy.trace({self._print(expr.arg)})"
    else:
        class Printer(MpmathPrinter):
            def _print_Trace(self, expr):
                return f"_trace({self._print(expr.arg)})"
    return Printer


@functools.lru_cache(maxsize=256)
def compiled_closed_form(expr, symbols: tuple, backend: str = "mpmath"):
    """``expr`` compiled by :func:`sympy.lambdify` into a function of the ``symbols`` (in that order) for the
    ``backend`` "mpmath" or "numpy"; compiled once per (expr, symbols, backend)."""
    import sympy as sp

    if backend not in ("mpmath", "numpy"):
        raise ValueError(f"backend: expected 'mpmath' or 'numpy', got {backend!r}")
    modules = [{"_trace": _trace, "mpmath": mpmath}, "mpmath"] if backend == "mpmath" else "numpy"
    return sp.lambdify(list(symbols), expr, modules=modules, printer=_printer(backend))


def _is_column(symbol) -> bool:
    return getattr(symbol, "is_Matrix", False) and symbol.shape[1] == 1


def evaluate_closed_form(expr, symbols, values: dict, dps: int = 40):
    r"""``expr`` (SymPy, in the ``symbols``) at numeric ``values`` in ``dps``-digit mpmath.

    ``values`` maps each symbol's name to a float array, an mpmath matrix or a number; float inputs are converted
    exactly; vectors become columns.  Computed at ``dps`` + 10 digits, returned rounded to ``dps``, as an mpmath
    matrix (a scalar is returned as a 1 x 1 matrix).
    """
    fn = compiled_closed_form(expr, tuple(symbols), "mpmath")
    with mp.workdps(dps + 10):
        args = []
        for s in symbols:
            v = values[s.name]
            if not getattr(s, "is_Matrix", False):
                v = v if isinstance(v, mpmath.mpf) else mp.mpf(float(v))
            elif not isinstance(v, mpmath.matrix):
                arr = np.asarray(v, dtype=float)
                arr = arr[:, None] if arr.ndim == 1 else arr
                v = mpmath.matrix([[mp.mpf(float(t)) for t in row] for row in arr])
            args.append(v)
        out = fn(*args)
        out = out if isinstance(out, mpmath.matrix) else mpmath.matrix([[out]])
    with mp.workdps(dps):
        return out * 1


def float_closed_form(expr, symbols) -> Callable[[dict], np.ndarray]:
    r"""``expr`` (SymPy, in the ``symbols``) compiled once for numpy float64: a function of the values (a dict by
    symbol name, extra keys ignored).

    A 1-d value of a column symbol is taken as a column; a result with one column is returned as a vector, a
    1 x 1 result as a vector of length 1, a matrix as is.
    """
    symbols = tuple(symbols)
    plan = [(s.name, getattr(s, "is_Matrix", False), _is_column(s)) for s in symbols]
    compiled = []  # compiled at the first call: building a statement compiles nothing

    def evaluate(values: dict) -> np.ndarray:
        if not compiled:
            compiled.append(compiled_closed_form(expr, symbols, "numpy"))
        fn = compiled[0]
        args = []
        for name, matrix, column in plan:
            v = values[name]
            if matrix:
                v = np.asarray(v, dtype=float)
                if column and v.ndim == 1:
                    v = v[:, None]
            else:
                v = float(v)
            args.append(v)
        out = np.asarray(fn(*args), dtype=float)
        return out[:, 0] if out.ndim == 2 and out.shape[1] == 1 else out

    return evaluate


def evaluate_closed_form_float(expr, symbols, values: dict) -> np.ndarray:
    """``expr`` at ``values`` in numpy float64 (:func:`float_closed_form`, compiled once per expression)."""
    return float_closed_form(expr, symbols)(values)

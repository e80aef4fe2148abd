"""Checking a user's candidate closed form against an independent reference.

``verify claim ID --formula "EXPR"`` parses EXPR in SymPy's syntax (``*`` is the matrix product,
``.T`` the transpose, ``**-1`` or ``.I`` the inverse, ``trace(...)``, ``sqrt(...)``), evaluates it at
the claim's random parameter points in 40-digit arithmetic, and compares it with the reference value of
the *definition* at those points (quadrature, never the paper's formula).  Equivalent rewritings are
accepted, wrong ones rejected, with the worst relative discrepancy reported.

Evaluation uses :class:`Value`, a tiny exact-shape matrix algebra over mpmath numbers in which a 1 x 1
product (a quadratic form such as ``u.T*Sigma*u``) is a scalar, so scalar formulas read as on paper.

>>> from mpmath import mp, mpf, matrix
>>> with mp.workdps(30):
...     ns = {"A": Value(matrix([[1, 2], [3, 4]])), "x": Value(matrix([[1], [1]]))}
...     str(evaluate("x.T*A*x + trace(A)", ns))
'15.0'
>>> with mp.workdps(30):
...     evaluate("A + x", ns)
Traceback (most recent call last):
...
ValueError: formula: cannot add shapes (2, 2) and (2, 1)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable, Sequence

import mpmath
import sympy as sp
from mpmath import mp
from tokenize import TokenError
from sympy.parsing.sympy_parser import (
    convert_xor,
    parse_expr,
    standard_transformations,
)

__all__ = ["Value", "evaluate", "ClaimSpec", "ClaimPoint", "Verdict", "check_formula", "relative_error",
           "agreeing_digits", "mp_matrix"]


class Value:
    """A number or a matrix of mpmath numbers with its shape; 1 x 1 matrices collapse to scalars."""

    __slots__ = ("v",)

    def __init__(self, v):
        if isinstance(v, mpmath.matrix):
            if v.rows == 1 and v.cols == 1:
                v = v[0, 0]
        elif isinstance(v, Value):
            v = v.v
        elif isinstance(v, sp.Basic):
            if not v.is_number:
                raise ValueError(f"formula: unknown symbol(s) {', '.join(sorted(map(str, v.free_symbols))) or v}")
            v = mp.mpmathify(sp.N(v, mp.dps + 10))
        else:
            v = mp.mpmathify(v)
        self.v = v

    def __repr__(self) -> str:
        return f"Value({self.v!r})"

    def __str__(self) -> str:
        return str(self.v)

    # -- shape -------------------------------------------------------------------------------------
    @property
    def is_scalar(self) -> bool:
        return not isinstance(self.v, mpmath.matrix)

    @property
    def shape(self) -> tuple:
        return () if self.is_scalar else (self.v.rows, self.v.cols)

    def _sympy_(self):  # keeps SymPy numbers from swallowing us: they defer to our reflected ops
        raise sp.SympifyError(self)

    @staticmethod
    def _coerce(other) -> "Value":
        return other if isinstance(other, Value) else Value(other)

    # -- arithmetic --------------------------------------------------------------------------------
    def __add__(self, other):
        o = self._coerce(other)
        if self.shape != o.shape:
            raise ValueError(f"formula: cannot add shapes {self.shape or 'scalar'} and {o.shape or 'scalar'}")
        return Value(self.v + o.v)

    __radd__ = __add__

    def __sub__(self, other):
        return self + (-self._coerce(other))

    def __rsub__(self, other):
        return self._coerce(other) + (-self)

    def __neg__(self):
        return Value(-self.v)

    def __pos__(self):
        return self

    def __mul__(self, other):
        o = self._coerce(other)
        if not self.is_scalar and not o.is_scalar and self.shape[1] != o.shape[0]:
            raise ValueError(f"formula: cannot multiply shapes {self.shape} and {o.shape}")
        return Value(self.v * o.v)

    def __rmul__(self, other):
        return self._coerce(other) * self

    def __truediv__(self, other):
        o = self._coerce(other)
        if not o.is_scalar:
            raise ValueError(f"formula: cannot divide by a matrix of shape {o.shape}; use **-1")
        return Value(self.v / o.v)

    def __rtruediv__(self, other):
        return self._coerce(other) * self ** -1

    def __pow__(self, k):
        k = self._coerce(k)
        if self.is_scalar:
            return Value(self.v ** k.v)
        if self.shape[0] != self.shape[1]:
            raise ValueError(f"formula: cannot raise a non-square matrix of shape {self.shape} to a power")
        if not k.is_scalar or k.v != int(k.v):
            raise ValueError("formula: a matrix power must be an integer")
        n = int(k.v)
        base = self.v if n >= 0 else mpmath.inverse(self.v)
        out = mpmath.eye(self.shape[0])
        for _ in range(abs(n)):
            out = out * base
        return Value(out)

    def __rpow__(self, base):
        return self._coerce(base) ** self

    @property
    def T(self):
        return self if self.is_scalar else Value(self.v.T)

    @property
    def I(self):  # noqa: E743 - SymPy's spelling of the inverse
        return self ** -1

    def inv(self):
        return self ** -1

    inverse = inv

    def transpose(self):
        return self.T


def _trace(x) -> Value:
    x = Value._coerce(x)
    if x.is_scalar:
        return x
    if x.shape[0] != x.shape[1]:
        raise ValueError(f"formula: trace of a non-square matrix of shape {x.shape}")
    return Value(mpmath.fsum(x.v[i, i] for i in range(x.shape[0])))


def _sqrt(x) -> Value:
    x = Value._coerce(x)
    if not x.is_scalar:
        raise ValueError("formula: sqrt applies to scalars only")
    return Value(mpmath.sqrt(x.v))


FUNCTIONS = {"trace": _trace, "tr": _trace, "sqrt": _sqrt, "Trace": _trace}

_TRANSFORMS = standard_transformations + (convert_xor,)

# What SymPy's parser emits for literals and unknown names; no builtins, so a formula cannot call out.
_PARSER_GLOBALS = {"Integer": sp.Integer, "Float": sp.Float, "Rational": sp.Rational, "Symbol": sp.Symbol,
                   "Function": sp.Function, "__builtins__": {}}


def evaluate(formula: str, namespace: dict) -> Value:
    """Evaluate ``formula`` with the :class:`Value` objects of ``namespace`` (at the current precision)."""
    if not isinstance(formula, str):
        raise TypeError(f"formula: expected a string, got {type(formula).__name__}")
    if not formula.strip():
        raise ValueError("formula: empty")
    local = dict(FUNCTIONS)
    local.update(namespace)
    try:
        out = parse_expr(formula, local_dict=local, global_dict=dict(_PARSER_GLOBALS), transformations=_TRANSFORMS)
    except sp.SympifyError:
        raise ValueError(f"formula: could not evaluate {formula!r}: supported are + - * / **, .T, .I, "
                         f"{', '.join(sorted(FUNCTIONS))}() and the symbols {', '.join(sorted(namespace))}") from None
    except ValueError as exc:
        msg = str(exc)
        raise ValueError(msg if msg.startswith("formula:") else f"formula: {msg}") from None
    except (SyntaxError, TypeError, AttributeError, NameError, sp.SympifyError, TokenError) as exc:
        raise ValueError(f"formula: could not parse {formula!r} ({type(exc).__name__}: {exc})") from None
    if isinstance(out, sp.Basic) and not out.is_number:
        raise ValueError(f"formula: unknown symbol(s) {', '.join(sorted(map(str, out.free_symbols)))}; "
                         f"known: {', '.join(sorted(namespace))}")
    return Value._coerce(out)


@dataclass(frozen=True)
class ClaimPoint:
    """One parameter point: the dimension, the numeric values of the symbols, the reference value."""

    dim: int
    values: dict
    reference: object  # mpmath matrix (vector) or mpf


@dataclass(frozen=True)
class ClaimSpec:
    """What ``verify claim ID`` needs: the symbols, the expected shape, and reference points.

    ``points(seed)`` returns :class:`ClaimPoint`s whose reference is computed from the *definition*
    (quadrature), independently of any closed form.
    """

    id: str
    statement_id: str
    summary: str
    symbols_help: str
    example: str
    expected_shape: Callable[[int], tuple]
    points: Callable[[int], Sequence[ClaimPoint]]
    tolerance: float = 1e-20
    dps: int = 40
    wrong_examples: Sequence[str] = field(default_factory=tuple)


@dataclass(frozen=True)
class Verdict:
    claim_id: str
    formula: str
    accepted: bool
    worst_error: float
    tolerance: float
    n_points: int
    worst_dim: int
    detail: str = ""

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def mp_matrix(array) -> mpmath.matrix:
    """An mpmath matrix from a float array (exact conversion; a 1-d array becomes a column)."""
    import numpy as np

    a = np.asarray(array, dtype=float)
    if a.ndim == 1:
        a = a[:, None]
    return mpmath.matrix([[mp.mpf(float(x)) for x in row] for row in a])


def relative_error(value, reference) -> mpmath.mpf:
    """max_i |value_i - ref_i| / max(1, max_i |ref_i|)."""
    if isinstance(reference, mpmath.matrix):
        diffs = [abs(value[i] - reference[i]) for i in range(len(reference))]
        scale = max([mpmath.mpf(1)] + [abs(reference[i]) for i in range(len(reference))])
        return max(diffs) / scale
    return abs(value - reference) / max(mpmath.mpf(1), abs(reference))


def agreeing_digits(value, reference, cap: float | None = None) -> float:
    """Significant digits of agreement:  -log10(relative_error), capped at ``cap`` (default: mp.dps).

    >>> from mpmath import mpf
    >>> agreeing_digits(mpf("1.0000001"), mpf(1))
    7.0
    """
    err = relative_error(value, reference)
    top = float(mp.dps if cap is None else cap)
    if err == 0:
        return top
    return min(top, round(float(-mpmath.log10(err)), 2))


def _as_column(v: Value, shape: tuple):
    if shape == ():
        if not v.is_scalar:
            raise ValueError(f"formula: expected a scalar, got shape {v.shape}")
        return v.v
    if shape == (1, 1):  # at d = 1 every matrix is 1 x 1 and collapses to a scalar
        return mpmath.matrix([[v.v]]) if v.is_scalar else v.v
    if v.shape != shape:
        raise ValueError(f"formula: expected shape {shape}, got {v.shape or 'scalar'}")
    return v.v


@functools.lru_cache(maxsize=16)
def _cached_points(spec_id: str, points: Callable, seed: int):
    return tuple(points(seed))


def check_formula(spec: ClaimSpec, formula: str, seed: int = 0) -> Verdict:
    """Evaluate ``formula`` at every reference point of ``spec``; accept when the worst error <= tolerance.

    Shape and parse errors raise ``ValueError`` (the CLI exits 2); a well-formed wrong formula is a
    ``Verdict`` with ``accepted=False``.
    """
    pts = _cached_points(spec.id, spec.points, seed)
    worst, worst_dim = mpmath.mpf(0), 0
    with mp.workdps(spec.dps):
        for pt in pts:
            ns = {k: Value(v) for k, v in pt.values.items()}
            try:
                val = _as_column(evaluate(formula, ns), spec.expected_shape(pt.dim))
            except ValueError as exc:
                raise ValueError(f"{exc} (at d={pt.dim})") from None
            err = relative_error(val, pt.reference)
            if err > worst or worst_dim == 0:
                worst, worst_dim = err, pt.dim
        worst_f = float(worst)
    accepted = worst_f <= spec.tolerance
    return Verdict(spec.id, formula, accepted, worst_f, spec.tolerance, len(pts), worst_dim,
                   f"worst relative discrepancy {worst_f:.3g} at d={worst_dim} over {len(pts)} points")

r"""Deciding a claim: is a user's formula *equal* to the statement's closed form, for every dimension?

:func:`decide` compares two formulas of the claim grammar (:mod:`verify.kernel.formula`) exactly and returns a
:class:`Decision` with one of three verdicts:

* **EQUAL (proved)** -- the difference f - g vanishes identically.  Both are evaluated *exactly* (python-flint
  rationals) at random integer points; f - g is a rational function of the sampled entries whose numerator has total
  degree at most D (:func:`degree_bound`, computed from the formula trees).  By the Schwartz-Zippel lemma a nonzero
  numerator vanishes at a point drawn uniformly from S^n with probability at most D/|S|; the difference vanishes at
  k independent points, so a false EQUAL has probability at most (D/|S|)^k, stated in the decision.  The points are
  taken at every dimension d = 1..d*, with d* above the degree of the formula as a matrix polynomial, so that
  Cayley-Hamilton-type identities that hold only for small d (a trace polynomial of degree k vanishes for d < k)
  cannot pass.  Non-polynomial parts are handled by exact rules and independent atoms: exp of a sum is the product
  of exps, exp(log x) = x, exp(-x) = 1/exp(x), a rational that is a perfect q-th power has an exact q-th root;
  every other exp(x), log(x) or x^{p/q} becomes an atom (a new variable, one per distinct argument value),
  raised to the integer power p.  An identity of rational functions in independent atoms holds a fortiori for the
  actual functions, so EQUAL stays a proof.
* **DIFFERENT** -- a counterexample: an exact point (the dimension and every symbol as integers or rationals, which
  :meth:`Counterexample.to_json` writes and :meth:`Counterexample.from_json` reads back) and a certified Arb
  enclosure of the difference that excludes 0, the working precision raised until it does (e.g. an added
  exp(-100000) V Gamma m needs about 150,000 bits).  The smallest dimension and small entries are tried first, so
  the counterexample is as small as the search finds.
* **UNDECIDED** -- neither route concluded within the budget (relations among atoms that the rules do not know,
  an enclosure that keeps containing 0 up to the precision cap, a dimension above the cap).  Never an acceptance.

>>> domains = {"A": "matrix", "x": "vector"}
>>> shape = lambda d: (d, 1)
>>> decide("A*(A*x)", "A**2*x", domains, shape).verdict
'EQUAL'
>>> bad = decide("A.T*A*x", "A**2*x", domains, shape)
>>> bad.verdict, bad.counterexample.dim
('DIFFERENT', 2)
>>> decide("x + exp(-100000)*A*x", "x", domains, shape).verdict
'DIFFERENT'
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from verify.kernel.formula import compile_formula

__all__ = ["DOMAINS", "Decision", "Counterexample", "decide", "degree_bound", "matrix_degree", "sample_point",
           "difference_enclosure"]

DOMAINS = {
    "matrix": "d x d, every entry free",
    "symmetric": "d x d symmetric",
    "spd": "d x d symmetric positive definite (L L^T + I, L lower triangular)",
    "vector": "d x 1",
    "scalar": "a real number",
    "positive": "a positive real number",
    "integer": "a positive integer",
    "identity": "the d x d identity",
}
"""The kinds of symbol a claim declares (``ClaimSpec.domains``) and how a random exact point draws each."""

PROOF_RANGE = 2**20
"""Entries of the proof points are integers drawn uniformly from [-2^20, 2^20] (|S| = 2^21 + 1)."""
SMALL_RANGE = 3
"""Entries of the first points of each dimension, the counterexamples a reader can check by hand."""
PROOF_POINTS = 3
"""Independent proof points per dimension: a false EQUAL has probability <= (D/|S|)^3."""
MAX_DIM = 24
"""Counterexamples are searched up to this dimension; a formula whose degree as a matrix polynomial needs a larger d
for a proof of equality is UNDECIDED when no counterexample turns up."""
MIN_BITS, MAX_BITS = 64, 1 << 19
"""Arb working precision of a certificate: doubled from MIN_BITS until the enclosure excludes 0, at most MAX_BITS."""


class _Singular(ArithmeticError):
    """The point hits a pole (singular inverse, division by zero) or leaves a domain (log of a non-positive number):
    draw another point."""


# ------------------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class Counterexample:
    """An exact point where the formula and the closed form differ, with a certified enclosure of the difference.

    ``values`` maps each symbol to an exact value: a :class:`fractions.Fraction` for a scalar, a tuple of tuples of
    Fractions for a matrix or a column.  ``difference`` is the Arb enclosure of the entry of f - g farthest from 0,
    as a string; ``bits`` the precision at which it excluded 0; ``entry`` the (row, column) of that entry."""

    dim: int
    values: Mapping[str, object]
    difference: str
    bits: int
    entry: tuple = (0, 0)
    assumed: tuple = ()

    def to_json(self) -> dict:
        def enc(v):
            if isinstance(v, Fraction):
                return str(v)
            return [[str(x) for x in row] for row in v]

        return {"dim": self.dim, "values": {k: enc(v) for k, v in self.values.items()}, "difference": self.difference,
                "bits": self.bits, "entry": list(self.entry), "assumed": list(self.assumed)}

    @staticmethod
    def from_json(doc: Mapping) -> "Counterexample":
        """The counterexample written by :meth:`to_json` (rationals as "p/q" strings)."""
        if not isinstance(doc, Mapping) or "dim" not in doc or "values" not in doc:
            raise ValueError("counterexample: expected an object with 'dim' and 'values'")

        def dec(v):
            try:
                if isinstance(v, str):
                    return Fraction(v)
                return tuple(tuple(Fraction(x) for x in row) for row in v)
            except (TypeError, ValueError, ZeroDivisionError):
                raise ValueError(f"counterexample: {v!r} is not an exact rational or a matrix of them") from None

        dim = doc["dim"]
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"counterexample: dim must be a positive integer, got {dim!r}")
        return Counterexample(dim, {str(k): dec(v) for k, v in doc["values"].items()}, str(doc.get("difference", "")),
                              int(doc.get("bits", 0)), tuple(doc.get("entry", (0, 0))), tuple(doc.get("assumed", ())))


@dataclass(frozen=True)
class Decision:
    """The verdict of :func:`decide` and how it was reached."""

    verdict: str  # "EQUAL", "DIFFERENT" or "UNDECIDED"
    method: str
    detail: str
    degree: int | None = None
    dims: tuple = ()
    points: int = 0
    failure_probability: float | None = None
    counterexample: Counterexample | None = None
    seconds: float = 0.0
    assumed: tuple = ()

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "method": self.method, "detail": self.detail, "degree_bound": self.degree,
                "dims": list(self.dims), "points": self.points, "failure_probability": self.failure_probability,
                "counterexample": self.counterexample.to_json() if self.counterexample else None,
                "seconds": round(self.seconds, 4), "assumed": list(self.assumed)}


# ------------------------------------------------------------------------------------------ degrees


def _sym_degree(name: str, domains: Mapping[str, str], subs_deg: Mapping[str, tuple]) -> tuple[int, int]:
    if name in subs_deg:
        return subs_deg[name]
    kind = domains.get(name)
    if kind is None:
        raise ValueError(f"domains: symbol {name!r} has no declared domain")
    return {"identity": (0, 0), "spd": (2, 0)}.get(kind, (1, 0))


def _node_degree(node, dim: int, domains, subs_deg) -> tuple[int, int]:
    """(numerator, denominator) total-degree bounds of a value as a rational function of the sampled entries and
    atoms; the entries of a matrix share one denominator."""
    tag = node[0]
    if tag == "num":
        return (0, 0)
    if tag == "sym":
        return _sym_degree(node[1], domains, subs_deg)
    if tag == "neg" or tag == "T":
        return _node_degree(node[1], dim, domains, subs_deg)
    if tag == "sum":
        parts = [_node_degree(t, dim, domains, subs_deg) for _, t in node[1]]
        den = sum(d for _, d in parts)
        return (max(n + den - d for n, d in parts), den)
    if tag == "prod":
        n, d = _node_degree(node[1][0][1], dim, domains, subs_deg)
        for divide, f in node[1][1:]:
            fn, fd = _node_degree(f, dim, domains, subs_deg)
            if divide:
                fn, fd = _inverse_degree(fn, fd, dim)
            n, d = n + fn, d + fd
        return (n, d)
    if tag == "inv":
        return _inverse_degree(*_node_degree(node[1], dim, domains, subs_deg), dim)
    if tag == "pow":
        bn, bd = _node_degree(node[1], dim, domains, subs_deg)
        exponent = _static_exponent(node[2])
        if exponent is None or exponent.denominator != 1:
            return (1, 1)  # an atom x^{1/q} raised to an integer power: bounded below by the atom count
        k = int(exponent)
        if k < 0:
            bn, bd = _inverse_degree(bn, bd, dim)
        return (abs(k) * bn, abs(k) * bd)
    if tag == "fn":
        name = node[1]
        if name in ("trace", "tr", "Trace"):
            return _node_degree(node[2], dim, domains, subs_deg)
        if name in ("inverse", "inv"):
            return _inverse_degree(*_node_degree(node[2], dim, domains, subs_deg), dim)
        arg = node[2]
        terms = len(arg[1]) if (name == "exp" and arg[0] == "sum") else 1
        if name == "exp" and arg[0] == "fn" and arg[1] == "log":
            return _node_degree(arg[2], dim, domains, subs_deg)
        return (terms, terms)  # each atom a variable of degree 1, possibly inverted
    raise AssertionError(tag)  # pragma: no cover


def _inverse_degree(n: int, d: int, dim: int) -> tuple[int, int]:
    """M = P/q with deg P <= n, deg q <= d: M^{-1} = q adj(P) / det(P) (a scalar: q/P)."""
    return (d + max(dim - 1, 0) * n, max(dim, 1) * n)


def _static_exponent(node) -> Fraction | None:
    """The value of an exponent built from numbers only (e.g. -1, 2, (-1/4)); None when it involves a symbol."""
    tag = node[0]
    if tag == "num":
        return Fraction(node[1])
    if tag == "neg":
        k = _static_exponent(node[1])
        return None if k is None else -k
    if tag in ("sum", "prod"):
        out = Fraction(0 if tag == "sum" else 1)
        for flag, sub in node[1]:
            k = _static_exponent(sub)
            if k is None or (tag == "prod" and flag and k == 0):
                return None
            out = (out - k if flag else out + k) if tag == "sum" else (out / k if flag else out * k)
        return out
    if tag == "pow":
        b, e = _static_exponent(node[1]), _static_exponent(node[2])
        if b is None or e is None or e.denominator != 1 or abs(e) > 64 or (b == 0 and e < 0):
            return None
        return b ** int(e)
    return None


def degree_bound(trees: Sequence, dim: int, domains: Mapping[str, str], subs: Mapping[str, object] | None = None) -> int:
    """Total degree bound of the numerator of f - g for the trees (f, g) at dimension ``dim``: max(n_f + d_g, n_g + d_f)."""
    subs_deg: dict[str, tuple[int, int]] = {}
    for name, tree in (subs or {}).items():
        subs_deg[name] = _node_degree(tree, dim, domains, subs_deg)
    (nf, df), (ng, dg) = (_node_degree(t, dim, domains, subs_deg) for t in trees)
    return max(nf + dg, ng + df, 1)


def matrix_degree(node, domains: Mapping[str, str]) -> int:
    """The degree of a formula as a polynomial in its matrix symbols (inverses counted like their argument, the
    identity and scalars 0): a trace polynomial of this degree can vanish identically only below this dimension."""
    tag = node[0]
    if tag == "num":
        return 0
    if tag == "sym":
        return 0 if domains.get(node[1]) in ("scalar", "positive", "integer") else 1
    if tag in ("neg", "T", "inv"):
        return matrix_degree(node[1], domains)
    if tag == "sum":
        return max(matrix_degree(t, domains) for _, t in node[1])
    if tag == "prod":
        return sum(matrix_degree(f, domains) for _, f in node[1])
    if tag == "pow":
        k = _static_exponent(node[2])
        base = matrix_degree(node[1], domains)
        return base * (abs(int(k)) if k is not None and k.denominator == 1 else 1)
    if tag == "fn":
        return matrix_degree(node[2], domains)
    raise AssertionError(tag)  # pragma: no cover


# ------------------------------------------------------------------------------------------ exact evaluation


def _flint():
    import flint

    return flint


def _is_mat(x) -> bool:
    return hasattr(x, "nrows")


class _Exact:
    """Exact evaluation of a formula tree over python-flint rationals, with atoms for what is not rational."""

    def __init__(self, values: dict[str, Any], atom_value: Callable[[tuple], object]):
        self.f = _flint()
        self.values = values
        self.atom_value = atom_value

    def q(self, x):
        return self.f.fmpq(x.numerator, x.denominator) if isinstance(x, Fraction) else x

    def collapse(self, x):
        if _is_mat(x) and x.nrows() == 1 and x.ncols() == 1:
            return x[0, 0]
        return x

    def run(self, node):
        tag = node[0]
        if tag == "num":
            return self.q(node[1])
        if tag == "sym":
            return self.values[node[1]]
        if tag == "neg":
            return -self.run(node[1])
        if tag == "T":
            x = self.run(node[1])
            return x.transpose() if _is_mat(x) else x
        if tag == "inv":
            return self.inverse(self.run(node[1]))
        if tag == "sum":
            out = None
            for negate, term in node[1]:
                t = self.run(term)
                t = -t if negate else t
                out = t if out is None else self.add(out, t)
            return out
        if tag == "prod":
            out = None
            for divide, factor in node[1]:
                v = self.run(factor)
                out = v if out is None else (self.div(out, v) if divide else self.mul(out, v))
            return out
        if tag == "pow":
            return self.power(node[1], node[2])
        if tag == "fn":
            return self.function(node[1], node[2])
        raise AssertionError(tag)  # pragma: no cover

    def add(self, a, b):
        if _is_mat(a) != _is_mat(b) or (_is_mat(a) and (a.nrows(), a.ncols()) != (b.nrows(), b.ncols())):
            raise ValueError(f"formula: cannot add shapes {_shape(a) or 'scalar'} and {_shape(b) or 'scalar'}")
        return a + b

    def mul(self, a, b):
        if _is_mat(a) and _is_mat(b) and a.ncols() != b.nrows():
            raise ValueError(f"formula: cannot multiply shapes {_shape(a)} and {_shape(b)}")
        return self.collapse(a * b)

    def div(self, a, b):
        if _is_mat(b):
            if _is_mat(a):
                raise ValueError(f"formula: cannot divide by a matrix of shape {_shape(b)}; use **-1")
            return self.mul(a, self.inverse(b))
        if b == 0:
            raise _Singular("division by zero")
        return self.collapse(a * (1 / b)) if _is_mat(a) else a / b

    def inverse(self, a):
        if not _is_mat(a):
            if a == 0:
                raise _Singular("division by zero")
            return 1 / a
        if a.nrows() != a.ncols():
            raise ValueError(f"formula: cannot invert a non-square matrix of shape {_shape(a)}")
        try:
            return a.inv()
        except ZeroDivisionError:
            raise _Singular("singular matrix") from None

    def power(self, base_node, exp_node):
        k = self.run(exp_node)
        if _is_mat(k):
            raise ValueError(f"formula: an exponent must be a scalar, got shape {_shape(k)}")
        k = Fraction(int(k.p), int(k.q))
        if abs(k) > 64:
            raise ValueError(f"formula: exponent {float(k):.6g} is too large (|k| <= 64)")
        base = self.run(base_node)
        if k.denominator == 1:
            n = int(k)
            if _is_mat(base):
                if base.nrows() != base.ncols():
                    raise ValueError(f"formula: cannot raise a non-square matrix of shape {_shape(base)} to a power")
                b = self.inverse(base) if n < 0 else base
                out = self.f.fmpq_mat(b.nrows(), b.ncols(), [int(i == j) for i in range(b.nrows()) for j in range(b.ncols())])
                for _ in range(abs(n)):
                    out = out * b
                return self.collapse(out)
            if base == 0 and n < 0:
                raise _Singular("0 to a negative power")
            return base ** n
        if _is_mat(base):
            raise ValueError("formula: a matrix power must be an integer")
        return self.root(base, k.denominator) ** k.numerator if k > 0 else self.inverse(self.root(base, k.denominator) ** (-k.numerator))

    def root(self, x, q: int):
        """x^{1/q}: exact when x is a perfect q-th power, else an atom."""
        if x < 0:
            raise _Singular("a negative number to a non-integer power")
        if x == 0:
            return x
        p, r = self.f.fmpz(x.p), self.f.fmpz(x.q)
        a, b = p.root(q), r.root(q)
        if a ** q == p and b ** q == r:
            return self.f.fmpq(a, b)
        return self.atom(("root", q, x))

    def atom(self, key):
        return self.atom_value(key)

    def function(self, name: str, arg_node):
        if name in ("trace", "tr", "Trace"):
            x = self.run(arg_node)
            if not _is_mat(x):
                return x
            if x.nrows() != x.ncols():
                raise ValueError(f"formula: trace of a non-square matrix of shape {_shape(x)}")
            return sum((x[i, i] for i in range(x.nrows())), self.f.fmpq(0))
        if name in ("inverse", "inv"):
            return self.inverse(self.run(arg_node))
        if name == "sqrt":
            x = self._scalar(self.run(arg_node), "sqrt")
            return self.root(x, 2)
        if name == "log":
            if arg_node[0] == "fn" and arg_node[1] == "exp":
                return self._scalar(self.run(arg_node[2]), "log")
            x = self._scalar(self.run(arg_node), "log")
            if x <= 0:
                raise _Singular("log of a non-positive number")
            return self.f.fmpq(0) if x == 1 else self.atom(("log", x))
        if name == "exp":
            return self.exp(arg_node)
        raise AssertionError(name)  # pragma: no cover

    def exp(self, arg_node):
        """exp of a sum is the product of exps; exp(log x) = x; exp(-x) = 1/exp(x); other arguments are atoms keyed
        by their exact value."""
        if arg_node[0] == "sum":
            out = self.f.fmpq(1)
            for negate, term in arg_node[1]:
                e = self.exp(term)
                out = out / e if negate else out * e
            return out
        if arg_node[0] == "neg":
            return 1 / self.exp(arg_node[1])
        if arg_node[0] == "fn" and arg_node[1] == "log":
            x = self._scalar(self.run(arg_node[2]), "log")
            if x <= 0:
                raise _Singular("log of a non-positive number")
            return x
        x = self._scalar(self.run(arg_node), "exp")
        if x == 0:
            return self.f.fmpq(1)
        a = self.atom(("exp", abs(x)))
        return a if x > 0 else 1 / a

    @staticmethod
    def _scalar(x, name: str):
        if _is_mat(x):
            raise ValueError(f"formula: {name} applies to scalars only (a 1 x 1 product such as a.T*b is one), "
                             f"got shape {_shape(x)}")
        return x


def _shape(x) -> tuple:
    return (x.nrows(), x.ncols()) if _is_mat(x) else ()


# ------------------------------------------------------------------------------------------ Arb evaluation


class _Ball(_Exact):
    """The same tree in Arb interval arithmetic at ``prec`` bits, with the true exp, log and roots."""

    def __init__(self, values: Mapping[str, Any], prec: int):  # noqa: D107 - the base's attributes, lifted to balls
        self.f = _flint()
        self.prec = prec
        self.values = {k: self.lift(v) for k, v in values.items()}

    def lift(self, v):
        f = self.f
        if _is_mat(v):
            return f.arb_mat(v.nrows(), v.ncols(), [f.arb(v[i, j]) for i in range(v.nrows()) for j in range(v.ncols())])
        return f.arb(v)

    def q(self, x):
        return self.f.arb(self.f.fmpq(x.numerator, x.denominator)) if isinstance(x, Fraction) else x

    def inverse(self, a):
        if not _is_mat(a):
            if a.contains(0):
                raise _Singular("a divisor's enclosure contains 0")
            return 1 / a
        if a.nrows() != a.ncols():
            raise ValueError(f"formula: cannot invert a non-square matrix of shape {_shape(a)}")
        try:
            return a.inv()
        except ZeroDivisionError:
            raise _Singular("the enclosure of a matrix contains singular ones") from None

    def div(self, a, b):
        if _is_mat(b):
            return super().div(a, b)
        if b.contains(0):
            raise _Singular("a divisor's enclosure contains 0")
        return self.collapse(a * (1 / b)) if _is_mat(a) else a / b

    def power(self, base_node, exp_node):
        kf = _static_exponent(exp_node)
        if kf is None:
            raise _Singular("an exponent that is not a number")
        base = self.run(base_node)
        if kf.denominator == 1:
            n = int(kf)
            if _is_mat(base):
                b = self.inverse(base) if n < 0 else base
                out = self.f.arb_mat(b.nrows(), b.ncols(), [int(i == j) for i in range(b.nrows()) for j in range(b.ncols())])
                for _ in range(abs(n)):
                    out = out * b
                return self.collapse(out)
            if n < 0 and base.contains(0):
                raise _Singular("0 to a negative power")
            return base ** n
        if base < 0 or base.contains(0):
            raise _Singular("a non-integer power of a number whose enclosure is not positive")
        return (base.log() * self.f.arb(self.f.fmpq(kf.numerator, kf.denominator))).exp()

    def function(self, name: str, arg_node):
        if name in ("trace", "tr", "Trace"):
            x = self.run(arg_node)
            if not _is_mat(x):
                return x
            return sum((x[i, i] for i in range(x.nrows())), self.f.arb(0))
        if name in ("inverse", "inv"):
            return self.inverse(self.run(arg_node))
        x = self._scalar(self.run(arg_node), name)
        if name == "sqrt":
            if x < 0 or (x.contains(0) and x != 0):
                raise _Singular("sqrt of a number whose enclosure is not positive")
            return x.sqrt()
        if name == "log":
            if not x > 0:
                raise _Singular("log of a number whose enclosure is not positive")
            return x.log()
        if name == "exp":
            return x.exp()
        raise AssertionError(name)  # pragma: no cover

    def exp(self, arg_node):  # pragma: no cover - function() computes exp directly
        return self.run(arg_node).exp()


def difference_enclosure(f_tree, g_tree, values: Mapping[str, object], subs: Mapping[str, object] | None = None, *,
                         max_bits: int = MAX_BITS, deadline: float | None = None) -> tuple[str, int, tuple] | None:
    """An Arb enclosure of an entry of f - g at the exact point ``values`` that excludes 0 (its string, the bits
    needed, the entry), the precision doubled from :data:`MIN_BITS` up to ``max_bits``; None when every enclosure
    contains 0 up to the cap.  ``subs`` (symbol -> tree) are evaluated in Arb from the base symbols first."""
    flint = _flint()
    bits = MIN_BITS
    while bits <= max_bits:
        if deadline is not None and time.perf_counter() > deadline:
            return None
        with flint.ctx.workprec(bits):
            try:
                ev = _Ball(values, bits)
                for sym, tree in (subs or {}).items():
                    ev.values[sym] = ev.run(tree)
                diff = _entries(ev.add(ev.run(f_tree), -ev.run(g_tree)))
            except _Singular:
                diff = None
            if diff is not None:
                best = None
                for pos, ball in diff:
                    if not ball.contains(0):
                        score = abs(ball.mid()) / (ball.rad() + abs(ball.mid()))
                        if best is None or score > best[0]:
                            best = (score, ball, pos)
                if best is not None:
                    return best[1].str(12, radius=True), bits, best[2]
        bits *= 2
    return None


def _entries(x) -> list:
    if _is_mat(x):
        return [((i, j), x[i, j]) for i in range(x.nrows()) for j in range(x.ncols())]
    return [((0, 0), x)]


# ------------------------------------------------------------------------------------------ points


def sample_point(domains: Mapping[str, str], dim: int, rng: np.random.Generator, bound: int) -> dict:
    """Exact random values (python-flint rationals) of every symbol at dimension ``dim``, integer entries in
    [-bound, bound] (positive ones in [1, bound]; an spd matrix is L L^T + I)."""
    flint = _flint()

    def ints(n, lo=-bound):
        return [int(x) for x in rng.integers(lo, bound + 1, size=n)]

    out = {}
    for name in sorted(domains):
        kind = domains[name]
        if kind == "matrix":
            out[name] = flint.fmpq_mat(dim, dim, ints(dim * dim))
        elif kind == "symmetric":
            raw = ints(dim * dim)
            out[name] = flint.fmpq_mat(dim, dim, [raw[min(i, j) * dim + max(i, j)] for i in range(dim) for j in range(dim)])
        elif kind == "spd":
            raw = ints(dim * dim)
            L = flint.fmpq_mat(dim, dim, [raw[i * dim + j] if j <= i else 0 for i in range(dim) for j in range(dim)])
            eye = flint.fmpq_mat(dim, dim, [int(i == j) for i in range(dim) for j in range(dim)])
            out[name] = L * L.transpose() + eye
        elif kind == "vector":
            out[name] = flint.fmpq_mat(dim, 1, ints(dim))
        elif kind == "scalar":
            out[name] = flint.fmpq(ints(1)[0])
        elif kind in ("positive", "integer"):
            out[name] = flint.fmpq(ints(1, lo=1)[0])
        elif kind == "identity":
            out[name] = flint.fmpq_mat(dim, dim, [int(i == j) for i in range(dim) for j in range(dim)])
        else:
            raise ValueError(f"domains: {name!r} has unknown kind {kind!r}; known: {', '.join(DOMAINS)}")
        if dim == 1 and kind not in ("scalar", "positive", "integer"):
            out[name] = out[name][0, 0]  # at d = 1 every matrix is a scalar, as in the formula grammar
    return out


def _to_fraction_values(values: Mapping[str, Any]) -> dict:
    out: dict[str, Any] = {}
    for k, v in values.items():
        if _is_mat(v):
            out[k] = tuple(tuple(Fraction(int(v[i, j].p), int(v[i, j].q)) for j in range(v.ncols()))
                           for i in range(v.nrows()))
        else:
            out[k] = Fraction(int(v.p), int(v.q))
    return out


def _from_fraction_values(values: Mapping[str, Any]) -> dict:
    flint = _flint()
    out = {}
    for k, v in values.items():
        if isinstance(v, Fraction):
            out[k] = flint.fmpq(v.numerator, v.denominator)
        else:
            rows, cols = len(v), len(v[0])
            m = flint.fmpq_mat(rows, cols, [flint.fmpq(x.numerator, x.denominator) for row in v for x in row])
            out[k] = m[0, 0] if rows == cols == 1 else m
    return out


# ------------------------------------------------------------------------------------------ the decision


def _compile(formula: str, names) -> tuple:
    return compile_formula(formula, frozenset(names))


def _shape_ok(value, expected: tuple) -> bool:
    if expected in ((), (1, 1)):
        return not _is_mat(value)
    return _is_mat(value) and (value.nrows(), value.ncols()) == tuple(expected)


def decide(formula: str, closed_form: str, domains: Mapping[str, str], expected_shape: Callable[[int], tuple], *,
           hypotheses: Mapping[str, Mapping[str, str]] | None = None, assume: Sequence[str] = (), seed: int = 0,
           min_dim: int = 1, budget_seconds: float = 30.0, max_bits: int = MAX_BITS) -> Decision:
    """EQUAL, DIFFERENT or UNDECIDED for ``formula`` against ``closed_form`` (both in the claim grammar).

    ``domains`` declares each symbol's kind (:data:`DOMAINS`); ``hypotheses[name]`` maps symbols to formulas that
    replace them under the hypothesis ``name`` (e.g. ``{"m": "0*m"}`` for centred tokens), applied in order for each
    name in ``assume``.  ``expected_shape(d)`` is the shape of the claimed value at dimension d.  The random points
    come from ``seed``; ``budget_seconds`` bounds the whole decision (past it: UNDECIDED)."""
    t0 = time.perf_counter()
    deadline = t0 + float(budget_seconds)
    hypotheses = hypotheses or {}
    assume = tuple(assume)
    names = frozenset(domains)
    for a in assume:
        if a not in hypotheses:
            raise ValueError(f"assume: {a!r} is not a hypothesis with declared substitutions "
                             f"(known: {', '.join(hypotheses) or 'none'})")
    f_tree, g_tree = _compile(formula, names), _compile(closed_form, names)
    subs = {}
    for a in assume:
        for sym, text in hypotheses[a].items():
            subs[sym] = _compile(text, names)
    mdeg = max(matrix_degree(f_tree, domains), matrix_degree(g_tree, domains))
    top = max(int(min_dim), mdeg + 1, 2)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5EC1DE]))
    _check_shapes(f_tree, g_tree, domains, subs, expected_shape)
    dims = tuple(range(1, min(top, MAX_DIM) + 1))  # a counterexample is searched up to MAX_DIM in any case
    worst_degree, found_atoms, undecided_reason, proof_points = 1, False, "", 0
    for dim in dims:
        degree = degree_bound((f_tree, g_tree), dim, domains, subs)
        worst_degree = max(worst_degree, degree)
        for k in range(1 + PROOF_POINTS):
            if time.perf_counter() > deadline:
                return Decision("UNDECIDED", "budget", f"no conclusion within {budget_seconds:g} s "
                                f"(dimensions tried: {dims[:dims.index(dim)] or 'none'})", worst_degree, dims,
                                proof_points, seconds=time.perf_counter() - t0, assumed=assume)
            bound = SMALL_RANGE if k == 0 else PROOF_RANGE
            outcome = _one_point(f_tree, g_tree, domains, subs, dim, rng, bound, expected_shape(dim), deadline, max_bits)
            if outcome is None:  # every draw hit a pole: say so rather than guess
                undecided_reason = f"every random point at d = {dim} hit a pole or left a domain"
                continue
            kind, payload, atoms = outcome
            found_atoms |= atoms
            if kind == "different":
                values, (text, bits, pos) = payload
                cx = Counterexample(dim, _to_fraction_values(values), text, bits, pos, assume)
                return Decision("DIFFERENT", "certified counterexample (Arb)",
                                f"at d = {dim} the difference's entry {pos} is {text} (0 excluded at {bits} bits)",
                                worst_degree, dims, proof_points, counterexample=cx,
                                seconds=time.perf_counter() - t0, assumed=assume)
            if kind == "undecided":
                undecided_reason = payload
            elif bound == PROOF_RANGE:
                proof_points += 1
    if undecided_reason:
        return Decision("UNDECIDED", "no certificate", undecided_reason, worst_degree, dims, proof_points,
                        seconds=time.perf_counter() - t0, assumed=assume)
    if top > MAX_DIM:
        return Decision("UNDECIDED", "degree too high",
                        f"f - g vanishes exactly at every point tried for d = 1..{MAX_DIM}, but the formula has degree "
                        f"{mdeg} as a matrix polynomial: a proof for every d needs d up to {top}", worst_degree, dims,
                        proof_points, seconds=time.perf_counter() - t0, assumed=assume)
    size = 2 * PROOF_RANGE + 1
    prob = min(1.0, worst_degree / size) ** PROOF_POINTS
    how = ("exact rational evaluation at random integer points (Schwartz-Zippel)"
           + (", exp/log/roots as independent atoms" if found_atoms else ""))
    return Decision("EQUAL", how,
                    f"f - g vanishes exactly at {PROOF_POINTS} random points per d = 1..{top} (entries from a set of "
                    f"{size} integers); numerator degree <= {worst_degree}; P(false EQUAL) <= {prob:.1g}",
                    worst_degree, dims, proof_points, failure_probability=prob, seconds=time.perf_counter() - t0,
                    assumed=assume)


def _check_shapes(f_tree, g_tree, domains, subs, expected_shape) -> None:
    """Shape errors are bad input, found at d = 2 before any search (at d = 1 every matrix is a scalar)."""
    ev = _Exact(sample_point(domains, 2, np.random.default_rng(0), SMALL_RANGE), lambda key: _flint().fmpq(2))
    try:
        for sym, tree in subs.items():
            ev.values[sym] = ev.run(tree)
        values = [("formula", ev.run(f_tree)), ("closed_form", ev.run(g_tree))]
    except _Singular:
        return  # a pole at this one point says nothing about shapes; the search meets them again
    for what, v in values:
        if not _shape_ok(v, expected_shape(2)):
            got = _shape(v) or "scalar"
            raise ValueError(f"{what}: expected shape {expected_shape(2) or 'scalar'} at d = 2, got {got}")


def _one_point(f_tree, g_tree, domains, subs, dim, rng, bound, shape, deadline, max_bits):
    """Draw a point (retrying poles), evaluate f - g exactly; ('zero', None, atoms), ('different', (values,
    certificate), atoms) or ('undecided', reason, atoms); None when 8 draws all hit a pole."""
    for _ in range(8):
        base = sample_point(domains, dim, rng, bound)
        atoms: dict = {}

        def atom_value(key):
            if key not in atoms:
                atoms[key] = _flint().fmpq(int(rng.integers(1, PROOF_RANGE + 1)), int(rng.integers(1, PROOF_RANGE + 1)))
            return atoms[key]

        values = dict(base)
        ev = _Exact(values, atom_value)
        try:
            for sym, tree in subs.items():
                values[sym] = ev.run(tree)
            fv, gv = ev.run(f_tree), ev.run(g_tree)
        except _Singular:
            continue
        for what, v in (("formula", fv), ("closed form", gv)):
            if not _shape_ok(v, shape):
                got = _shape(v) or "scalar"
                raise ValueError(f"formula: expected shape {shape or 'scalar'}, got {got}" if what == "formula" else
                                 f"closed_form: expected shape {shape or 'scalar'}, got {got}")
        diff = ev.add(fv, -gv)
        if all(x == 0 for _, x in _entries(diff)):
            return "zero", None, bool(atoms)
        # nonzero: exactly so when no atom entered; with atoms, only a certificate at the true values decides
        cert = difference_enclosure(f_tree, g_tree, base, subs, max_bits=max_bits, deadline=deadline)
        if cert is not None:
            return "different", (base, cert), bool(atoms)
        if not atoms:
            return "undecided", (f"the exact difference is nonzero at d = {dim} but its enclosure needs more than "
                                 f"{max_bits} bits"), False
        return "undecided", (f"at d = {dim} the formulas differ as functions of independent atoms (exp, log, roots) "
                             f"but no enclosure up to {max_bits} bits excludes 0: a relation among the atoms the rules "
                             "do not know, or a difference too small to certify"), True
    return None

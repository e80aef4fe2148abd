"""Derivations: connected chains of equalities whose every step SymPy checks.

A :class:`Derivation` starts from the statement's definition and adds steps ``= rhs`` each with a one-line
justification; each step's left side is the previous right side, and the chain must end at the registered
closed form (``conclusion``).  A step's relation decides what "checked" means:

* :func:`equal` (default): ``lhs - rhs`` simplifies to 0 (entry-wise for matrices);
* :func:`equal_given` : equal after a substitution that encodes a hypothesis (e.g. \\Gamma^T = \\Gamma);
* :func:`equal_up_to_constant_in` : ``lhs - rhs`` does not depend on the given variables (log-densities
  "up to normalisation");
* :func:`by` : the step applies a named :class:`Assumption` (a fact used without proof, with its own check);
* :func:`maps` : the step applies a named machine-computed transformation (differentiate, take the mean, ...);
* :func:`relation` : any other machine check, with a name;
* :func:`equal_for_positive` : equal for a positive variable (simplified under its assumption, and evaluated
  exactly at sample values);
* :func:`positive_by_squaring` : lhs > 0, decided by SymPy's assumptions after an affine map and a square.

Before any symbolic work, a step is evaluated at random rational points in exact arithmetic: a false step
is refuted there with a concrete counterexample, and a true one goes on to the symbolic proof.

>>> import sympy as sp
>>> x, y = sp.symbols("x y")
>>> d = Derivation("square", (x + y)**2, conclusion=x**2 + 2*x*y + y**2).step(x**2 + 2*x*y + y**2, "binomial formula")
>>> [r.passed for r in d.check()]
[True, True]
>>> bad = Derivation("wrong square", (x + y)**2, conclusion=x**2 + y**2).step(x**2 + y**2, "forgot the cross term")
>>> r = bad.check()[0]
>>> r.passed, r.detail.startswith("refuted at")
(False, True)
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixExpr

__all__ = [
    "Derivation",
    "refuting_equal",
    "Step",
    "StepResult",
    "Relation",
    "equal",
    "equal_given",
    "equal_up_to_constant_in",
    "relation",
    "equal_for_positive",
    "positive_by_squaring",
    "by",
    "maps",
    "Assumption",
    "is_zero",
    "polynomial_equal",
    "polynomial_gradient",
]


@dataclass(frozen=True)
class Relation:
    """How a step is checked: ``test(lhs, rhs) -> (ok, detail)``; ``symbol`` is its LaTeX sign."""

    name: str
    test: Callable[[object, object], tuple[bool, str]]
    symbol: str = "="


@dataclass(frozen=True)
class StepResult:
    passed: bool
    seconds: float
    detail: str


@dataclass(frozen=True)
class Step:
    lhs: object
    rhs: object
    why: str
    relation: Relation
    lhs_tex: str | None = None
    rhs_tex: str | None = None
    label: str = ""

    def check(self) -> StepResult:
        t0 = time.perf_counter()
        ok, detail = self.relation.test(self.lhs, self.rhs)
        return StepResult(bool(ok), time.perf_counter() - t0, detail)


def _symbolic_size(e) -> bool:
    """True when ``e`` involves a MatrixSymbol of symbolic size (general d): compare canonical forms."""
    atoms = e.atoms(sp.MatrixSymbol) if isinstance(e, sp.Basic) else set()
    return any(not all(getattr(k, "is_Integer", False) for k in ms.shape) for ms in atoms)


def _explicit(e):
    if isinstance(e, MatrixExpr) and not _symbolic_size(e):
        e = e.doit()
        try:
            return e.as_explicit()
        except (ValueError, TypeError, AttributeError):
            return e
    return e


def _entries(e) -> list:
    e = _explicit(e)
    if isinstance(e, (sp.MatrixBase,)):
        return list(e)
    return [e]


def is_zero(e) -> bool:
    """True when SymPy can prove the scalar ``e`` is identically 0 (expand, then cancel, then simplify)."""
    e = sp.sympify(e)
    if e == 0:
        return True
    ex = sp.expand(e)
    if ex == 0:
        return True
    if sp.cancel(sp.together(ex)) == 0:
        return True
    return sp.simplify(ex) == 0


def _random_point(free: set, rng: random.Random) -> dict:
    point = {}
    for s in sorted(free, key=str):
        if isinstance(s, sp.MatrixSymbol):
            continue
        num = rng.randint(-7, 7) or 1
        point[s] = sp.Rational(num, rng.randint(1, 5))
    return point


def _refute(diff_entries: list, trials: int = 3, seed: int = 1) -> str | None:
    """Exact evaluation at random rational points; a non-zero value is a counterexample."""
    rng = random.Random(seed)
    free = set().union(*(sp.sympify(e).free_symbols for e in diff_entries)) if diff_entries else set()
    if any(isinstance(s, sp.MatrixSymbol) for s in free) or not free:
        return None
    for _ in range(trials):
        point = _random_point(free, rng)
        for e in diff_entries:
            try:
                val = sp.sympify(e).xreplace(point)
                val = sp.nsimplify(val) if val.has(sp.Float) else sp.simplify(val) if not val.is_number else val
                if val.is_number and val.is_zero is False and sp.simplify(val) != 0:
                    shown = ", ".join(f"{k}={v}" for k, v in list(point.items())[:6])
                    return f"refuted at {shown}{', ...' if len(point) > 6 else ''}: lhs - rhs = {val}"
            except (ZeroDivisionError, TypeError, ValueError):
                continue
    return None


def _equal_test(lhs, rhs) -> tuple[bool, str]:
    left, right = _explicit(lhs), _explicit(rhs)
    if getattr(left, "shape", ()) != getattr(right, "shape", ()):
        return False, f"shapes differ: {getattr(left, 'shape', ())} vs {getattr(right, 'shape', ())}"
    diff = left - right
    if isinstance(diff, MatrixExpr) and (_symbolic_size(diff) or not isinstance(diff, sp.MatrixBase)):
        # symbolic-size matrix expression: compare canonical forms
        d = sp.simplify(diff.doit().expand().doit())
        ok = d == sp.ZeroMatrix(*d.shape) or d == 0 or isinstance(d, sp.ZeroMatrix)
        return ok, "canonical matrix forms agree" if ok else f"difference does not simplify to 0: {d}"
    entries = _entries(diff)
    counter = _refute(entries)
    if counter:
        return False, counter
    for k, e in enumerate(entries):
        if not is_zero(e):
            return False, f"entry {k}: difference does not simplify to 0"
    return True, f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'} simplify to 0"


equal = Relation("equal", _equal_test)
"""lhs - rhs simplifies to zero."""


def equal_given(substitutions: dict, why: str = "") -> Relation:
    """Equality after substituting a hypothesis, e.g. ``{Gamma.T: Gamma}`` for a symmetric \\Gamma."""

    def test(lhs, rhs):
        lhs2 = sp.sympify(lhs).xreplace(substitutions) if not isinstance(lhs, sp.MatrixBase) else lhs.xreplace(substitutions)
        rhs2 = sp.sympify(rhs).xreplace(substitutions) if not isinstance(rhs, sp.MatrixBase) else rhs.xreplace(substitutions)
        ok, detail = _equal_test(lhs2, rhs2)
        return ok, f"given {why or substitutions}: {detail}"

    return Relation(f"equal given {why or substitutions}", test)


def equal_up_to_constant_in(variables: Sequence, what: str = "") -> Relation:
    """lhs - rhs does not depend on ``variables`` (every partial derivative simplifies to 0)."""
    variables = list(variables)

    def test(lhs, rhs):
        diff = sp.sympify(_explicit(lhs)) - sp.sympify(_explicit(rhs))
        for v in variables:
            if not is_zero(sp.diff(diff, v)):
                return False, f"difference depends on {v}"
        return True, f"difference is constant in {', '.join(map(str, variables))}"

    return Relation(f"equal up to a constant in {what or variables}", test, symbol=r"\simeq")


def relation(name: str, test: Callable[[object, object], tuple[bool, str]], symbol: str = "=") -> Relation:
    """A custom machine check named ``name``."""
    return Relation(name, test, symbol)


def equal_for_positive(symbol, at: Sequence = (1, 2, sp.Rational(7, 3))) -> Relation:
    r"""lhs = rhs for ``symbol`` > 0: ``lhs - rhs`` simplifies to 0 (SymPy, ``symbol`` declared positive) *and*
    vanishes exactly at ``symbol`` = each value of ``at`` (an independent look at the same identity: a branch of a
    root cancelled under the assumption shows at an exact point).  Named "equal for <symbol> > 0".

    >>> s = sp.Symbol("s", positive=True)
    >>> rel = equal_for_positive(s)
    >>> rel.name, rel.test(sp.sqrt(4 * s**2) + sp.Abs(s), 3 * s)
    ('equal for s > 0', (True, 'simplifies to 0 for s > 0; 0 at s = 1, 2, 7/3'))
    >>> rel.test(sp.sqrt(s**2), -s)
    (False, 'difference 2*s')
    """
    if not isinstance(symbol, sp.Symbol) or symbol.is_positive is not True:
        raise ValueError(f"symbol: expected a SymPy Symbol declared positive=True, got {symbol!r}")
    values = [sp.sympify(v) for v in at]
    if not values or any(not (v.is_number and v.is_positive) for v in values):
        raise ValueError(f"at: expected positive numbers, got {list(at)!r}")
    shown = ", ".join(str(v) for v in values)

    def test(lhs, rhs):
        diff = sp.simplify(lhs - rhs)
        vals = [sp.simplify((lhs - rhs).subs(symbol, v)) for v in values]
        ok = diff == 0 and all(v == 0 for v in vals)
        return ok, f"simplifies to 0 for {symbol} > 0; 0 at {symbol} = {shown}" if ok else f"difference {diff}"

    return Relation(f"equal for {symbol} > 0", test)


def positive_by_squaring(name: str, *, scale=2, shift=1) -> Relation:
    r"""lhs > rhs = 0, decided by SymPy's assumptions on q = ``scale`` lhs + ``shift`` (``scale``, ``shift`` > 0):
    q > 0 and q^2 - shift^2 > 0 give q > shift, i.e. lhs > 0.  Fits a lhs = (f - shift)/scale whose f is a
    positive ratio of roots (the square removes the root; the assumptions of the free symbols do the rest).

    >>> y = sp.Symbol("y", positive=True)
    >>> rel = positive_by_squaring("h'(y) > 0")
    >>> rel.test(((y + 2) / sp.sqrt(y**2 + 4*y) - 1) / 2, 0), rel.symbol
    ((True, '(2 lhs + 1) > 0 and (2 lhs + 1)^2 > 1'), '>')
    >>> rel.test((y / sp.sqrt(y**2 + 4*y) - 1) / 2, 0)
    (False, 'positivity not established')
    """
    scale, shift = sp.sympify(scale), sp.sympify(shift)
    if not (scale.is_number and scale.is_positive and shift.is_number and shift.is_positive):
        raise ValueError(f"scale, shift: expected positive numbers, got {scale!r}, {shift!r}")

    def test(lhs, rhs):
        q = sp.simplify(scale * lhs + shift)
        ok = rhs == 0 and bool(q.is_positive) and bool(sp.simplify(q**2 - shift**2).is_positive)
        shown = f"({scale} lhs + {shift})"
        return ok, f"{shown} > 0 and {shown}^2 > {shift**2}" if ok else "positivity not established"

    return Relation(name, test, symbol=">")


@dataclass(frozen=True)
class Assumption:
    r"""A fact a derivation uses without proving it, declared by name and checked on its own.

    ``rule`` says how a step uses it: a dict of substitutions ``{pattern: replacement}`` (applied with
    ``xreplace``, then ``doit``) or a function ``expr -> expr``.  ``check`` is an evidence
    :class:`verify.kernel.statement.Check` (with its mutants) that establishes the fact independently, e.g. the Gaussian
    log-MGF by quadrature; the pytest plugin and ``verify run`` run it as ``assumption:<name>``.
    """

    name: str
    statement_tex: str
    rule: object
    check: object

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"name: an assumption needs a name, got {self.name!r}")
        if not (callable(self.rule) or isinstance(self.rule, dict)):
            raise TypeError("rule: expected a dict of substitutions or a function expr -> expr")
        if self.check is None or not hasattr(self.check, "outcome"):
            raise TypeError(f"check: assumption {self.name!r} needs its own evidence Check")

    def apply(self, expr):
        if callable(self.rule):
            return self.rule(expr)
        out = expr.xreplace(self.rule) if hasattr(expr, "xreplace") else expr
        return out.doit() if hasattr(out, "doit") else out


def by(assumption: Assumption, then: Relation | None = None) -> Relation:
    """The step uses ``assumption``: rhs must equal lhs with the assumption applied (compared with ``then``,
    default :data:`equal`)."""
    compare = then or equal

    def test(lhs, rhs):
        ok, detail = compare.test(assumption.apply(lhs), rhs)
        return ok, f"by assumption {assumption.name}: {detail}"

    rel = Relation(f"by {assumption.name}", test, compare.symbol)
    object.__setattr__(rel, "assumption", assumption)
    return rel


def maps(name: str, transform: Callable[[object], object], symbol: str = r"\Rightarrow",
         then: Relation | None = None) -> Relation:
    """A step that applies a named, machine-computed transformation: rhs must equal ``transform(lhs)``
    (e.g. "the mean of the Gaussian density exp(lhs)", "differentiate in a", "apply V").  The chain stays
    connected although the object changes; the LaTeX sign is ``symbol``."""
    compare = then or equal

    def test(lhs, rhs):
        ok, detail = compare.test(transform(lhs), rhs)
        return ok, f"{name}: {detail}"

    return Relation(name, test, symbol)


@dataclass
class Derivation:
    """A connected chain  start = e_1 = e_2 = ... = conclusion  with a checked justification per step.

    ``start`` is the statement's definition (in the derivation's setting); ``step(rhs, why)`` always continues
    from the previous right-hand side -- there is no free left side, so a chain cannot be broken by a typed
    expression.  ``conclusion`` is the statement's registered closed form: :meth:`check` adds a last result
    that the final right side equals it (as expressions, with ``conclusion_check``).  Facts used without proof
    enter through :func:`by` (an :class:`Assumption` with its own check).

    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> d = Derivation("d", (x + 1)**2, conclusion=x**2 + 2*x + 1).step(x**2 + 2*x + 1, "expand")
    >>> [r.passed for r in d.check()], d.labels()
    ([True, True], ['step-1', 'ends-at-conclusion'])
    """

    name: str
    start: object
    start_tex: str | None = None
    steps: list = field(default_factory=list)
    brief: bool = False
    """Documents show a brief derivation as one line (e.g. the same chain with explicit entries at d = 3)."""
    conclusion: object = None
    conclusion_tex: str | None = None
    conclusion_check: Relation | None = None

    def step(self, rhs, why: str, *, check: Relation = equal, rhs_tex: str | None = None,
             label: str = "") -> "Derivation":
        if not why or not isinstance(why, str):
            raise ValueError("why: every step needs a one-line justification")
        if not isinstance(check, Relation):
            raise TypeError(f"check: expected a Relation, got {type(check).__name__}")
        lhs = self.steps[-1].rhs if self.steps else self.start
        lhs_tex = self.start_tex if not self.steps else None
        self.steps.append(Step(lhs, rhs, why, check, lhs_tex, rhs_tex, label or f"step-{len(self.steps) + 1}"))
        return self

    @property
    def assumptions(self) -> tuple:
        """The assumptions the steps use (through :func:`by`), in order."""
        out = []
        for s in self.steps:
            a = getattr(s.relation, "assumption", None)
            if a is not None and a not in out:
                out.append(a)
        return tuple(out)

    def connected(self) -> StepResult:
        """Every step's left side is the previous right side (the first one's is ``start``)."""
        t0 = time.perf_counter()
        prev = self.start
        for s in self.steps:
            if s.lhs is not prev:
                return StepResult(False, time.perf_counter() - t0, f"chain broken before {s.label}: its left side is not the previous right side")
            prev = s.rhs
        if not self.steps:
            return StepResult(False, time.perf_counter() - t0, "no steps")
        return StepResult(True, time.perf_counter() - t0, f"{len(self.steps)} steps form one chain from the start")

    def conclude(self) -> StepResult:
        """The last right side equals the registered closed form ``conclusion``."""
        t0 = time.perf_counter()
        if self.conclusion is None:
            return StepResult(False, 0.0, "no conclusion declared: a derivation must end at the statement's closed form")
        conn = self.connected()
        if not conn.passed:
            return conn
        ok, detail = (self.conclusion_check or equal).test(self.result, self.conclusion)
        return StepResult(bool(ok), time.perf_counter() - t0, f"ends at the registered closed form: {detail}")

    def labels(self) -> list[str]:
        return [s.label for s in self.steps] + ["ends-at-conclusion"]

    def check(self) -> list[StepResult]:
        """One result per step, then one for the conclusion (which also requires a connected chain)."""
        return [s.check() for s in self.steps] + [self.conclude()]

    @property
    def result(self):
        return self.steps[-1].rhs if self.steps else self.start


def refuting_equal(dims=(1, 2), seed: int = 3):
    r"""A :class:`verify.kernel.derivation.Relation` for chains of matrix expressions of symbolic size d: before the
    canonical-form comparison (:data:`verify.kernel.derivation.equal`, which can run for ever on a *false* step), both sides
    are evaluated exactly at explicit d in ``dims``: every MatrixSymbol becomes a matrix of random rationals (those
    named Gamma... symmetric positive definite, A A^T + I), every scalar symbol a positive rational.  A difference
    above 1e-25 (30-digit evaluation) refutes the step with the d where it showed.

    >>> import sympy as sp
    >>> d = sp.Symbol("d", integer=True, positive=True)
    >>> A, x = sp.MatrixSymbol("A", d, d), sp.MatrixSymbol("x", d, 1)
    >>> rel = refuting_equal()
    >>> rel.test(A * (x + x), 2 * A * x)[0], rel.test(A * x, A.T * x)[1].startswith("refuted at d=2")
    (True, True)
    """
    import random

    import sympy as sp

    def explicit(expr_pair, dim: int):
        rng = random.Random(seed * 1000 + dim)
        free = set().union(*(sp.sympify(e).free_symbols for e in expr_pair))
        subs = {}
        for s in sorted(free, key=str):
            if isinstance(s, sp.MatrixSymbol):
                rows = dim if not getattr(s.shape[0], "is_Integer", False) else int(s.shape[0])
                cols = dim if not getattr(s.shape[1], "is_Integer", False) else int(s.shape[1])
                M = sp.Matrix(rows, cols, lambda i, j: sp.Rational(rng.randint(-9, 9), rng.randint(1, 4)))
                if s.name.startswith("Gamma") and rows == cols:
                    M = M * M.T + sp.eye(rows)
                subs[s] = sp.ImmutableMatrix(M)
            elif not s.is_Integer and s.is_Symbol and str(s) != "d":
                subs[s] = sp.Rational(rng.randint(1, 9), rng.randint(1, 4))
        return [sp.Matrix(sp.sympify(e).xreplace(subs).doit()) if hasattr(e, "shape") else sp.sympify(e).xreplace(subs)
                for e in expr_pair]

    def test(lhs, rhs):
        for dim in dims:
            left, right = explicit((lhs, rhs), dim)
            diff = [sp.N(a - b, 30) for a, b in zip(left, right)] if hasattr(left, "shape") else [sp.N(left - right, 30)]
            worst = max(abs(complex(t)) for t in diff)
            if worst > 1e-25:
                return False, f"refuted at d={dim}: an entry of lhs - rhs is {worst:.3g} at random rational matrices"
        ok, detail = equal.test(lhs, rhs)
        return ok, f"equal at explicit d = {', '.join(map(str, dims))}; {detail}"

    return Relation("equal (refuted first at explicit d)", test)


# ------------------------------------------------------------------------------ exact polynomial algebra


def _polynomial_generators(*exprs) -> list:
    """The free symbols of scalar or matrix expressions, sorted by name (the generators of a ``sympy.Poly``)."""
    free = set()
    for e in exprs:
        for x in (e if isinstance(e, sp.MatrixBase) else [e]):
            free |= sp.sympify(x).free_symbols
    return sorted(free, key=str)


def _polynomial_equal_test(lhs, rhs) -> tuple[bool, str]:
    L = lhs if isinstance(lhs, sp.MatrixBase) else sp.Matrix([lhs])
    R = rhs if isinstance(rhs, sp.MatrixBase) else sp.Matrix([rhs])
    if L.shape != R.shape:
        return False, f"shapes differ: {L.shape} vs {R.shape}"
    gens = _polynomial_generators(L, R)
    for k, (x, y) in enumerate(zip(L, R)):
        diff = sp.sympify(x - y)
        if gens and not sp.Poly(diff, *gens).is_zero or not gens and diff != 0:
            return False, f"entry {k}: the difference is a non-zero polynomial"
    return True, f"{len(L)} entries: lhs - rhs is the zero polynomial in {len(gens)} symbols"


def polynomial_equal() -> Relation:
    """A relation for polynomial identities: lhs - rhs is the zero polynomial (expanded exactly by ``sympy.Poly``
    in every free symbol; much faster than general simplification on large polynomials).

    >>> x, y = sp.symbols("x y")
    >>> rel = polynomial_equal()
    >>> rel.test((x + y) ** 2, x**2 + 2 * x * y + y**2)[0], rel.test((x + y) ** 2, x**2 + y**2)[0]
    (True, False)
    """
    return relation("polynomial identity", _polynomial_equal_test)


def polynomial_gradient(R, *matrices) -> sp.Matrix:
    r"""Entry-wise partial derivatives of the polynomial R in every entry of each matrix, side by side
    (``sympy.Poly.diff``: exact, fast on large polynomials); an entry that is not a free symbol of R gives 0.

    >>> x, y = sp.symbols("x y")
    >>> polynomial_gradient(x**2 * y, sp.Matrix([[x, y]]))
    Matrix([[2*x*y, x**2]])
    """
    gens = _polynomial_generators(R)
    P = sp.Poly(R, *gens) if gens else None
    blocks = [sp.Matrix(M).applyfunc(lambda v: P.diff(v).as_expr() if P is not None and v in gens else sp.Integer(0))
              for M in matrices]
    return sp.Matrix.hstack(*blocks)

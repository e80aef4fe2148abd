"""Checking a user's candidate closed form against an independent reference.

``verify claim ID --formula "EXPR"`` reads EXPR in SymPy's syntax (``*`` is the matrix product, ``@``
too, ``.T`` the transpose, ``**-1``, ``.I`` or ``inverse(...)`` the inverse, ``^`` a power,
``trace(...)``, ``sqrt(...)``, ``exp(...)`` and ``log(...)`` of scalars), evaluates it at the claim's random
parameter points in 40-digit arithmetic, and compares it with the reference value of the *definition* at those points (quadrature,
never the paper's formula).  Equivalent rewritings are accepted, wrong ones rejected, with the worst
relative discrepancy reported.

A formula is never run as Python.  It is parsed with :func:`ast.parse` and the tree is walked through a
whitelist: the claim's symbols, numbers, ``+ - * / ** ^ @``, unary signs, parentheses, the attributes
``.T`` and ``.I``, and one-argument calls of :data:`FUNCTIONS`.  Anything else (other attributes, dunder
names, subscripts, strings, lambdas, comprehensions, keywords, comparisons, ...) is refused with one line
``ValueError("formula: ...")``, as are formulas longer than 2000 characters, with more than 1000 syntax
nodes or nested deeper than 60, and exponents beyond |k| <= 64.  Decimal literals are exact: ``0.1`` is
1/10, and arithmetic among numbers stays rational until it meets a symbol.

Evaluation uses :class:`Value`, a tiny exact-shape matrix algebra over mpmath numbers in which a 1 x 1
product (a quadratic form such as ``u.T*Sigma*u``) is a scalar, so scalar formulas read as on paper.
Division by zero, a singular (or numerically singular) inverse, a complex result and NaN/inf anywhere are
bad input: ``ValueError("formula: ...")``, never a rejection.

>>> from mpmath import mp, mpf, matrix
>>> with mp.workdps(30):
...     ns = {"A": Value(matrix([[1, 2], [3, 4]])), "x": Value(matrix([[1], [1]]))}
...     str(evaluate("x.T*A*x + trace(A)", ns))
'15.0'
>>> with mp.workdps(30):
...     str(evaluate("0.1*x.T @ A^2 @ x - 3/10", ns)), str(evaluate("trace(A.I) - trace(inverse(A))", ns))
('5.1', '0.0')
>>> with mp.workdps(30):
...     evaluate("A + x", ns)
Traceback (most recent call last):
...
ValueError: formula: cannot add shapes (2, 2) and (2, 1)
>>> evaluate("x.__class__", ns)
Traceback (most recent call last):
...
ValueError: formula: refused attribute '.__class__' at column 2 (dunder names are never allowed)
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Sequence

import mpmath
import sympy as sp
from mpmath import mp

from verify.kernel.compare import flat_entries

__all__ = ["Value", "evaluate", "compile_formula", "FUNCTIONS"]

MAX_LENGTH = 2000
"""Longest formula accepted, in characters."""
MAX_NODES = 1000
"""Most syntax-tree nodes accepted."""
MAX_DEPTH = 60
"""Deepest nesting accepted (a chain ``a + b - c`` or ``a*b/c`` counts as one level)."""
MAX_EXPONENT = 64
"""Largest |k| accepted in ``x**k``."""
MAX_EXP_ARGUMENT = 10**5
"""Largest |x| accepted in ``exp(x)``."""
_MAX_LITERAL_EXP10 = 1000  # |e| in a literal such as 1e-30
_EXACT_BITS = 4096  # rationals larger than this continue in mpmath arithmetic


def _short(text: str, n: int = 60) -> str:
    return repr(text if len(text) <= n else text[: n - 3] + "...")


# ------------------------------------------------------------------------------------------ Value


class Value:
    """A number or a matrix of mpmath numbers with its shape; 1 x 1 matrices collapse to scalars."""

    __slots__ = ("v",)

    def __init__(self, v):
        if isinstance(v, mpmath.matrix):
            if v.rows == 1 and v.cols == 1:
                v = v[0, 0]
        elif isinstance(v, Value):
            v = v.v
        elif isinstance(v, Fraction):
            v = mp.mpf(v.numerator) / v.denominator
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

    # -- arithmetic (the same rules as formulas: shapes checked, zero division is a ValueError) ------
    def __add__(self, other):
        return _val(_add(self, _operand(other)))

    __radd__ = __add__

    def __sub__(self, other):
        return _val(_add(self, _neg(_operand(other))))

    def __rsub__(self, other):
        return _val(_add(_operand(other), _neg(self)))

    def __neg__(self):
        return _val(_neg(self))

    def __pos__(self):
        return self

    def __mul__(self, other):
        return _val(_mul(self, _operand(other)))

    def __rmul__(self, other):
        return _val(_mul(_operand(other), self))

    def __truediv__(self, other):
        return _val(_div(self, _operand(other)))

    def __rtruediv__(self, other):
        return _val(_div(_operand(other), self))

    def __pow__(self, k):
        return _val(_pow(self, _operand(k)))

    def __rpow__(self, base):
        return _val(_pow(_operand(base), self))

    @property
    def T(self):
        return self if self.is_scalar else Value(self.v.T)

    @property
    def I(self):  # noqa: E743 - SymPy's spelling of the inverse
        return _val(_inverse(self))

    def inv(self):
        return self.I

    inverse = inv

    def transpose(self):
        return self.T


def _operand(x):
    """A formula operand: an exact rational stays a Fraction, everything else becomes a Value."""
    if isinstance(x, (Value, Fraction)):
        return x
    if isinstance(x, int) and not isinstance(x, bool):
        return Fraction(x)
    return Value(x)


def _val(x) -> Value:
    return x if isinstance(x, Value) else Value(x)


def _is_scalar(x) -> bool:
    return isinstance(x, Fraction) or x.is_scalar


def _shape(x) -> tuple:
    return () if isinstance(x, Fraction) else x.shape


def _mpf(x):
    """The mpmath number of a scalar operand."""
    return mp.mpf(x.numerator) / x.denominator if isinstance(x, Fraction) else x.v


def _raw(x):
    return _mpf(x) if isinstance(x, Fraction) else x.v


def _fits(q: Fraction, k: int = 1) -> bool:
    return max(q.numerator.bit_length(), q.denominator.bit_length()) * max(1, abs(k)) <= _EXACT_BITS


def _real(v, what: str):
    """Refuse complex, NaN and infinite results (a scalar or every entry of a matrix)."""
    for e in flat_entries(v.v if isinstance(v, Value) else v):
        if not isinstance(e, mpmath.mpf):
            if isinstance(e, mpmath.mpc):
                raise ValueError(f"formula: {what} is complex")
            e = mp.mpmathify(e)
            if not isinstance(e, mpmath.mpf):
                raise ValueError(f"formula: {what} is not a real number")
        if not mpmath.isfinite(e):
            raise ValueError(f"formula: {what} is NaN or infinite")
    return v


def _add(a, b):
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return a + b
    sa, sb = _shape(a), _shape(b)
    if sa != sb:
        raise ValueError(f"formula: cannot add shapes {sa or 'scalar'} and {sb or 'scalar'}")
    return Value(_raw(a) + _raw(b))


def _neg(a):
    return -a if isinstance(a, Fraction) else Value(-a.v)


def _mul(a, b):
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return a * b if _fits(a) and _fits(b) else Value(_mpf(a) * _mpf(b))
    if not _is_scalar(a) and not _is_scalar(b) and a.shape[1] != b.shape[0]:
        raise ValueError(f"formula: cannot multiply shapes {a.shape} and {b.shape}")
    return Value(_raw(a) * _raw(b))


def _div(a, b):
    if not _is_scalar(b):
        if _is_scalar(a):  # c / M reads as c * M**-1, as SymPy prints it
            return _mul(a, _inverse(b))
        raise ValueError(f"formula: cannot divide by a matrix of shape {b.shape}; use **-1")
    if (b == 0) if isinstance(b, Fraction) else (b.v == 0):
        raise ValueError("formula: division by zero")
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return a / b if _fits(a) and _fits(b) else Value(_mpf(a) / _mpf(b))
    return Value(_raw(a) / _mpf(b))


def _inverse(a):
    if _is_scalar(a):
        return _div(Fraction(1), a)
    n, c = a.shape
    if n != c:
        raise ValueError(f"formula: cannot invert a non-square matrix of shape {a.shape}")
    try:
        inv = mpmath.inverse(a.v)
    except ZeroDivisionError:
        raise ValueError(f"formula: singular matrix of shape {a.shape} in an inverse") from None
    _real(inv, "an inverse")
    cond = mpmath.mnorm(a.v, 1) * mpmath.mnorm(inv, 1)
    if not mpmath.isfinite(cond) or cond * mp.eps > mp.mpf(2) ** -10:
        raise ValueError(f"formula: matrix of shape {a.shape} is numerically singular at {mp.dps} digits "
                         f"(condition number {mpmath.nstr(cond, 3)}) in an inverse")
    return Value(inv)


def _pow(a, k):
    if not _is_scalar(k):
        raise ValueError(f"formula: an exponent must be a scalar, got shape {k.shape}")
    kv = _mpf(k)
    if abs(kv) > MAX_EXPONENT:
        raise ValueError(f"formula: exponent {mpmath.nstr(kv, 6)} is too large (|k| <= {MAX_EXPONENT})")
    if isinstance(k, Fraction) and k.denominator == 1:
        n = int(k)
    elif not isinstance(k, Fraction) and kv == int(kv):
        n = int(kv)
    else:
        n = None
    if n is None:  # a non-integer power: real scalars only
        if not _is_scalar(a):
            raise ValueError("formula: a matrix power must be an integer")
        base = _mpf(a)
        if base < 0:
            raise ValueError("formula: a negative number to a non-integer power is complex")
        if base == 0 and kv < 0:
            raise ValueError("formula: division by zero (0 to a negative power)")
        return Value(_real(base ** kv, "a power"))
    if isinstance(a, Fraction):
        if a == 0 and n < 0:
            raise ValueError("formula: division by zero (0 to a negative power)")
        return a ** n if _fits(a, n) else Value(_mpf(a) ** n)
    if a.is_scalar:
        if a.v == 0 and n < 0:
            raise ValueError("formula: division by zero (0 to a negative power)")
        return Value(a.v ** n)
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"formula: cannot raise a non-square matrix of shape {a.shape} to a power")
    base = _inverse(a).v if n < 0 else a.v
    out, n = mpmath.eye(a.shape[0]), abs(n)
    while n:
        if n & 1:
            out = out * base
        n >>= 1
        if n:
            base = base * base
    return Value(out)


def _transpose(a):
    return a if isinstance(a, Fraction) else a.T


def _trace(x):
    if isinstance(x, Fraction):
        return x
    x = Value._coerce(x)
    if x.is_scalar:
        return x
    if x.shape[0] != x.shape[1]:
        raise ValueError(f"formula: trace of a non-square matrix of shape {x.shape}")
    return Value(mpmath.fsum(x.v[i, i] for i in range(x.shape[0])))


def _sqrt(x):
    x = x if isinstance(x, Fraction) else Value._coerce(x)
    if not _is_scalar(x):
        raise ValueError("formula: sqrt applies to scalars only")
    v = _mpf(x)
    if v < 0:
        raise ValueError("formula: sqrt of a negative number")
    return Value(mpmath.sqrt(v))


def _inverse_fn(x):
    return _inverse(x if isinstance(x, Fraction) else Value._coerce(x))


def _scalar_arg(x, name: str):
    x = x if isinstance(x, Fraction) else Value._coerce(x)
    if not _is_scalar(x):
        raise ValueError(f"formula: {name} applies to scalars only (a 1 x 1 product such as a.T*b is one), "
                         f"got shape {x.shape}")
    return _mpf(x)


def _exp(x):
    """e^x of a scalar, |x| <= :data:`MAX_EXP_ARGUMENT` (mpmath would compute exp(exp(exp(50))) for ever)."""
    v = _scalar_arg(x, "exp")
    if abs(v) > MAX_EXP_ARGUMENT:
        raise ValueError(f"formula: exp of {mpmath.nstr(v, 6)} is out of range (|x| <= {MAX_EXP_ARGUMENT})")
    return Value(mpmath.exp(v))


def _log(x):
    """Natural log of a positive scalar."""
    v = _scalar_arg(x, "log")
    if v <= 0:
        raise ValueError("formula: log of a non-positive number")
    return Value(mpmath.log(v))


FUNCTIONS = {"trace": _trace, "tr": _trace, "Trace": _trace, "sqrt": _sqrt,
             "inverse": _inverse_fn, "inv": _inverse_fn, "exp": _exp, "log": _log}
"""The functions a formula may call, each with exactly one positional argument."""

# ------------------------------------------------------------------------------------------ parsing

_ADDITIVE = (ast.Add, ast.Sub)
_MULTIPLICATIVE = (ast.Mult, ast.Div, ast.MatMult)
_ATTRIBUTES = {"T": "T", "I": "inv"}
_METHODS = {"inv": "inv", "inverse": "inv", "transpose": "T"}
"""Methods a formula may call on a matrix, without arguments (SymPy's spellings): X.inv(), X.inverse(), X.transpose()."""
_DECIMAL = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d+))?")

_REFUSED_NODES = {
    ast.Subscript: "a subscript", ast.Slice: "a slice", ast.Lambda: "a lambda", ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension", ast.DictComp: "a comprehension", ast.GeneratorExp: "a generator expression",
    ast.JoinedStr: "a string", ast.FormattedValue: "a string", ast.Compare: "a comparison",
    ast.BoolOp: "a boolean operator", ast.IfExp: "a conditional expression", ast.NamedExpr: "an assignment (:=)",
    ast.Starred: "a starred argument", ast.keyword: "a keyword argument", ast.List: "a list", ast.Tuple: "a tuple",
    ast.Set: "a set", ast.Dict: "a dict", ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield",
}


def _where(node) -> str:
    """' at column N' (1-based; for an attribute, the column of its dot)."""
    if isinstance(node, ast.Attribute) and node.end_lineno == node.lineno and node.end_col_offset is not None:
        return f" at column {node.end_col_offset - len(node.attr)}"
    return f" at column {node.col_offset + 1}" if isinstance(node, (ast.expr, ast.keyword)) else ""


def _refuse(what: str, node=None, hint: str = "") -> ValueError:
    return ValueError(f"formula: refused {what}{_where(node) if node is not None else ''}{hint}")


def _number(node: ast.Constant, src: str):
    v = node.value
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        kind = {str: "a string", bytes: "a string", complex: "a complex number", bool: "a boolean"}.get(type(v))
        raise _refuse(kind or f"the constant {v!r}", node)
    if isinstance(v, int):
        return Fraction(v)
    text = (ast.get_source_segment(src, node) or "").replace("_", "")
    m = _DECIMAL.fullmatch(text)
    if not m:
        raise _refuse(f"the number {_short(text)}", node)
    if m.group(1) is not None and abs(int(m.group(1))) > _MAX_LITERAL_EXP10:
        raise ValueError(f"formula: the number {_short(text)}{_where(node)} is out of range "
                         f"(exponent at most {_MAX_LITERAL_EXP10})")
    return Fraction(text)


def _check_tree(tree: ast.Expression, names: frozenset) -> None:
    """Refuse every node outside the whitelist (dunder names first), then the depth limit."""
    nodes = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.expr_context, ast.operator, ast.unaryop)):
            continue  # markers of their parent node, not counted
        nodes.append(node)
        if len(nodes) > MAX_NODES:
            raise ValueError(f"formula: too large (more than {MAX_NODES} syntax nodes)")
    for node in nodes:  # dunder names first: the door to Python's internals
        name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""
        if name.startswith("__"):
            kind = f"attribute '.{name}'" if isinstance(node, ast.Attribute) else f"name '{name}'"
            raise _refuse(kind, node, " (dunder names are never allowed)")
    for node in nodes:  # then constructs a formula never contains
        if type(node) in _REFUSED_NODES:
            raise _refuse(_REFUSED_NODES[type(node)], node)
    callees = set()
    for node in nodes:
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Attribute) and f.attr in _METHODS:  # SymPy's X.inv(), X.inverse(), X.transpose()
                if node.args or node.keywords:
                    raise _refuse(f"arguments to .{f.attr}()", node, " (it takes none)")
                callees.add(id(f))
                continue
            if not isinstance(f, ast.Name) or f.id not in FUNCTIONS:
                what = f"'{f.id}'" if isinstance(f, ast.Name) else \
                    f"'.{f.attr}()'" if isinstance(f, ast.Attribute) else "an expression"
                raise _refuse(f"a call of {what}", node, f" (allowed: {', '.join(FUNCTIONS)})")
            if node.keywords:
                raise _refuse("a keyword argument", node.keywords[0], f" in {f.id}()")
            if len(node.args) != 1:
                raise _refuse(f"{f.id}() with {len(node.args)} arguments", node, " (exactly one is allowed)")
            callees.add(id(f))
        elif isinstance(node, ast.Attribute):
            if id(node) in callees:
                continue
            if node.attr not in _ATTRIBUTES:
                raise _refuse(f"attribute '.{node.attr}'", node, " (only .T and .I are allowed)")
        elif isinstance(node, ast.Name):
            if id(node) not in callees and node.id not in names:
                if node.id in FUNCTIONS:
                    raise _refuse(f"'{node.id}' without a call", node)
                hint = " (a transpose is written X.T, e.g. K.T)" if node.id == "T" else ""
                raise ValueError(f"formula: unknown symbol '{node.id}'{_where(node)}; known: "
                                 f"{', '.join(sorted(names))}{hint}")
        elif isinstance(node, ast.BinOp):
            if not isinstance(node.op, _ADDITIVE + _MULTIPLICATIVE + (ast.Pow,)):
                raise _refuse(f"the operator {type(node.op).__name__}", node, " (allowed: + - * / ** ^ @)")
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.UAdd, ast.USub)):
                raise _refuse(f"the unary operator {type(node.op).__name__}", node)
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                _number(node, "")  # raises, naming the constant
        elif not isinstance(node, ast.Expression):
            raise _refuse(f"a {type(node).__name__} node", node)
    # nesting depth, iteratively; a chain of the same kind of operator counts as one level
    stack = [(tree.body, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"formula: nested too deeply (more than {MAX_DEPTH} levels)")
        if isinstance(node, ast.BinOp):
            for kinds in (_ADDITIVE, _MULTIPLICATIVE):
                if isinstance(node.op, kinds):
                    left = node.left
                    same = isinstance(left, ast.BinOp) and isinstance(left.op, kinds)
                    stack.append((left, depth if same else depth + 1))
                    break
            else:
                stack.append((node.left, depth + 1))
            stack.append((node.right, depth + 1))
        elif isinstance(node, ast.UnaryOp):
            stack.append((node.operand, depth + 1))
        elif isinstance(node, ast.Attribute):
            stack.append((node.value, depth + 1))
        elif isinstance(node, ast.Call):
            receiver = node.func.value if isinstance(node.func, ast.Attribute) else node.func
            stack.append((node.args[0] if node.args else receiver, depth + 1))


def _build(node, src: str):
    """The checked tree as nested tuples (recursion depth bounded by MAX_DEPTH)."""
    if isinstance(node, ast.Constant):
        return ("num", _number(node, src))
    if isinstance(node, ast.Name):
        return ("sym", node.id)
    if isinstance(node, ast.UnaryOp):
        inner = _build(node.operand, src)
        return inner if isinstance(node.op, ast.UAdd) else ("neg", inner)
    if isinstance(node, ast.Attribute):
        return (_ATTRIBUTES[node.attr], _build(node.value, src))
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Attribute):
            return (_METHODS[node.func.attr], _build(node.func.value, src))
        assert isinstance(node.func, ast.Name)  # the whitelist admits no other callee
        return ("fn", node.func.id, _build(node.args[0], src))
    if isinstance(node.op, ast.Pow):
        return ("pow", _build(node.left, src), _build(node.right, src))
    kinds = _ADDITIVE if isinstance(node.op, _ADDITIVE) else _MULTIPLICATIVE
    chain = []
    while isinstance(node, ast.BinOp) and isinstance(node.op, kinds):
        chain.append((type(node.op), node.right))
        node = node.left
    terms = [(ast.Add, _build(node, src))] + [(op, _build(r, src)) for op, r in reversed(chain)]
    if kinds is _ADDITIVE:
        return ("sum", tuple((op is ast.Sub, t) for op, t in terms))
    return ("prod", tuple((op is ast.Div, t) for op, t in terms))


@functools.lru_cache(maxsize=512)
def _compile(formula: str, names: frozenset):
    text = formula.strip()
    src = text.replace("^", "**")  # SymPy's convert_xor: ^ is a power (strings are refused anyway)
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError as exc:
        col = f" at column {exc.offset}" if exc.offset else ""
        raise ValueError(f"formula: could not parse {_short(text)}: {exc.msg}{col}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ValueError(f"formula: could not parse {_short(text)} ({type(exc).__name__})") from None
    _check_tree(tree, names)
    return _build(tree.body, src)


def _run(node, env: dict):
    tag = node[0]
    if tag == "num":
        return node[1]
    if tag == "sym":
        return env[node[1]]
    if tag == "sum":
        out = None
        for negate, term in node[1]:
            t = _run(term, env)
            if negate:
                t = _neg(t)
            out = t if out is None else _add(out, t)
        return out
    if tag == "prod":
        out = None
        for divide, factor in node[1]:
            f = _run(factor, env)
            out = f if out is None else (_div(out, f) if divide else _mul(out, f))
        return out
    if tag == "pow":
        return _pow(_run(node[1], env), _run(node[2], env))
    if tag == "neg":
        return _neg(_run(node[1], env))
    if tag == "T":
        return _transpose(_run(node[1], env))
    if tag == "inv":
        return _inverse(_run(node[1], env))
    if tag == "fn":
        return FUNCTIONS[node[1]](_run(node[2], env))
    raise AssertionError(tag)  # pragma: no cover


def compile_formula(formula: str, names) -> tuple:
    """The checked syntax tree of ``formula`` over the symbols ``names`` (nested tuples: ``("num", Fraction)``,
    ``("sym", name)``, ``("sum", ((negated, term), ...))``, ``("prod", ((divided, factor), ...))``, ``("pow", base,
    exponent)``, ``("neg", x)``, ``("T", x)``, ``("inv", x)``, ``("fn", name, x)``), after the whitelist and the size
    limits of :func:`evaluate`; an evaluator other than the mpmath one (exact rationals, Arb balls) walks it.

    >>> compile_formula("2*x.T", {"x"})
    ('prod', ((False, ('num', Fraction(2, 1))), (False, ('T', ('sym', 'x')))))
    """
    if not isinstance(formula, str):
        raise TypeError(f"formula: expected a string, got {type(formula).__name__}")
    if not formula.strip():
        raise ValueError("formula: empty")
    if len(formula) > MAX_LENGTH:
        raise ValueError(f"formula: too long ({len(formula)} characters; at most {MAX_LENGTH})")
    return _compile(formula, frozenset(names))


def evaluate(formula: str, namespace: dict) -> Value:
    """Evaluate ``formula`` with the :class:`Value` objects of ``namespace`` (at the current precision).

    The formula is parsed through a whitelist, never run as Python; anything outside it, and every
    division by zero, singular inverse, complex or non-finite value, is ``ValueError("formula: ...")``.
    """
    if not isinstance(formula, str):
        raise TypeError(f"formula: expected a string, got {type(formula).__name__}")
    if not formula.strip():
        raise ValueError("formula: empty")
    if len(formula) > MAX_LENGTH:
        raise ValueError(f"formula: too long ({len(formula)} characters; at most {MAX_LENGTH})")
    if not isinstance(namespace, Mapping):
        raise TypeError(f"namespace: expected a mapping of symbols, got {type(namespace).__name__}")
    program = _compile(formula, frozenset(namespace))
    env = {}
    for name, v in namespace.items():
        val = _operand(v)
        if isinstance(val, Value):
            _real(val.v, f"symbol '{name}'")
        env[name] = val
    try:
        out = _run(program, env)
    except ZeroDivisionError:  # defensive: every known path raises ValueError first
        raise ValueError("formula: division by zero") from None
    out = _val(out)
    _real(out.v, "the result")
    return out

"""The formula checker of ``verify claim``: a whitelist parser that never runs a user's string as Python.

Covers a code-execution attack through attribute access (``__globals__``) and a family
of similar attempts (each refused with one line, quickly), exact decimal literals, division by zero and
singular inverses reported as bad input (exit 2, never REJECTED), NaN never counted as agreement, the
syntax SymPy users and ``sympy.sstr`` write (``@``, ``^``, ``.I``, ``inverse()``, ``Trace``, ``(1/2)*``), and
every formula the registered claims and the other tests accept or reject.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import time

import mpmath
import pytest
import sympy as sp
from mpmath import mp, mpf

import verify.kernel.compare as C
import verify.kernel.formula as F
import verify.kernel.registry
from verify.kernel.registry import claim_specs
from verify.cli import main
from verify.kernel.claim import ClaimPoint, ClaimSpec, check_formula
from verify.kernel.formula import Value, evaluate

QUICK = 1.0  # seconds: every refusal must come back this fast


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err):
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("verify: error:"), err


@pytest.fixture
def ns():
    """A generic 3 x 3 matrix A, a column x, a scalar s (plain mpmath numbers, as claim points hold)."""
    with mp.workdps(40):
        return {"A": mpmath.matrix([[2, 1, 0], [1, 3, 1], [0, 1, 4]]) + mpmath.matrix([[0, mpf(1) / 7, 0],
                                                                                       [0, 0, 0], [0, 0, 0]]),
                "x": mpmath.matrix([[1], [-2], [mpf(1) / 3]]), "s": mpf(5) / 4}


def ev(formula, namespace, dps=40):
    with mp.workdps(dps):
        return evaluate(formula, namespace)


def close(a: Value, b: Value, digits=35) -> bool:
    a, b = Value._coerce(a), Value._coerce(b)
    assert a.shape == b.shape
    with mp.workdps(40):
        return C.relative_error(a.v, b.v) < mpf(10) ** -digits


# ------------------------------------------------------------------ code injection and its family

ATTACK = ("(Gamma.__init__.__globals__.__setitem__('relative_error', "
          "Gamma.__init__.__globals__['__builtins__']['eval']('lambda value, reference: 0')) or 1)*V*Gamma*K.T*Q*z")
"""Drops V m and replaces the module's relative_error by 0: a parser that evaluates Python (``parse_expr``) would
report ACCEPTED (worst 0), and the patch would persist and corrupt every later honest check."""


def test_code_execution_attack_refused_and_nothing_patched(capsys):
    original = C.relative_error
    before = dict(vars(F))
    code, out, err = run(capsys, "claim", "gaussian-limit", "--formula", ATTACK)
    assert_one_line_error(code, err)
    assert "dunder" in err and "EQUAL" not in out
    assert C.relative_error is original
    assert {k: id(v) for k, v in vars(F).items()} == {k: id(v) for k, v in before.items()}
    # later honest checks are unaffected: the dropped-term formula is still rejected
    code, out, _ = run(capsys, "claim", "gaussian-limit", "--formula", "V*Gamma*K.T*Q*z")
    assert code == 1 and out.startswith("DIFFERENT")


INJECTIONS = [
    ATTACK,
    "Gamma.__init__.__globals__",
    "V.__class__",
    "V.__class__.__mro__[-1].__subclasses__()",
    "().__class__.__bases__[0].__subclasses__()",
    "__import__('os')",
    "__import__('os').system('true')",
    "__builtins__",
    '"{0.__class__}".format(V)',
    "'{0.__init__.__globals__}'.format(V)",
    "f'{V}'",
    "f'{V.__class__}'",
    "'V'",
    "b'V'",
    "getattr(V, 'T')",
    "getattr(V, '__class__')",
    "eval('V')",
    "exec('V')",
    "open('/etc/passwd')",
    "print(V)",
    "lambda: V",
    "(lambda: V)()",
    "(lambda v: v)(V)",
    "[V for _ in (1,)]",
    "[v for v in V]",
    "{v: v for v in V}",
    "sum(v for v in V)",
    "trace(V, out=1)",
    "trace(x=V)",
    "trace(*[V])",
    "trace(**{'x': V})",
    "trace(V, V)",
    "trace()",
    "V.v",
    "V._coerce",
    "V._sympy_()",
    "V.T.T.__dict__",
    "V[0]",
    "V[0:1]",
    "V if 1 else m",
    "(y := V)",
    "V == V",
    "V < V",
    "V and V",
    "not V",
    "~V",
    "V % 2",
    "V // 2",
    "V << 1",
    "V | m",
    "V & m",
    "1j*V",
    "True*V",
    "None",
    "...",
    "(V, m)",
    "[V]",
    "{V}",
    "{}",
    "trace",
    "sqrt",
    "os.system",
    "mpmath.inverse(V)",
    "foo*V",
    "V\x00",
    "V; V",
    "V =",
    "yield V",
    "await V",
    "V*m +",
    "",
    "   ",
    "V\n+ __import__('os')",
]


@pytest.mark.parametrize("formula", INJECTIONS, ids=range(len(INJECTIONS)))
def test_injection_family_refused_quickly_with_one_line(formula, ns):
    names = dict(ns, V=ns["A"], m=ns["x"], Gamma=ns["A"], K=ns["A"], Q=ns["A"], z=ns["x"])
    original = C.relative_error
    t0 = time.perf_counter()
    with pytest.raises(ValueError) as exc:
        ev(formula, names)
    assert time.perf_counter() - t0 < QUICK
    msg = str(exc.value)
    assert msg.startswith("formula:") and "\n" not in msg, msg
    assert C.relative_error is original


@pytest.mark.parametrize("formula", ["V.__class__", "__import__('os')", '"{0.__class__}".format(V)',
                                     "getattr(V, 'T')", "(lambda: V)()", "trace(V, out=1)",
                                     "[V for _ in (1,)]", "V*m + foo*z"])
def test_injections_exit_2_on_the_command_line(capsys, formula):
    code, _, err = run(capsys, "claim", "gaussian-limit", "--formula", formula)
    assert_one_line_error(code, err)


def test_refusal_names_what_was_refused(ns):
    cases = {"V.__class__": "'.__class__'", "__import__('os')": "'__import__'", "getattr(V, 'T')": "'getattr'",
             "(lambda: V)()": "lambda", "[v for v in V]": "comprehension", "trace(V, out=1)": "keyword",
             "V[0]": "subscript", "V.inv(2)": "arguments to .inv()", "V.pinv()": "'.pinv()'", "V.v": "'.v'", "foo*V": "unknown symbol 'foo'",
             "'V'": "string", "V == V": "comparison", "V if 1 else V": "conditional", "V % 2": "Mod"}
    for formula, needle in cases.items():
        with pytest.raises(ValueError, match="formula:") as exc:
            ev(formula, {"V": ns["A"]})
        assert needle in str(exc.value), (formula, str(exc.value))


LARGE = {
    "10^6 characters": "V+" * 500_000 + "V",
    "deeply nested parentheses": "(" * 10_000 + "V" + ")" * 10_000,
    "nested just under the length limit": "(" * 990 + "V" + ")" * 990,
    "2000 unary minus signs": "-" * 1999 + "V",
    "a tower of powers": "2**2**2**2**2**2",
    "a tower with ^": "2^2^2^2^2^2",
    "a tower of decimals": "2.5**2.5**2.5**2.5**2.5",
    "a huge power": "V**10000000000",
    "too many nodes": "V" + "+V" * 900,
    "a deep product chain of calls": "trace(" * 100 + "V" + ")" * 100,
    "a deep transpose chain": "V" + ".T" * 700,
    "a literal beyond range": "1e999999999*V",
}


@pytest.mark.parametrize("formula", list(LARGE.values()), ids=list(LARGE))
def test_large_or_deep_input_refused_quickly(formula, ns):
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="^formula:"):
        ev(formula, {"V": ns["A"]})
    assert time.perf_counter() - t0 < QUICK


def test_large_exact_numbers_stay_quick(ns):
    """Nested powers of numbers within |k| <= 64 leave the rationals for mpmath instead of growing forever."""
    t0 = time.perf_counter()
    v = ev("(((((((2.5**64)**64)**64)**64)**64)**64)**64)*x - (((((((5/2)**64)**64)**64)**64)**64)**64)**64*x", ns)
    assert time.perf_counter() - t0 < QUICK
    assert v.shape == (3, 1)
    t0 = time.perf_counter()
    assert ev("((A**64)**64)**64", ns).shape == (3, 3)  # huge but finite entries: mpmath has no overflow
    assert time.perf_counter() - t0 < QUICK


def test_long_sums_within_limits_are_accepted(ns):
    """A chain ``a + b + ...`` counts as one level of nesting: expanded formulas are not refused as deep."""
    v = ev("+".join(["x"] * 300), ns)
    assert close(v, ev("300*x", ns))
    v = ev("*".join(["s"] * 60), ns)
    assert close(v, ev("s**60", ns))


def test_source_never_evaluates_python():
    """No eval/exec/compile/parse_expr/__import__ anywhere in verify/kernel/formula.py."""
    tree = ast.parse(inspect.getsource(F))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in {"eval", "exec", "compile", "__import__", "getattr"}, node.func.id
        if isinstance(node, (ast.Name, ast.Attribute)):
            name = node.id if isinstance(node, ast.Name) else node.attr
            assert name not in {"parse_expr", "sympify", "eval", "exec"}, name


# ------------------------------------------------------------------------------- what a formula may say


def test_matmul_caret_and_inverse_spellings(ns):
    assert close(ev("A @ x", ns), ev("A*x", ns))
    assert close(ev("x.T @ A @ x", ns), ev("x.T*A*x", ns))
    assert close(ev("A^2", ns), ev("A*A", ns)) and close(ev("A^2", ns), ev("A**2", ns))
    assert ev("2^3", ns).v == 8
    inv = ev("A**-1", ns)
    for spelling in ("A.I", "inverse(A)", "inv(A)", "A**(-1)", "1/A*1"):
        assert close(ev(spelling, ns), inv), spelling
    assert close(ev("A.I*A", ns), Value(mpmath.eye(3)))
    assert close(ev("(A.I)**-2", ns), ev("A*A", ns))
    assert close(ev("A**-3*A**3", ns), Value(mpmath.eye(3)))
    assert close(ev("tr(A) - trace(A) + Trace(A.T)", ns), ev("trace(A)", ns))
    assert close(ev("sqrt(s)**2", ns), Value(ns["s"]))
    assert close(ev("s**0.5 - sqrt(s)", ns), Value(mpf(0)), digits=38)


def test_decimals_are_exact_rationals():
    with mp.workdps(60):
        for text, exact in [("0.1", mpf(1) / 10), ("1e-1", mpf(1) / 10), ("1E-1", mpf(1) / 10), (".5", mpf(1) / 2),
                            ("5.", mpf(5)), ("1.5e2", mpf(150)), ("1_000.25", mpf(4001) / 4), ("0.3", mpf(3) / 10),
                            ("1e-30", mpf(1) / mpf(10) ** 30), ("2.5e+3", mpf(2500)), ("0x10", mpf(16))]:
            assert evaluate(text, {}).v == exact, text
        # exact arithmetic among numbers: 0.1 + 0.2 - 0.3 is zero, so dividing by it is division by zero
        assert evaluate("0.1 + 0.2 - 0.3", {}).v == 0
        assert evaluate("(1/3)*3 - 1", {}).v == 0
        assert abs(evaluate("1/3", {}).v - mpf(1) / 3) < mpf(10) ** -59


def test_precision_follows_the_caller(ns):
    with mp.workdps(80):
        v = evaluate("sqrt(2)", {}).v
        assert abs(v - mpmath.sqrt(2)) < mpf(10) ** -79
    with mp.workdps(15):
        assert mp.dps == 15 and abs(evaluate("sqrt(2)", {}).v - mpmath.sqrt(2)) < 1e-14
    assert mp.dps == 15  # untouched


def test_exponent_rules(ns):
    a64 = ev("A**64", ns)
    assert close(a64, ev("*".join(["A"] * 64), ns), digits=30) and close(ev("A**-64", ns), ev("(A.I)**64", ns), 30)
    for bad, needle in [("A**65", "too large"), ("s**-65", "too large"), ("A**0.5", "integer"),
                        ("A**x", "scalar"), ("(-s)**0.5", "complex"), ("sqrt(-s)", "negative"),
                        ("x**2", "non-square"), ("0**-1", "division by zero")]:
        with pytest.raises(ValueError, match="formula:.*" + needle):
            ev(bad, ns)
    assert close(ev("s**(1/2)", ns), ev("sqrt(s)", ns))
    assert close(ev("(-s)**3", ns), ev("-s*s*s", ns))


def test_shape_errors_are_bad_input(ns):
    for bad in ["A + x", "x*x", "A/A", "x/x", "trace(x)", "sqrt(A)", "x**-1"]:
        with pytest.raises(ValueError, match="^formula:"):
            ev(bad, ns)


def test_sstr_of_sympy_matrix_expressions_parses(ns):
    """Proofs call evaluate(sp.sstr(expr), namespace): everything sstr prints for these must parse."""
    n = 3
    A, x, I = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("x", n, 1), sp.Identity(n)
    names = dict(ns, I=mpmath.eye(3))
    exprs = [A * x + A.T * A * x, sp.Rational(1, 2) * (A * x + A * A * x), A ** -1 * x, sp.Trace(A * A.T) * x,
             (A * A).T * x, -A * x, sp.Inverse(A * A) * x, sp.sqrt(2) * A * x, sp.Float("0.5") * A * x,
             (A - I) * x, sp.Trace(A) ** 2 * x, x.T * A * x, A ** 2 * x, sp.Rational(-3, 2) * A * x,
             sp.Float("1e-30") * x, sp.Trace(A) / sp.Trace(A * A) * x, sp.sqrt(sp.Trace(A)) * x,
             sp.MatAdd(A * x, A * A * x, evaluate=False)]
    with mp.workdps(40):
        An, xn = ns["A"], ns["x"]
        tr = lambda M: mpmath.fsum(M[i, i] for i in range(n))  # noqa: E731
        direct = [An * xn + An.T * An * xn, (An * xn + An * An * xn) / 2, mpmath.inverse(An) * xn,
                  tr(An * An.T) * xn, (An * An).T * xn, -An * xn, mpmath.inverse(An * An) * xn,
                  mpmath.sqrt(2) * An * xn, An * xn / 2, (An - mpmath.eye(3)) * xn, tr(An) ** 2 * xn,
                  (xn.T * An * xn)[0, 0], An * An * xn, -mpf(3) / 2 * An * xn, mpf(10) ** -30 * xn,
                  tr(An) / tr(An * An) * xn, mpmath.sqrt(tr(An)) * xn, An * xn + An * An * xn]
        for e, d in zip(exprs, direct):
            text = sp.sstr(e)
            assert close(evaluate(text, names), Value(d), digits=35), text


# ------------------------------------------------------------------------------- claims: exit 0 / 1 / 2


DECIMALS = ["0.1*(10*V*m + 10*V*Gamma*K.T*Q*z)", "1e-1*(10*V*m + 10*V*Gamma*K.T*Q*z)",
            "0.5*V*m + 0.5e0*V*m + V*Gamma*K.T*Q*z", "V*(m + Gamma*K.T*Q*z)*1.000", "2.5e-1*V*m*4 + V*Gamma@K.T@Q@z"]


@pytest.mark.parametrize("formula", DECIMALS)
def test_decimal_literals_accepted(capsys, formula):
    code, out, _ = run(capsys, "claim", "gaussian-limit", "--formula", formula)
    assert code == 0 and out.startswith("EQUAL (proved)"), out


@pytest.mark.parametrize("formula", [
    "V*m/0",
    "V*m + V*(Gamma - Gamma)**-1*K.T*Q*z",
    "V*m + V*inverse(Gamma - Gamma)*K.T*Q*z",
    "V*m + V*(Gamma - Gamma).I*K.T*Q*z",
    "V*m/(0.1 + 0.2 - 0.3)",
    "V*m/(trace(Gamma) - trace(Gamma))",
    "V*m + V*(m*m.T + 10**-60*Gamma)**-1*K.T*Q*z",  # numerically singular: its inverse would overflow the digits
    "V*m*sqrt(-1)",
    "V*m*(-1)**0.5",
    "V*m + foo*z",
    "V*m + V*Gamma",
])
def test_bad_formulas_exit_2_with_one_line(capsys, formula):
    t0 = time.perf_counter()
    code, out, err = run(capsys, "claim", "gaussian-limit", "--formula", formula)
    assert_one_line_error(code, err)
    assert "formula:" in err and not out
    assert time.perf_counter() - t0 < 30


def test_ill_conditioned_inverse_refused(ns):
    with mp.workdps(40):
        near = mpmath.matrix([[1, 1], [1, 1 + mpf(10) ** -38]])
        with pytest.raises(ValueError, match="formula:.*singular"):
            evaluate("N**-1", {"N": near})
        fine = mpmath.matrix([[1, 1], [1, 1 + mpf(10) ** -20]])  # 20 good digits are left: allowed
        assert evaluate("N.I*N", {"N": fine}).shape == (2, 2)


# -- a ClaimSpec of our own: A x at a few points --------------------------------------------------------


def _points(seed, *, refs=None, nan_value_at=None):
    pts = []
    with mp.workdps(40):
        for i, d in enumerate((1, 2, 3)[: len(refs) if refs else 3]):
            A = mpmath.matrix([[mpf(1 + i + j + 2 * k * (j == k)) / (1 + k) for k in range(d)] for j in range(d)])
            x = mpmath.matrix([[mpf(j + 1) / 3] for j in range(d)])
            ref = A * x
            if refs is not None and refs[i] is not None:
                ref = refs[i](ref)
            values = {"A": A, "x": x}
            if nan_value_at == i:
                values["x"] = mpmath.matrix([[mpf("nan")] for _ in range(d)])
            pts.append(ClaimPoint(d, values, ref))
    return pts


def _spec(name, **kw):
    return ClaimSpec(id=f"test-formula-{name}", statement_id="none", summary="A x", symbols_help="A, x",
                     domains={"A": "matrix", "x": "vector"},
                     example="A*x", expected_shape=lambda d: (d, 1),
                     points=functools.partial(_points, **kw), wrong_examples=("A.T*x",))


def _nan(ref):
    out = ref.copy()
    out[0] = mpf("nan")
    return out


def _off(ref):
    out = ref.copy()
    out[0] += 1
    return out


def test_own_spec_accepts_and_rejects():
    spec = _spec("plain")
    assert check_formula(spec, "A*x").accepted and check_formula(spec, "A @ x").accepted
    assert check_formula(spec, "(A.T*A.T.I*A)*x").accepted
    v = check_formula(spec, "A.T*x")
    assert not v.accepted and v.worst_dim in (2, 3)


def test_nan_reference_at_second_point_is_bad_input(capsys, monkeypatch):
    spec = _spec("nan-second", refs=(None, _nan))
    with pytest.raises(ValueError, match="NaN"):
        check_formula(spec, "A*x")
    monkeypatch.setattr(verify.kernel.registry, "claim_specs", lambda: {spec.id: spec})
    code, out, err = run(capsys, "claim", spec.id, "--formula", "A*x")
    assert_one_line_error(code, err)
    assert "EQUAL" not in out


def test_nan_reference_at_first_point_and_nan_values_are_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        check_formula(_spec("nan-first", refs=(_nan, None)), "A*x")
    with pytest.raises(ValueError, match="NaN"):
        check_formula(_spec("nan-value", nan_value_at=1), "A*x")


def test_worst_case_never_skips_a_point():
    """A point that disagrees after an agreeing first point is the worst one."""
    v = check_formula(_spec("off-second", refs=(None, _off)), "A*x")
    assert not v.accepted and v.worst_dim == 2 and v.worst_error > 0.01


def test_relative_error_and_digits_never_agree_on_nan():
    assert C.relative_error(mpmath.matrix([[1], [2]]), mpmath.matrix([[1], [mpf("nan")]])) == mpf("inf")
    assert C.relative_error(mpf("inf"), mpf(1)) == mpf("inf")
    assert C.digits_between(mpf("nan"), mpf(1)) == 0.0
    assert C.digits_between(mpf("1.0000001"), mpf(1)) == 7.0


def test_nan_in_namespace_refused():
    with pytest.raises(ValueError, match="formula:.*NaN"):
        ev("A*x", {"A": mpf("nan"), "x": mpf(1)})


# -- every registered claim and the formulas of the other tests -------------------------------------------

SPECS = claim_specs()
CASES = [(cid, s.example, 0) for cid, s in SPECS.items()]
CASES += [(cid, f, 0) for cid, s in SPECS.items() for f in getattr(s, "equivalents", ())]
CASES += [(cid, f, 1) for cid, s in SPECS.items() for f in s.wrong_examples]
# formulas of tests/test_cli.py and tests/test_icl_risk.py
CASES += [("gaussian-limit", "V*(m + Gamma*K.T*Q*z)", 0), ("gaussian-limit", "V*(Gamma + m*m.T)*K.T*Q*z", 1)]
if "linear-limit" in SPECS:
    CASES += [("linear-limit", "V*(Gamma + m*m.T)*K.T*Q*z", 0)]
if "icl-risk-infinite" in SPECS:
    _icl = importlib.import_module("proofs.icl_risk_infinite")
    CASES += [("icl-risk-infinite", f, 0) for f in getattr(_icl, "CLAIM_EQUIVALENTS", ())]
    CASES += [("icl-risk-infinite", SPECS["icl-risk-infinite"].example + " + 1/10**15", 1)]


@pytest.mark.parametrize("claim_id, formula, expected", CASES,
                         ids=[f"{c}-{'ok' if e == 0 else 'wrong'}-{i}" for i, (c, _, e) in enumerate(CASES)])
def test_registered_claims_exit_codes(capsys, claim_id, formula, expected):
    code, out, err = run(capsys, "claim", claim_id, "--formula", formula)
    assert code == expected, (out, err)
    assert out.startswith("EQUAL (proved)" if expected == 0 else "DIFFERENT")


def test_gaussian_limit_claim_is_registered():
    assert "gaussian-limit" in SPECS and len(SPECS) >= 2


def test_sympy_method_spellings_of_the_inverse_and_transpose(ns):
    """SymPy's own idioms X.inv(), X.inverse() and X.transpose() read as X**-1 and X.T; other methods stay refused."""
    assert close(ev("A.inv()", ns), ev("A**-1", ns)) and close(ev("A.inverse()*x", ns), ev("A**-1*x", ns))
    assert close(ev("x.transpose()*A*x", ns), ev("x.T*A*x", ns))
    with pytest.raises(ValueError, match="unknown symbol 'T'.*K.T"):
        ev("x^T*x", ns)

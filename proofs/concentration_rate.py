r"""The sharp exponent of Prop 3.1 for a Gaussian prompt, and the literal L = 1 boundary of Props 3.1/3.4.

**Statement (sharp-exponent).**  Let \mu = N(0, \sigma^2 I_d), \nu = N(0, I_d), V \neq 0, s = \sigma \|U\|_{op}.  Then

    E \| T[\hat\mu_L] - T[\mu] \|^2_{L^2(\nu)} = L^{-\alpha(s) + o(1)},
    \alpha(s) = 1  (s^2 <= 1/2),    \alpha(s) = (\sqrt{1 + 4/s^2} - 1)/2  (s^2 >= 1/2).

So the paper's form L^{-c_2/\sigma^2} (Prop 3.1) has the right large-\sigma behaviour (\sigma^2 \alpha -> 1/\|U\|^2_{op}),
but \sigma^2 \alpha(\sigma u) increases with \sigma: the largest c_2 valid for every \sigma >= 1 is \alpha(\|U\|_{op}).

**Derivation.**  Per query the error is a self-normalised importance-sampling error: tokens carry weights
w = e^{\tau g}, g ~ N(0, 1), \tau = \sigma |U z|, and the target is the N(\tau, 1) mean.  Up to polynomial factors the
MSE is L E[min(1, (w / (L E w))^2) (g - \tau)^2]; with \ell = \ln L, \tau^2 = c \ell and one token at g = t the exponent
is \ell + \min(0, 2\tau t - 2\ell - \tau^2) - t^2/2.  The Laplace principle (assumption) takes its maximum over t:
at the free stationary point t = 2\tau (CLT regime, c <= 2/3) or at the kink t* = \ell/\tau + \tau/2 where a single
token carries the sum (assumption: single big jump, 2/3 <= c <= 2); for c >= 2 the estimate is stuck below the target
and the error is O(\tau^2) (exponent 0).  Averaging over the query adds the Gaussian tail -\tau^2/(2 s^2) of
\tau along the top singular direction; maximising f(c) = e(c) - c/(2 s^2) gives \alpha(s).
"""

from __future__ import annotations

import sympy as sp

from verify.kernel.statement import Statement
from verify.kernel.derivation import Assumption, Derivation, by, maps, relation
from verify.kernel.evidence import Mutant, bound, z_test
from verify.concentration.exponent import (boundary_estimate, laplace_gap, mc_spot_estimate, ratio_growth, slope_gap,
                                   spot_exact)

ell, tau, t, c, s, sigma, u, y = sp.symbols("ell tau t c s sigma u y", positive=True)
x = sp.Symbol("x", positive=True)  # x = sqrt(c)

E_CLT = c - 1
E_MID = -(1 / sp.sqrt(c) - sp.sqrt(c) / 2) ** 2 / 2
ALPHA = (sp.sqrt(1 + 4 / s**2) - 1) / 2
"""\\alpha(s) for s^2 >= 1/2 (and 1 below)."""

STATEMENT_TEX = (r"\mathbb E\,\|T[\hat\mu_L]-T[\mu]\|^2_{L^2(\nu)} = L^{-\alpha(s)+o(1)},\quad "
                 r"\alpha(s) = \begin{cases} 1 & s^2 \le \tfrac12 \\ \tfrac12\big(\sqrt{1+4/s^2}-1\big) & s^2 \ge \tfrac12"
                 r"\end{cases},\quad s = \sigma\|U\|_{op}")


def alpha_closed_form(p: dict) -> float:
    """The statement's \\alpha at a point {sigma, u} (u = \\|U\\|_op): the subject of the rate checks."""
    sv = p["sigma"] * p["u"]
    return 1.0 if sv * sv <= 0.5 else float(ALPHA.subs(s, sp.nsimplify(sv)))


def _e_of(form):
    """A per-query exponent e(c) as a function of the point {c} (for the assumption checks and their mutants)."""
    return lambda p: float(form(sp.nsimplify(p["c"])))


def _e_true(cv):
    return E_CLT.subs(c, cv) if cv <= sp.Rational(2, 3) else (E_MID.subs(c, cv) if cv <= 2 else sp.S(0))


# ------------------------------------------------------------------------------------------ assumptions

LAPLACE_POINTS = [{"c": cv, "ell": 200.0, "label": f"c={cv}, ell=200"} for cv in (0.4, 0.5, 0.6)]
JUMP_POINTS = [{"c": cv, "ell": 200.0, "label": f"c={cv}, ell=200"} for cv in (1.0, 1.5, 4.0)]
LAPLACE_DESC = ("per-query exact log-MSE ln F(sqrt(c ell), e^ell)/ell (exact reduction, no sampling) within "
                "2 ln(ell)/ell of e(c) at ell = 200; figure ell |ln F/ell - e(c)| / ln ell")

LAPLACE = Assumption(
    "laplace-principle",
    r"$\ln \mathbb E[\cdot] = \ell \max_t \phi(t) + O(\ln \ell)$: the exponent is the maximum over the position $t$",
    rule=lambda e: e.subs(t, sp.solve(sp.diff(e, t), t)[0]),
    check=bound("laplace-principle", _e_of(_e_true), laplace_gap, LAPLACE_POINTS, threshold=2.0, kind="rate",
                what="ell |ln F/ell - e(c)| / ln ell", description=LAPLACE_DESC,
                mutants=[Mutant("CLT exponent 2(c - 1)", _e_of(lambda cv: 2 * (cv - 1))),
                         Mutant("no variance growth: -1", _e_of(lambda cv: sp.S(-1)))]))

BIG_JUMP = Assumption(
    "single-big-jump",
    r"for $2\ell/3 \le \tau^2 \le 2\ell$ the error is carried by one token above $t^* = \ell/\tau + \tau/2$; "
    r"for $\tau^2 \ge 2\ell$ it is $O(\tau^2)$",
    rule=lambda e: e.subs(t, sp.solve(2 * tau * t - 2 * ell - tau**2, t)[0]),
    check=bound("single-big-jump", _e_of(_e_true), laplace_gap, JUMP_POINTS, threshold=2.0, kind="rate",
                what="ell |ln F/ell - e(c)| / ln ell", description=LAPLACE_DESC,
                mutants=[Mutant("CLT exponent everywhere", _e_of(lambda cv: cv - 1)),
                         Mutant("middle regime without 1/2", _e_of(lambda cv: 2 * _e_true(cv))),
                         Mutant("middle branch continued past c=2",
                                _e_of(lambda cv: E_MID.subs(c, cv) if cv > sp.Rational(2, 3) else cv - 1))]))

# ------------------------------------------------------------------------------------------ derivations


def derivation_clt() -> Derivation:
    """CLT regime: the free maximum over t at t = 2\\tau gives \\tau^2 - \\ell = \\ell (c - 1)."""
    phi = ell + (2 * tau * t - 2 * ell - tau**2) - t**2 / 2
    d = Derivation("CLT regime: e = c - 1", phi, start_tex=r"\ell + 2\tau t - 2\ell - \tau^2 - t^2/2",
                   conclusion=ell * E_CLT)
    d.step(tau**2 - ell, r"Laplace: maximum over $t$ at the stationary point $t = 2\tau$", check=by(LAPLACE),
           rhs_tex=r"\tau^2 - \ell")
    d.step(ell * (c - 1), r"$\tau^2 = c\ell$", check=maps(r"$\tau = \sqrt{c\ell}$", lambda e: e.subs(tau, sp.sqrt(c * ell))),
           rhs_tex=r"\ell (c - 1)")
    return d


def derivation_clt_validity() -> Derivation:
    """The stationary point t = 2\\tau lies in the region w <= L E w iff 3\\tau^2 <= 2\\ell, i.e. c <= 2/3."""
    d = Derivation("CLT regime holds for c <= 2/3", 2 * tau * t - 2 * ell - tau**2,
                   start_tex=r"2\tau t - 2\ell - \tau^2", conclusion=ell * (3 * c - 2))
    d.step(3 * tau**2 - 2 * ell, r"at $t = 2\tau$", check=maps(r"$t = 2\tau$", lambda e: e.subs(t, 2 * tau)))
    d.step(ell * (3 * c - 2), r"$\tau^2 = c\ell$: $\le 0$ iff $c \le 2/3$",
           check=maps(r"$\tau = \sqrt{c\ell}$", lambda e: e.subs(tau, sp.sqrt(c * ell))))
    return d


def derivation_middle() -> Derivation:
    """Single big token: the exponent at the kink t* = \\ell/\\tau + \\tau/2 is -\\ell (1/\\sqrt c - \\sqrt c/2)^2/2."""
    d = Derivation("single-big-token regime", ell - t**2 / 2, start_tex=r"\ell - t^2/2", conclusion=ell * E_MID)
    d.step(ell - (ell / tau + tau / 2) ** 2 / 2, r"one token carries the sum: $t^* = \ell/\tau + \tau/2$",
           check=by(BIG_JUMP))
    d.step(-(ell / tau - tau / 2) ** 2 / 2, r"$(a + b)^2 = (a - b)^2 + 4ab$, $ab = \ell/2$")
    d.step(ell * E_MID, r"$\tau^2 = c\ell$", check=maps(r"$\tau = \sqrt{c\ell}$", lambda e: e.subs(tau, sp.sqrt(c * ell))),
           rhs_tex=r"-\frac{\ell}{2}\Big(\frac{1}{\sqrt c} - \frac{\sqrt c}{2}\Big)^2")
    return d


def derivation_continuity(at, left, right, name) -> Derivation:
    d = Derivation(f"e(c) continuous at c = {at}", left - right, conclusion=sp.S(0))
    d.step(sp.S(0), f"both branches at $c = {sp.latex(at)}$", check=maps(f"$c = {sp.latex(at)}$", lambda e: e.subs(c, at)))
    return d


def derivation_stationary() -> Derivation:
    """f(x) = e(x^2) - x^2/(2 s^2) in the middle regime: f'(x) = 0 at x^4 = 4 s^2/(s^2 + 4)."""
    f = E_MID.subs(c, x**2) - x**2 / (2 * s**2)
    d = Derivation("stationary point of the middle regime", f, conclusion=4 * s**2 / (s**2 + 4),
                   start_tex=r"f(x) = -\tfrac12 (1/x - x/2)^2 - x^2/(2s^2)")
    d.step(1 / x**3 - x / 4 - x / s**2, "differentiate in $x$", check=maps(r"$d/dx$", lambda e: sp.diff(e, x)))
    d.step(4 * s**2 / (s**2 + 4), r"the positive root of $f'(x) = 0$, raised to the 4th power ($x^4$)",
           check=maps(r"solve $f'(x) = 0$, $x > 0$; $x^4$",
                      lambda e: [r for r in sp.solve(sp.numer(sp.together(e)), x) if r.is_positive][0] ** 4))
    return d


def _equal_positive(lhs, rhs):
    """lhs = rhs for s > 0: the difference simplifies to 0 (SymPy, s declared positive) and vanishes at s = 1, 2, 7/3."""
    diff = sp.simplify(lhs - rhs)
    vals = [sp.simplify((lhs - rhs).subs(s, v)) for v in (1, 2, sp.Rational(7, 3))]
    ok = diff == 0 and all(v == 0 for v in vals)
    return ok, "simplifies to 0 for s > 0; 0 at s = 1, 2, 7/3" if ok else f"difference {diff}"


def derivation_alpha() -> Derivation:
    """\\alpha(s) = -f(x*): the value at the stationary point."""
    xs = sp.sqrt(2) * sp.sqrt(s) / (s**2 + 4) ** sp.Rational(1, 4)
    f = E_MID.subs(c, x**2) - x**2 / (2 * s**2)
    d = Derivation("the exponent alpha(s)", -f, start_tex=r"-f(x)", conclusion=ALPHA)
    d.step(-f.subs(x, xs), r"at $x^* = (4s^2/(s^2+4))^{1/4}$", check=maps("$x = x^*$", lambda e: e.subs(x, xs)))
    d.step(ALPHA, "simplify ($s > 0$)", check=relation("equal for s > 0", _equal_positive),
           rhs_tex=r"\tfrac12\big(\sqrt{1 + 4/s^2} - 1\big)")
    return d


def derivation_regime_of_optimum() -> Derivation:
    """c*^2 - (2/3)^2 = 16 (2s^2 - 1) / (9 (s^2 + 4)): the optimum is in the middle regime iff s^2 >= 1/2."""
    d = Derivation("the optimum is in the middle regime iff s^2 >= 1/2", 4 * s**2 / (s**2 + 4) - sp.Rational(4, 9),
                   start_tex=r"c^{*2} - (2/3)^2", conclusion=16 * (2 * s**2 - 1) / (9 * (s**2 + 4)))
    d.step(16 * (2 * s**2 - 1) / (9 * (s**2 + 4)), "common denominator")
    return d


def derivation_boundary() -> Derivation:
    d = Derivation("alpha = 1 at s^2 = 1/2 (continuous with the CLT branch)", ALPHA, conclusion=sp.S(1))
    d.step(sp.S(1), r"$s = 1/\sqrt2$", check=maps(r"$s^2 = 1/2$", lambda e: e.subs(s, 1 / sp.sqrt(2))))
    return d


def derivation_limit() -> Derivation:
    d = Derivation("sigma^2 alpha -> 1/u^2", sigma**2 * ALPHA.subs(s, sigma * u), conclusion=1 / u**2,
                   start_tex=r"\sigma^2 \alpha(\sigma u)")
    d.step(1 / u**2, r"$\sigma \to \infty$", check=maps(r"$\lim_{\sigma\to\infty}$", lambda e: sp.limit(e, sigma, sp.oo)))
    return d


def _positive(lhs, rhs):
    """lhs > 0 for y > 0: (2 lhs + 1) > 0 and (2 lhs + 1)^2 - 1 > 0 (SymPy's assumptions decide both)."""
    q = sp.simplify(2 * lhs + 1)
    ok = rhs == 0 and bool(q.is_positive) and bool(sp.simplify(q**2 - 1).is_positive)
    return ok, "(2 lhs + 1) > 0 and (2 lhs + 1)^2 > 1" if ok else "positivity not established"


def derivation_monotone() -> Derivation:
    """h(y) = s^2 \\alpha(s) at y = s^2 >= 1/2 is increasing (below, h = y): so \\sigma^2 \\alpha(\\sigma u) increases."""
    h = (sp.sqrt(y**2 + 4 * y) - y) / 2
    d = Derivation("sigma^2 alpha(sigma u) increases with sigma", h, start_tex=r"h(y) = s^2\alpha(s),\ y = s^2",
                   conclusion=sp.S(0), conclusion_check=relation("h'(y) > 0", _positive, symbol=">"))
    d.step(((y + 2) / sp.sqrt(y**2 + 4 * y) - 1) / 2, "differentiate in $y$", check=maps("$d/dy$", lambda e: sp.diff(e, y)))
    return d


def derivations() -> list[Derivation]:
    return [derivation_clt(), derivation_clt_validity(), derivation_middle(),
            derivation_continuity(sp.Rational(2, 3), E_CLT, E_MID, "2/3"), derivation_continuity(2, E_MID, sp.S(0), "2"),
            derivation_stationary(), derivation_regime_of_optimum(), derivation_alpha(), derivation_boundary(),
            derivation_limit(), derivation_monotone()]


# ------------------------------------------------------------------------------------------ evidence

WRONG_ALPHAS = [
    Mutant("paper form c2/sigma^2 with c2 = 1", lambda p: 1.0 / p["sigma"] ** 2),
    Mutant("1/(2 s^2)", lambda p: 1.0 / (2 * (p["sigma"] * p["u"]) ** 2)),
    Mutant("min(1, 1/(2 s^2))", lambda p: min(1.0, 1.0 / (2 * (p["sigma"] * p["u"]) ** 2))),
]
SLOPE_DESC = ("local slope d ln E/d ln L of the exact curve (no sampling) between two large L: within 1/ell of -alpha "
              "(Laplace: the correction is O(1/ell)); figure ell |slope + alpha|")


def _slope_points(Ls, sigmas):
    return [{"sigma": sv, "u": 1.0, "d": 1, "Ls": Ls, "label": f"sigma={sv}, L={Ls[0]:.0e}..{Ls[1]:.0e}"} for sv in sigmas]


SLOPE = bound("slope-convergence", alpha_closed_form, slope_gap, _slope_points((1e14, 1e16), (1.0, 1.5)), threshold=1.0,
              kind="rate", what="ell |slope + alpha|", description=SLOPE_DESC, mutants=WRONG_ALPHAS)
SLOPE_FAR = bound("slope-convergence-1e60", alpha_closed_form, slope_gap,
                  _slope_points((1e50, 1e60), (0.5, 1.0, 1.5, 2.0)), threshold=1.0, kind="rate", slow=True,
                  what="ell |slope + alpha|", description=SLOPE_DESC + " (L up to 10^60)", mutants=WRONG_ALPHAS)

SPOT_POINTS = [{"sigma": sv, "u": 1.0, "d": 1, "L": L, "label": f"sigma={sv}, L={L}"}
               for sv, L in ((0.5, 10), (0.5, 1000), (1.0, 10), (1.0, 100))]
SPOT = z_test("exact-vs-montecarlo", spot_exact, mc_spot_estimate, SPOT_POINTS, resolve=0.3,
              description="the exact curve (subject) against brute-force Monte Carlo of the definition (batch means, "
              "query tail sampled 2x wider; smallest detectable relative error <= 0.15 over seeds 0-59, required <= 0.3)",
              mutants=[Mutant("exact curve 30% high", lambda p: 1.3 * spot_exact(p)),
                       Mutant("exact curve 30% low", lambda p: 0.7 * spot_exact(p))])

RATIO_POINTS = [{"sigma": sv, "u": 1.0, "d": 1, "Ls": (1e8, 1e10), "label": f"sigma={sv}"} for sv in (1.0, 2.0)]
REPAIRED = bound("repaired-bound-c2", lambda p: alpha_closed_form({"sigma": 1.0, "u": p["u"]}), ratio_growth,
                 RATIO_POINTS, threshold=0.0, kind="rate", slow=True, what="d ln R / d ln L",
                 description="with c2 = alpha(||U||), R(L) = E(L) L^{c2/sigma^2} / (sigma^6 ln L) does not grow at large L",
                 mutants=[Mutant("c2 = 1", lambda p: 1.0)])

STATEMENT = Statement(
    id="sharp-exponent", number="Prop 3.1 (sharp)", order=3.15,
    title="The sharp concentration exponent for a Gaussian prompt",
    summary="E||T[mu_L] - T[mu]||^2 = L^(-alpha(s)+o(1)), alpha = 1 (s^2 <= 1/2), (sqrt(1+4/s^2)-1)/2, s = sigma||U||",
    source="paper Sec. 2.2 (Prop 3.1), issue 8; derived here", statement_tex=STATEMENT_TEX,
    hypotheses_tex=[r"\mu = \mathcal N(0, \sigma^2 I_d),\ \nu = \mathcal N(0, I_d),\ V \ne 0"],
    derivations=derivations, checks=[SLOPE, SLOPE_FAR, SPOT, REPAIRED],
    notes_tex=[r"$\sigma^2\alpha(\sigma u)$ increases to $1/u^2$: the largest $c_2$ valid for all $\sigma \ge 1$ is "
               r"$\alpha(u)$, $u = \|U\|_{op}$.",
               r"The local slope converges like $1/\ln L$: at $L = 10^{12}$ it reads $-0.60$ for $\alpha = 0.618$."],
)

# ------------------------------------------------------------------------------------------ L = 1 boundary

Z1 = sp.Symbol("z_1", real=True)
c1, c2 = sp.symbols("c_1 c_2", positive=True)
L = sp.Symbol("L", positive=True)


def derivation_witness() -> Derivation:
    """d = 1, \\mu = \\nu = N(0,1), K = 0, V = 1: T[\\hat\\mu_1](z) = z_1, T[\\mu] = 0, so E|.|^2 = E z_1^2 = 1."""
    d = Derivation("left side at L = 1", (Z1 - 0) ** 2, start_tex=r"\|T[\hat\mu_1](z) - T[\mu](z)\|^2 = (z_1 - 0)^2",
                   conclusion=sp.S(1))
    d.step(sp.S(1), r"$\mathbb E z_1^2 = 1$ for $z_1 \sim \mathcal N(0,1)$",
           check=maps(r"$\mathbb E_{z_1}$", lambda e: sp.expand(e).subs(Z1**2, 1)))
    return d


def derivation_right() -> Derivation:
    d = Derivation("right side at L = 1", c1 * sigma**6 * sp.log(L) / L ** (c2 / sigma**2), conclusion=sp.S(0),
                   start_tex=r"c_1 \sigma^6 \ln L / L^{c_2/\sigma^2}")
    d.step(sp.S(0), r"$\ln 1 = 0$ for every $c_1, c_2$", check=maps("$L = 1$", lambda e: e.subs(L, 1)))
    return d


LITERAL = Statement(
    id="prop-3-1-literal", number="Props 3.1/3.4 at L = 1", order=3.16, status="falsified as written (L = 1)",
    title="The L = 1 boundary of Props 3.1 and 3.4",
    summary="witness d=1, mu=nu=N(0,1), K=0, Q=V=M=sigma=1: left side 1, right side 0; repaired for L >= 2",
    source="paper.md Sec. 2.2 and Sec. 5 item 12", statement_tex=r"L = 1:\ \mathbb E\|T[\hat\mu_1]-T[\mu]\|^2 = 1 "
    r"> 0 = c_1\sigma^6 \ln 1 / 1^{c_2/\sigma^2}",
    derivations=lambda: [derivation_witness(), derivation_right()],
    checks=[z_test("witness-left-side", lambda p: 1.0, boundary_estimate, [{"label": "L=1 witness"}], resolve=0.2,
                   description="Monte Carlo of the left side at L = 1 (witness) against 1",
                   mutants=[Mutant("the paper's right side 0", lambda p: 0.0)])],
    notes_tex=[r"For $L \ge 2$ the bound holds on the audit grid with $c_2 = \alpha(\|U\|_{op})$ and the fitted $c_1$ "
               r"(\texttt{verify audit})."],
)

STATEMENTS = [STATEMENT, LITERAL]

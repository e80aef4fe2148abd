r"""``verify mixture``: softmax attention on a Gaussian mixture is not affine in the query.

d = 1, K = Q = V = 1, \mu = (N(-\delta, s^2) + N(\delta, s^2))/2: the mixture closed form (statement
``gaussian-mixture-limit``) reads T(z) = s^2 z + \delta \tanh(\delta z).  For each separation \delta the study fits
the best affine map \alpha + \beta z on a grid of [-R, R] and measures the gap, and the gap of linear attention
T_lin(z) = (s^2 + \delta^2) z; at \delta = 0 (one Gaussian, Lemma 2.1) both gaps vanish.  The curve is the float64
kernel :func:`verify.gaussian.mixture.mixture_limit`, and at a few z it is compared with the quadrature of the
definition (:func:`verify.gaussian.mixture.mixture_attention_quadrature`), so the figure shows the definition's curve.

The study protocol (:mod:`verify.studies`): :func:`run`, :func:`ok`, :func:`summary`, :func:`write`.

>>> result = run(separations=(0.0, 1.5), grid=41, check_points=1)
>>> [round(r["affine_gap_max"], 3) for r in result["rows"]], ok(result)
([0.0, 0.516], True)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from mpmath import mp

from verify._validation import positive_int
from verify.gaussian.mixture import mixture_attention_quadrature, mixture_limit, mixture_linear_limit
from verify.numerics.measures import GaussianMixture
from verify.studies.figures import output_dir, pyplot, save

__all__ = ["run", "ok", "summary", "write", "separation_study", "symmetric_pair", "SEPARATIONS", "MIN_DIGITS"]

SEPARATIONS = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0)
"""Half-distances \\delta between the two components of the study (component sd s = 0.5)."""
MIN_DIGITS = 14.0
"""Agreement of the float64 closed form with the quadrature of the definition that :func:`ok` requires."""


def symmetric_pair(delta: float, sd: float = 0.5) -> GaussianMixture:
    r"""(N(-\delta, s^2) + N(\delta, s^2)) / 2 in d = 1."""
    return GaussianMixture([0.5, 0.5], [[-float(delta)], [float(delta)]], [[[sd * sd]], [[sd * sd]]])


def _limit_on_grid(mu: GaussianMixture, zs: np.ndarray) -> np.ndarray:
    """d = 1, K = Q = V = 1: :func:`mixture_limit` at every z of ``zs`` at once (a = z; log-sum-exp over components)."""
    m, G = mu.means[:, 0], mu.covs[:, 0, 0]
    s = np.log(mu.weights)[None, :] + zs[:, None] * m[None, :] + 0.5 * zs[:, None] ** 2 * G[None, :]
    w = np.exp(s - s.max(axis=1, keepdims=True))
    return (w * (m[None, :] + zs[:, None] * G[None, :])).sum(axis=1) / w.sum(axis=1)


def separation_study(separations=SEPARATIONS, sd: float = 0.5, half_width: float = 2.0, grid: int = 401,
                     check_points: int = 3, dps: int = 30) -> dict:
    r"""For each \delta: the least-squares affine fit \alpha + \beta z of T on a uniform grid of [-R, R]
    (R = ``half_width``), the gap  max |T - fit|  and its RMS, the gap of linear attention
    T_lin(z) = (s^2 + \delta^2) z, and the agreeing digits of the closed form with the quadrature of the
    definition at ``check_points`` z values."""
    zs = np.linspace(-half_width, half_width, positive_int(grid, "grid"))
    one = np.eye(1)
    rows = []
    for delta in separations:
        mu = symmetric_pair(delta, sd)
        T = _limit_on_grid(mu, zs)
        if abs(T[-1] - mixture_limit(one, one, one, mu, [zs[-1]])[0]) > 1e-12 * max(1.0, abs(T[-1])):
            raise ArithmeticError("the vectorised closed form disagrees with mixture_limit")  # pragma: no cover
        beta, alpha = np.polyfit(zs, T, 1)
        fit = alpha + beta * zs
        lin = float(mixture_linear_limit(one, one, one, mu, [1.0])[0]) * zs  # linear in z
        digits = []
        for t in np.linspace(0.3, half_width, positive_int(check_points, "check_points")):
            with mp.workdps(dps):
                q = mixture_attention_quadrature(one, one, one, mu, [t], dps=dps)[0]
                c = mixture_limit(one, one, one, mu, [t])[0]
                rel = abs(q - mp.mpf(float(c))) / max(1, abs(q))
                digits.append(16.0 if rel == 0 else float(-mp.log10(rel)))
        rows.append({"delta": float(delta), "sd": sd, "slope": float(beta), "intercept": float(alpha),
                     "affine_gap_max": float(np.max(np.abs(T - fit))),
                     "affine_gap_rms": float(np.sqrt(np.mean((T - fit) ** 2))),
                     "linear_gap_max": float(np.max(np.abs(T - lin))),
                     "closed_form_vs_quadrature_digits": round(min(digits), 2)})
    return {"setting": {"d": 1, "K": 1, "Q": 1, "V": 1, "sd": sd, "z_range": [-half_width, half_width],
                        "grid": int(grid), "formula": "T(z) = s^2 z + delta tanh(delta z)"},
            "rows": rows}


def _findings(study: dict) -> list[str]:
    rows, s = study["rows"], study["setting"]
    lo, hi = rows[0], rows[-1]
    return [f"delta = {lo['delta']:g}: max |T - best affine| = {lo['affine_gap_max']:.3g}, max |T - linear| = "
            f"{lo['linear_gap_max']:.3g} on z in [{s['z_range'][0]:g}, {s['z_range'][1]:g}]",
            f"delta = {hi['delta']:g}: max |T - best affine| = {hi['affine_gap_max']:.3g} (rms "
            f"{hi['affine_gap_rms']:.3g}): softmax attention on a separated mixture bends",
            f"closed form vs quadrature of the definition: >= "
            f"{min(r['closed_form_vs_quadrature_digits'] for r in rows):.1f} digits at every delta"]


def run(*, quick: bool = False, seed: int = 0, progress=None, **options) -> dict:
    """The ``verify mixture`` study (deterministic: ``quick`` and ``seed`` change nothing); ``options`` go to
    :func:`separation_study`.  The result holds ``setting``, ``rows`` and ``findings``."""
    study = separation_study(**options)
    study["findings"] = _findings(study)
    return study


def ok(result: dict) -> bool:
    """The study's own checks: the closed form agrees with the quadrature to :data:`MIN_DIGITS` at every
    separation, and without separation (delta = 0) T is affine and equals linear attention."""
    rows = result["rows"]
    flat = [r for r in rows if r["delta"] == 0.0]
    return (all(r["closed_form_vs_quadrature_digits"] >= MIN_DIGITS for r in rows)
            and all(r["affine_gap_max"] < 1e-12 and r["linear_gap_max"] < 1e-12 for r in flat))


def summary(result: dict) -> str:
    """The study's findings first, then the table per separation."""
    s = result["setting"]
    lines = [f"verify mixture: {'ok' if ok(result) else 'FAILED'} — softmax attention on a two-component Gaussian "
             "mixture is not affine in the query", ""]
    lines += [f"  - {f}" for f in result.get("findings", [])] + [""]
    lines += ["  delta  max |T − affine|  rms |T − affine|  max |T − linear|  slope   closed form vs definition",
              "  -----  ----------------  ----------------  ----------------  ------  ------------------------"]
    for r in result["rows"]:
        lines.append(f"  {r['delta']:<5.2f}  {r['affine_gap_max']:<16.3g}  {r['affine_gap_rms']:<16.3g}  "
                     f"{r['linear_gap_max']:<16.3g}  {r['slope']:<6.3f}  {r['closed_form_vs_quadrature_digits']:.1f} digits")
    lines.append(f"  d = 1, K = Q = V = 1, μ = (N(−δ, s²) + N(δ, s²))/2, s = {s['sd']:g}, "
                 f"z in [{s['z_range'][0]:g}, {s['z_range'][1]:g}]; {s['formula']}")
    return "\n".join(lines)


def write(result: dict, directory) -> list[Path]:
    """``mixture.json`` and the figure ``mixture.png`` (T vs z, its affine fit and linear attention for three
    separations; the gap against \\delta) into ``directory``."""
    out = output_dir(directory)
    plt = pyplot()
    s = result["setting"]
    zs = np.linspace(s["z_range"][0], s["z_range"][1], s["grid"])
    from matplotlib.lines import Line2D

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 5))
    shown = [r for r in result["rows"] if r["delta"] in (0.5, 1.5, 3.0)] or result["rows"][-1:]
    handles = []
    for r, colour in zip(shown, ("tab:blue", "tab:orange", "tab:green")):
        T = _limit_on_grid(symmetric_pair(r["delta"], s["sd"]), zs)
        ax.plot(zs, T, color=colour)
        ax.plot(zs, r["intercept"] + r["slope"] * zs, color=colour, ls="--", lw=1)
        ax.plot(zs, (s["sd"] ** 2 + r["delta"] ** 2) * zs, color=colour, ls=":", lw=1)
        handles.append(Line2D([], [], color=colour, label=f"δ = {r['delta']:g}"))
    handles += [Line2D([], [], color="grey", label="softmax attention T[μ](z)"),
                Line2D([], [], color="grey", ls="--", lw=1, label="its best affine fit"),
                Line2D([], [], color="grey", ls=":", lw=1, label="linear attention (s² + δ²) z")]
    ax.set(xlabel="query z", ylabel="T[μ](z)", ylim=(-4, 4))
    ax.set_title(f"T on μ = ½N(−δ, s²) + ½N(δ, s²), s = {s['sd']:g}, K = Q = V = 1", fontsize=10)
    ax.legend(handles=handles, fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, frameon=False)
    deltas = [r["delta"] for r in result["rows"]]
    bx.plot(deltas, [r["affine_gap_max"] for r in result["rows"]], "o-", label="max |T − best affine fit|")
    bx.plot(deltas, [r["affine_gap_rms"] for r in result["rows"]], "s-", label="rms |T − best affine fit|")
    bx.set(xlabel="separation δ", ylabel=f"gap on z ∈ [{s['z_range'][0]:g}, {s['z_range'][1]:g}]")
    bx.set_title("softmax attention on a mixture departs from any affine map as δ grows", fontsize=10)
    bx.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    png = save(fig, out / "mixture.png", dpi=120)
    js = out / "mixture.json"
    js.write_text(json.dumps(result, indent=1))
    return [png, js]

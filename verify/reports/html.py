"""``verify report``: one self-contained HTML page people read, and the LaTeX/PDF appendix beside it.

The page renders what the other commands saved:

- the statements' evidence records (what ``verify run --json`` prints: a JSON array of records),
- the audit of Props 3.1/3.4 (``verify audit -o DIR``: ``audit.json`` and its PNG figures),
- the training study (``verify train -o DIR``: ``train.json`` and its PNG figures),

the headline findings first -- one sentence each, its verdict, the figure that shows it and one link to the evidence --
then the statement catalogue (each statement's verdict, its statement and hypotheses as MathML, what each derivation
derives, its checks), the audit and the training.  Figures are inline (base64 PNG) and captioned with what they
show; math is MathML converted from the statements' LaTeX (``latex2mathml``), which the browser renders itself:
there is no script and no network reference.  Numbers are not links: each finding links once to the evidence that
carries it (a statement's section, the audit's fits); source paths are shown relative to the page.

This module reads and renders; it never runs a statement or a study.  :func:`load_inputs` reads saved outputs
from directories (and their immediate subdirectories) into :class:`ReportInputs`; :func:`write_report` writes the
page and the appendix from loaded results.  ``verify report`` (the command line) runs what is absent, saves its
raw output and loads it back through :func:`load_inputs`, so ``verify report --from DIR`` later rebuilds the same
page without computing.

>>> _slug("Prop 3.1 :: z-test")
'prop-3-1-z-test'
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import re
import shutil
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Iterable, Sequence

from verify.kernel.verdict import verdict
from verify.reports.latex import CompileResult, compile_pdf, document
from verify.reports.plain import derived_tex, plain
from verify.reports.table import format_number
from verify.studies.figures import pyplot

__all__ = ["ReportInputs", "ReportResult", "load_inputs", "render_html", "write_report", "records_from_json"]

def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")


def _esc(text) -> str:
    return html.escape(str(text), quote=False)


def _attr(text) -> str:
    return html.escape(str(text), quote=True)


# ----------------------------------------------------------------------------------------------------------
# inputs

def _is_records(doc) -> bool:
    return (isinstance(doc, list) and bool(doc) and all(isinstance(r, dict) for r in doc)
            and all({"id", "name", "kind", "passed"} <= set(r) for r in doc))


def records_from_json(records: list[dict]) -> list:
    """``verify run --json`` records back into :class:`verify.kernel.statement.Evidence` (``"inf"`` figures as floats)."""
    from verify.kernel.statement import Evidence

    names = {f.name for f in fields(Evidence)}
    out = []
    for r in records:
        if r.get("kind") == "verdict":  # a statement's verdict, not an evidence item
            continue
        kw = {k: v for k, v in r.items() if k in names}
        for k in ("figure", "threshold"):
            if isinstance(kw.get(k), str):
                kw[k] = float(kw[k])
        out.append(Evidence(**kw))
    return out


@dataclass
class ReportInputs:
    """The saved outputs a page renders: ``verify run --json`` records, ``audit.json`` and ``train.json`` (each
    with the PNG figures beside it); ``None`` (or empty) when absent.  ``sources`` says where each was read."""

    records: list[dict] | None = None
    audit: dict | None = None
    audit_figures: list[Path] = field(default_factory=list)
    train: dict | None = None
    train_figures: list[Path] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)


def load_inputs(dirs: Iterable) -> ReportInputs:
    """Scan ``dirs`` (and their immediate subdirectories) for ``verify run --json`` records (any ``*.json``
    holding a record array), ``audit.json`` and ``train.json`` (with the PNGs beside each).  The first found of
    each kind wins."""
    found = ReportInputs()
    for d in dirs:
        d = Path(d)
        if not d.is_dir():
            raise ValueError(f"dirs: {str(d)!r} is not a directory")
        for sub in [d] + sorted(p for p in d.iterdir() if p.is_dir()):
            for f in sorted(sub.glob("*.json")):
                if f.name == "audit.json" and found.audit is None:
                    found.audit = json.loads(f.read_text())
                    found.audit_figures = sorted(sub.glob("*.png"))
                    found.sources["audit"] = str(f)
                elif f.name == "train.json" and found.train is None:
                    found.train = json.loads(f.read_text())
                    found.train_figures = sorted(sub.glob("*.png"))
                    found.sources["train"] = str(f)
                elif found.records is None and f.name not in ("audit.json", "train.json"):
                    try:
                        doc = json.loads(f.read_text())
                    except ValueError:
                        continue
                    if _is_records(doc):
                        found.records = doc
                        found.sources["records"] = str(f)
    return found


# ----------------------------------------------------------------------------------------------------------
# figures

def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    pyplot().close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _margin(r: dict) -> float | None:
    """How close a record came to its threshold: figure/threshold for '<=', threshold/figure for '>=' (1 = on
    the threshold, < 1 passes); None when undefined."""
    try:
        fig, thr = float(r["figure"]), float(r["threshold"])
    except (TypeError, ValueError):
        return None
    if r.get("kind") == "symbolic" or not (math.isfinite(fig) and math.isfinite(thr)):
        return None
    if r.get("relation") == "<=" and thr > 0:
        return abs(fig) / thr
    if r.get("relation") == ">=" and fig > 0 and thr > 0:
        return thr / fig
    return None


def _records_figure(records: list[dict]) -> str:
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    ms = [(k, _margin(r), r["passed"]) for k, r in enumerate(records)]
    ms = [(k, m, p) for k, m, p in ms if m is not None and m > 0]
    if ms:
        a1.scatter([k for k, _, _ in ms], [m for _, m, _ in ms], s=12,
                   c=["tab:green" if p else "tab:red" for _, _, p in ms])
        a1.set_yscale("log")
    a1.axhline(1.0, color="k", ls="--", lw=0.8)
    a1.set_xlabel("record #")
    a1.set_ylabel("figure / threshold (1 = on the threshold)")
    a1.set_title("margin of every evidence record (green pass, red fail)")
    per: dict[str, float] = {}
    for r in records:
        per[r["id"]] = per.get(r["id"], 0.0) + float(r["seconds"])
    ids = list(per)
    a2.barh(range(len(ids)), [per[i] for i in ids], color="tab:blue")
    a2.set_yticks(range(len(ids)))
    a2.set_yticklabels(ids, fontsize=7)
    a2.invert_yaxis()
    a2.set_xlabel("seconds")
    a2.set_title("time per statement")
    fig.tight_layout()
    return _png(fig)


def _train_parts(train: dict) -> tuple[list, list, list]:
    """(L = inf runs, init-interval cells, fits) of a train.json: the one-part layout ({"infinite",
    "init_interval"}) or the three-part one ({"runs": {"infinite": {"runs", "init_interval"}, ...}, "fits"})."""
    inf = train.get("runs", {}).get("infinite", {}) if isinstance(train.get("runs"), dict) else {}
    return (train.get("infinite") or inf.get("runs", []), train.get("init_interval") or inf.get("init_interval", []),
            train.get("fits", []))


def _train_figure(train: dict) -> str | None:
    cells = [c for c in _train_parts(train)[1] if c.get("t_reach") is not None]
    if not cells:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for d, norm in sorted({(c["d"], c["sigma_op"]) for c in cells}):
        row = sorted((c for c in cells if c["d"] == d and c["sigma_op"] == norm), key=lambda c: c["alpha"])
        line, = ax.loglog([c["alpha"] for c in row], [c["t_reach"] for c in row], "-", lw=1,
                          label=f"d={d}, ||Sigma||={norm:g}")
        inside = [c for c in row if c.get("in_printed")]
        ax.loglog([c["alpha"] for c in inside], [c["t_reach"] for c in inside], "o", ms=4, color=line.get_color())
        outside = [c for c in row if not c.get("in_printed")]
        ax.loglog([c["alpha"] for c in outside], [c["t_reach"] for c in outside], "o", ms=4, mfc="none",
                  color=line.get_color())
    ax.set_xlabel("alpha (balanced init scale)")
    ax.set_ylabel("time to reach the family to 1e-6")
    ax.set_title("init interval: filled = inside the printed interval, hollow = outside")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


def _figure_html(anchor: str, b64: str, caption: str, cls: str = "") -> str:
    """A figure with its caption (HTML-escaped; ``caption`` may carry $...$ math)."""
    return (f'<figure id="{_attr(anchor)}"{f" class={chr(34)}{cls}{chr(34)}" if cls else ""}>'
            f'<img alt="{_attr(plain(caption))}" src="data:image/png;base64,{b64}">'
            f"<figcaption>{_rich(caption)}</figcaption></figure>")


# ----------------------------------------------------------------------------------------------------------
# math and text

_ALPHABETS = {  # MathML Core renders mathvariant="normal" only: other alphabets are written as their characters
    "double-struck": (0x1D538, {"C": "ℂ", "H": "ℍ", "N": "ℕ", "P": "ℙ", "Q": "ℚ", "R": "ℝ", "Z": "ℤ"}),
    "script": (0x1D49C, {"B": "ℬ", "E": "ℰ", "F": "ℱ", "H": "ℋ", "I": "ℐ", "L": "ℒ", "M": "ℳ", "R": "ℛ"}),
    "bold": (0x1D400, {}),
}


def _letters(variant: str, text: str) -> str:
    start, exceptions = _ALPHABETS[variant]
    return "".join(exceptions.get(c, chr(start + ord(c) - 65) if "A" <= c <= "Z" else c) for c in text)


def _mathml(tex: str, block: bool = False) -> str:
    """MathML (rendered by the browser itself: no script, no font download) from LaTeX; plain Unicode text if the
    converter cannot read it.  Double-struck, calligraphic and bold capitals become their Unicode letters (𝔼, ℝ, 𝒩),
    which MathML Core renders where ``mathvariant`` is ignored."""
    from latex2mathml.converter import convert

    try:
        out = convert(tex, display="block" if block else "inline")
    except Exception:  # noqa: BLE001 -- a formula the converter cannot read is shown as plain text
        return f'<span class="tex">{_esc(plain(tex, math=True))}</span>'
    return re.sub(r'<mi mathvariant="(double-struck|script|bold)">([A-Z]+)</mi>',
                  lambda m: f"<mi>{_letters(m.group(1), m.group(2))}</mi>", out)


def _sentence(text: str) -> str:
    """A plain-text finding as HTML: capitalised, exponents written ^(...) set as superscripts."""
    text = str(text or "").strip()
    first = text.split(" ", 1)[0]
    if len(first) > 1 and first.isalpha() and first.islower():  # "for a ..." opens a sentence, "d = 1" does not
        text = text[:1].upper() + text[1:]
    return re.sub(r"\^\(((?:[^()]|\([^()]*\))*)\)", lambda m: f"<sup>{m.group(1)}</sup>", _esc(text))


def _rich(text: str) -> str:
    """Text whose ``$...$`` pieces are math (MathML) and the rest escaped prose (TeX escapes resolved)."""
    text = "" if text is None else str(text)
    if text.count("$") % 2 or "$" not in text:
        return _esc(plain(text) if "\\" in text else text)
    out = []
    for piece in re.split(r"(\$[^$]+\$)", text):
        if piece.startswith("$") and piece.endswith("$") and len(piece) > 2:
            out.append(_mathml(piece[1:-1]))
        elif piece:
            out.append(_esc(plain(piece) if "\\" in piece else piece))
    return "".join(out)


def _formula(tex: str) -> str:
    """A field that is a formula (no ``$``) as display MathML, or text with ``$...$`` math."""
    return _rich(tex) if "$" in str(tex) else _mathml(str(tex), block=True)


def _relative(source: str, base: Path | None) -> str:
    """A source path as the reader should see it: relative to the page's directory (never absolute); a trailing
    note such as " (run now, quick)" is kept."""
    path, note = (source.split(" (", 1) + [""])[:2]
    note = f" ({note}" if note else ""
    p = Path(path)
    if base is not None and p.is_absolute() or (base is not None and (Path.cwd() / p).exists()):
        try:
            rel = os.path.relpath(p if p.is_absolute() else Path.cwd() / p, Path(base).resolve())
            if not rel.startswith(".." + os.sep + ".."):
                return rel + note
        except ValueError:
            pass
    return (p.name if p.is_absolute() else str(p)) + note


# ----------------------------------------------------------------------------------------------------------
# the page

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:1em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.5em;margin-bottom:.2em}h2{border-bottom:1px solid #ccc;margin-top:1.6em}h3{margin-bottom:.3em}
.lede{color:#444;margin-top:.2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
tr.fail td{background:#fde4e4}tr:target td,li:target,section:target{background:#fff6c8}
.pass{color:#1a7f37;font-weight:bold}.fail-word{color:#c62828;font-weight:bold}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:.85em;color:#444;max-width:900px}
.detail{font-size:.8em;color:#555}.src{font-size:.8em;color:#777}
#findings{background:#f6f8fa;padding:.3em 1.2em 1em;border-radius:6px}
#findings ol{padding-left:1.2em}#findings li{margin:.8em 0;overflow:auto}
#findings figure{float:right;margin:0 0 .5em 1em;max-width:300px}#findings figcaption{font-size:.72em}
.verdict{display:inline-block;font-size:.78em;font-weight:bold;padding:1px 7px;border-radius:10px;white-space:nowrap;
 text-transform:uppercase;letter-spacing:.02em;color:#fff;background:#1a7f37}
.v-verified-under-hypotheses{background:#3b7dd8}.v-sharpened{background:#6f42c1}.v-contradicts-the-paper{background:#d9480f}
.v-falsified-as-written{background:#c62828}.v-not-established{background:#555}
.form{display:block;font-size:.9em;color:#333;margin-top:.2em}.evidence-link{font-size:.85em;white-space:nowrap}
.statement{margin:.4em 0 .8em}.derived{font-size:.9em}math[display=block]{margin:.4em 0}
"""

_SEVERITY = ("not established", "falsified as written", "contradicts the paper", "sharpened",
             "verified under hypotheses", "verified")
_FORM_LABEL = {"verified under hypotheses": "Hypothesis", "sharpened": "Sharper form", "contradicts the paper": "Evidence",
               "falsified as written": "Witness", "not established": "Failed"}

_FIGURE_CAPTIONS = {
    "error_vs_L": "The error of Prop 3.1, E‖T[μ̂_L] − T[μ]‖², against the prompt length L for Gaussian tokens "
                  "(d = 1, U = V = 1, σ = 0.5, 1, 2): the exact reduction, Monte Carlo with 95% intervals, the local "
                  "slope at the largest L drawn as a power law, and the paper's bound with fitted constants.",
    "local_slope": "The local slope d ln E / d ln L of the exact error curves converges to the sharp exponent −α(σ‖U‖) "
                   "(dashed) like 1/ln L, out to L = 10⁶⁰.",
    "exponent_vs_sigma": "The measured exponent against σ (left) and σ² times it (right): it follows the sharp α(σ), "
                         "not the paper's c₂/σ² with a σ-free c₂ (which would be flat on the right).",
    "alpha_sweep": "Time for the balanced gradient flow on R∞ to reach the Bayes family against the initialisation "
                   "scale α, per dimension and ‖Σ‖: every α converges, inside and outside the printed interval "
                   "(dotted) and ZFB's (dashed).",
    "finite_risk_vs_time": "Risk along gradient descent at L = 10, 100, 1000 (fresh prompts each step) and on R∞, "
                           "from the same start.",
    "finite_excess_vs_L": "Excess risk at the end of training at finite L, and at the L = ∞ optimum, against L, "
                          "each with its fitted power law (Thm 4.3).",
    "finite_gap_vs_L": "Parameter gap between training at L and at L = ∞ along time (left) and its late mean against "
                       "L (right).",
    "sgd_final_risk": "The authors' SGD experiment in the (U, V) setting: held-out risk of softmax and linear attention "
                      "against L, for the intended data model and the authors' data code.",
    "sgd_risk_vs_step": "Training risk along SGD for each L, softmax and linear attention, against gradient descent "
                        "on R∞.",
    "sgd_trajectory_gap": "Relative distance between the SGD parameters at L and gradient descent on R∞ at the last "
                          "step, against L.",
}
"""What each figure the studies write shows (by file stem); an unknown figure is captioned by its name."""

_HEADLINE_FIGURE = {"sharp-exponent": ("audit", "exponent_vs_sigma"), "train-infinite": ("train", "alpha_sweep"),
                    "train-finite": ("train", "finite_excess_vs_L")}
"""The saved study figure that shows a statement's finding, when one does."""


def _record_anchors(records: list[dict]) -> list[str]:
    """One anchor per evidence record (``ev-<statement>-<name>``, numbered when a name repeats)."""
    seen: dict[str, int] = {}
    out = []
    for r in records:
        a = f"ev-{_slug(r['id'])}-{_slug(r['name'])}"
        seen[a] = seen.get(a, 0) + 1
        out.append(a if seen[a] == 1 else f"{a}-{seen[a]}")
    return out


_DISPLAY = "\\displaystyle "


def _badge(kind: str) -> str:
    return f'<span class="verdict v-{_slug(kind)}">{_esc(kind)}</span>'


def _caption(stem: str) -> str:
    return _FIGURE_CAPTIONS.get(stem, stem.replace("_", " "))


def _verdicts(records: list[dict], meta: dict) -> dict:
    """The verdict of each statement run (from its evidence records), by id, in run order."""
    by_id: dict = {}
    for ev in records_from_json([r for r in records if r.get("kind") != "verdict"]):
        by_id.setdefault(ev.id, []).append(ev)
    return {sid: verdict(meta[sid].finding, recs) for sid, recs in by_id.items() if sid in meta}


def _found(r: dict) -> str:
    """What a check found: its figure against what it needed, at the precision it carries."""
    rel = "≥" if r.get("relation") == ">=" else "≤"
    unit = plain(r.get("unit", ""))
    return (f"{format_number(r['figure'], r.get('unit', ''))} {unit} (needs {rel} "
            f"{format_number(r['threshold'], r.get('unit', ''))})").replace("  ", " ")


def _statement_block(st, v, recs: list[dict], anchors: list[str]) -> str:
    """One statement of the catalogue: number, title, verdict and finding, the statement and hypotheses (MathML),
    what each derivation derives, the checks' table, the source."""
    out = [f'<section class="st" id="st-{_slug(st.id)}"><h3>{_rich(st.number)}: {_rich(st.title)} '
           f'<span class="src">({_esc(st.id)})</span></h3>']
    kind = v.kind if v is not None else st.finding.kind
    form = ", ".join(v.failed) if v is not None and not v.established else st.finding.form
    out.append(f"<p>{_badge(kind)} {_sentence(st.finding.summary)}"
               + (f'<span class="form"><b>{_FORM_LABEL.get(kind, "Form")}:</b> {_sentence(form)}</span>' if form else "")
               + "</p>")
    out.append(f'<div class="statement">{_formula(st.statement_tex)}</div>')
    if st.hypotheses_tex:
        out.append("<p><b>Hypotheses.</b></p><ul>" + "".join(f"<li>{_formula(h) if '$' in h else _mathml(h)}</li>"
                                                            for h in st.hypotheses_tex) + "</ul>")
    syms = [(r, a) for r, a in zip(recs, anchors) if r["kind"] == "symbolic"]
    if syms:
        pool: dict = {}
        try:
            for d in st.built_derivations():
                pool.setdefault(d.name, []).append(d)
        except Exception:  # noqa: BLE001 -- the page still shows the records if a derivation cannot be built here
            pool = {}
        items = []
        for r, a in syms:
            d = pool.get(r["name"], [None]).pop(0) if pool.get(r["name"]) else None
            what = " derives " + _mathml(_DISPLAY + derived_tex(d)) if d is not None else ""
            word = '<span class="pass">checked</span>' if r["passed"] else '<span class="fail-word">FAILED</span>'
            items.append(f'<li id="{a}" class="derived">{_rich(r["name"])}:{what} — {format_number(r["figure"], "steps")}'
                         f'/{format_number(r["threshold"], "steps")} steps {word}'
                         + (f'<br><span class="detail">{_esc(r.get("detail", ""))}</span>' if not r["passed"] else "")
                         + "</li>")
        out.append("<p><b>Derivations</b> (every step checked by SymPy):</p><ul>" + "".join(items) + "</ul>")
    checks = [(r, a) for r, a in zip(recs, anchors) if r["kind"] != "symbolic"]
    if checks:
        out.append("<table><tr><th>check</th><th>kind</th><th>found</th><th>result</th><th>seconds</th>"
                   "<th>detail</th></tr>")
        for r, a in checks:
            word = '<span class="pass">pass</span>' if r["passed"] else '<span class="fail-word">FAIL</span>'
            out.append(f'<tr id="{a}" class="{"ok" if r["passed"] else "fail"}"><td>{_rich(r["name"])}</td>'
                       f'<td>{_esc(r["kind"])}</td><td>{_esc(_found(r))}</td><td>{word}</td>'
                       f'<td>{float(r["seconds"]):.2f}</td><td class="detail">{_esc(r.get("detail", ""))}</td></tr>')
        out.append("</table>")
    out.append(f'<p class="src">Source: {_rich(st.source)}.</p></section>')
    return "".join(out)


def _provenance_line(label: str, p: dict | None) -> str:
    if not p:
        return (f"<li><b>{_esc(label)}</b>: no provenance recorded (written by a version that did not record it)"
                "</li>")
    commit = p.get("git_commit")
    where = (f", commit <code>{_esc(commit[:12])}</code>{' with uncommitted changes' if p.get('git_dirty') else ''}"
             if commit else "")
    libs = ", ".join(f"{_esc(k)} {_esc(v)}" for k, v in (p.get("versions") or {}).items() if v)
    seed = f", seed {_esc(p['seed'])}" if p.get("seed") is not None else ""
    return (f"<li><b>{_esc(label)}</b>: softmax-verify {_esc(p.get('version', '?'))}{where}{seed}; {libs}. "
            f"Reproduce: <code>{_esc(p.get('command', ''))}</code></li>")


def _provenance_footer(data: ReportInputs) -> str:
    """The footer: for each input the page renders, the version, commit, seed, library versions and the command
    that reproduces it (the ``provenance`` each JSON record carries), then the page's own."""
    from verify._provenance import provenance

    rows = []
    if data.records:
        rows.append(_provenance_line("statements (verify run)", data.records[0].get("provenance")))
    if data.audit is not None:
        rows.append(_provenance_line("audit", data.audit.get("provenance")))
    if data.train is not None:
        rows.append(_provenance_line("training", data.train.get("provenance")))
    rows.append(_provenance_line("this page", provenance()))
    return f'<footer id="provenance"><h2>Provenance</h2><ul>{"".join(rows)}</ul></footer>'


def render_html(data: ReportInputs, *, meta: dict | None = None, appendix: Iterable = (), base=None) -> str:
    """The whole page for ``data``: the headline findings first (one sentence each, the verdict, the figure that
    shows it and one link to its evidence), then the statement catalogue, the audit and the training.  ``meta``
    maps statement ids to statements; ``appendix`` names the LaTeX/PDF files written beside the page; ``base`` is
    the page's directory (source paths are shown relative to it)."""
    records = [r for r in (data.records or []) if r.get("kind") != "verdict"]
    audit, train = data.audit, data.train
    meta = meta or {}
    anchors = _record_anchors(records)
    verdicts = _verdicts(records, meta)
    run_ids = list(dict.fromkeys(r["id"] for r in records))
    figures = {"audit": {Path(p).stem: Path(p) for p in data.audit_figures},
               "train": {Path(p).stem: Path(p) for p in data.train_figures}}
    b64: dict = {}

    def png(where: str, stem: str) -> str | None:
        p = figures[where].get(stem)
        if p is None:
            return None
        if p not in b64:
            b64[p] = base64.b64encode(p.read_bytes()).decode("ascii")
        return b64[p]

    # --- the lede and the headline findings ---------------------------------------------------------
    tally: dict = {}
    for v in verdicts.values():
        tally[v.kind] = tally.get(v.kind, 0) + 1
    counts = ", ".join(f"{tally[k]} {k}" for k in reversed(_SEVERITY) if k in tally)
    passed = sum(bool(r["passed"]) for r in records)
    lede = (f'<p class="lede">{len(verdicts)} statements of the paper and of the results it leans on, each with '
            f"machine-checked derivations and evidence computed independently of its closed form: {counts}. "
            f"{passed} of {len(records)} derivations and checks passed"
            + (f' (<a href="#{_attr(next(a for r, a in zip(records, anchors) if not r["passed"]))}">the failures</a>)'
               if passed < len(records) else "") + ".</p>") if verdicts else ""
    heads = []
    order = sorted((sid for sid in run_ids if sid in verdicts and verdicts[sid].kind != "verified"),
                   key=lambda sid: _SEVERITY.index(verdicts[sid].kind))
    for sid in order[:7]:
        st, v = meta[sid], verdicts[sid]
        form = ", ".join(v.failed) if not v.established else st.finding.form
        fig = ""
        where = _HEADLINE_FIGURE.get(sid)
        if where and png(*where):
            fig = _figure_html(f"head-{_slug(sid)}", png(*where), _caption(where[1]))
        heads.append(f"<li>{fig}{_badge(v.kind)} <b>{_rich(st.number)}.</b> {_sentence(st.finding.summary.rstrip('.'))}."
                     + (f'<span class="form"><b>{_FORM_LABEL.get(v.kind, "Form")}:</b> {_sentence(form)}</span>'
                        if form else "")
                     + f' <a class="evidence-link" href="#st-{_slug(sid)}">evidence &rarr;</a></li>')
    plain_ok = [sid for sid in run_ids if sid in verdicts and verdicts[sid].kind == "verified"]
    if plain_ok:
        names = ", ".join(f'<a href="#st-{_slug(s)}">{_rich(meta[s].number)}</a>' for s in plain_ok)
        heads.append(f"<li>{_badge('verified')} {len(plain_ok)} statement{'s' if len(plain_ok) != 1 else ''} hold as "
                     f"written: {names}.</li>")
    findings = ('<section id="findings"><h2>What the checks found</h2><ol>' + "".join(heads) + "</ol>"
                '<p class="src">Each verdict is computed from the run: the statement\'s declared outcome when every '
                "derivation step and every check passed, <i>not established</i> otherwise.</p></section>")

    # --- the statement catalogue -------------------------------------------------------------------
    body = ['<section id="statements"><h2>The statements and their evidence</h2>']
    if "records" in data.sources:
        body.append(f'<p class="src">Evidence records: {_esc(_relative(data.sources["records"], base))}</p>')
    if run_ids:
        body.append("<table><tr><th>paper</th><th>statement</th><th>verdict</th></tr>" + "".join(
            f'<tr><td>{_rich(meta[s].number)}</td><td><a href="#st-{_slug(s)}">{_rich(meta[s].title)}</a></td>'
            f"<td>{_badge(verdicts[s].kind)}</td></tr>" for s in run_ids if s in meta) + "</table>")
    for sid in run_ids:
        pairs = [(r, a) for r, a in zip(records, anchors) if r["id"] == sid]
        if sid in meta:
            body.append(_statement_block(meta[sid], verdicts.get(sid), [r for r, _ in pairs], [a for _, a in pairs]))
        else:
            body.append(f'<section class="st" id="st-{_slug(sid)}"><h3>{_esc(sid)}</h3><ul>' + "".join(
                f'<li id="{a}">{_esc(r["name"])}: {_esc(_found(r))}, {"pass" if r["passed"] else "FAIL"}</li>'
                for r, a in pairs) + "</ul></section>")
    if records:
        body.append(_figure_html("fig-records", _records_figure(records),
                                 "How close every check came to its threshold (left: figure / threshold on a log "
                                 "scale; 1 is the threshold, below passes) and the seconds each statement took "
                                 "(right)."))
    body.append("</section>")

    # --- audit ------------------------------------------------------------------------------------------
    if audit:
        m = audit.get("meta", {})
        body.append('<section id="audit"><h2>Audit: Props 3.1/3.4 measured</h2>')
        body.append(f'<p class="src">Source: {_esc(_relative(data.sources.get("audit", "audit.json"), base))}; seed '
                    f'{_esc(m.get("seed"))}{", quick mode" if m.get("quick") else ""}, {_esc(m.get("seconds"))} s</p>')
        body.append("<h3>Findings</h3><ul>")
        for f in audit.get("findings", []):
            a = "audit-" + _slug(f["id"])
            ev = _esc(f.get("evidence", ""))
            for sid in run_ids:  # the statements a finding names link to their evidence
                ev = re.sub(rf"(?<![\w-]){re.escape(sid)}(?![\w-])", f'<a href="#st-{_slug(sid)}">{sid}</a>', ev)
            if "fits" in f.get("evidence", "") or "slope" in f["summary"]:  # its numbers come from the fits table
                ev += ' (<a href="#audit-fits">the fits</a>)'
            body.append(f'<li id="{a}"><b>{_esc(f["id"])}</b>: {_esc(f["summary"])}'
                        f'<br><span class="detail">evidence: {ev}</span></li>')
        body.append("</ul>")
        for stem in figures["audit"]:
            body.append(_figure_html(f"fig-audit-{_slug(stem)}", png("audit", stem), _caption(stem)))
        body.append('<h3 id="audit-constants">Paper-form constants</h3><table><tr><th>measure</th><th>d</th>'
                    "<th>case</th><th>method</th><th>largest c₂</th><th>sharp c₂</th><th>smallest c₁</th>"
                    "<th>c₁ at sharp c₂</th><th>holds for L ≥ 2</th></tr>")
        for k, c in enumerate(audit.get("constants", [])):
            body.append(f'<tr id="audit-const-{k}"><td>{_esc(c["measure"])}</td><td>{c["d"]}</td>'
                        f'<td>{_esc(c["case"])}</td><td>{_esc(c["method"])}</td><td>{c["c2_largest"]:.4f}</td>'
                        f'<td>{c["c2_sharp"]:.4f}</td><td>{c["c1_smallest"]:.4g}</td>'
                        f'<td>{c["c1_at_sharp_c2"]:.4g}</td><td>{"yes" if c["holds_for_L_ge_2"] else "NO"}</td></tr>')
        body.append("</table>")
        body.append('<h3 id="audit-fits">Fits (settled and last local slopes)</h3><table><tr><th>statement</th>'
                    "<th>measure</th><th>d</th><th>σ</th><th>method</th><th>kind</th><th>slope</th><th>95% CI</th>"
                    "<th>L</th><th>−α</th><th>pre-asymptotic</th></tr>")
        for k, f in enumerate(audit.get("fits", [])):
            if f["kind"] == "local" and f is not _last_of(audit["fits"], f):
                continue
            body.append(f'<tr id="fit-{k}"><td>{_esc(f["statement"])}</td><td>{_esc(f["measure"])}</td>'
                        f'<td>{f["d"]}</td><td>{f["sigma"]:g}</td><td>{_esc(f["method"])}</td>'
                        f'<td>{_esc(f["kind"])}</td><td>{f["slope"]:.4f}</td>'
                        f'<td>[{f["ci_low"]:.4f}, {f["ci_high"]:.4f}]</td>'
                        f'<td>{f["L_min"]:.0e}…{f["L_max"]:.0e}</td><td>{f["predicted_exponent"]:.4f}</td>'
                        f'<td>{"yes" if f["pre_asymptotic"] else "no"}</td></tr>')
        body.append("</table></section>")

    # --- training ------------------------------------------------------------------------------------
    if train:
        body.append('<section id="train"><h2>Training: L = &infin;, finite L, SGD</h2>')
        body.append(f'<p class="src">Source: {_esc(_relative(data.sources.get("train", "train.json"), base))}'
                    f'{"; quick mode" if train.get("quick") else ""}</p>')
        body.append("<h3>Findings</h3><ul>" + "".join(f"<li>{_esc(f)}</li>" for f in train.get("findings", []))
                    + "</ul>")
        body.append('<h3 id="train-infinite">Gradient flows at L = &infin;</h3><table><tr><th>case</th>'
                    "<th>t (distance 1e-9)</th><th>distance</th><th>R − s²/2</th><th>drift / allowed</th>"
                    "<th>energy gap</th><th>GD order</th><th>seconds</th></tr>")
        infinite, cells, fits = _train_parts(train)
        for k, r in enumerate(infinite):
            drift = r["balance_drift"] / r["balance_allowed"] if r.get("balance_allowed") else None
            body.append(f'<tr id="train-run-{k}"><td>{_esc(r["label"])}</td><td>{_fmt(r["t_converged"], "{:.4g}")}</td>'
                        f'<td>{_fmt(r["distance"], "{:.1g}")}</td><td>{_fmt(r["excess_risk"], "{:.1g}")}</td>'
                        f'<td>{_fmt(drift, "{:.1g}")}</td><td>{_fmt(r["dissipation_gap"], "{:.1g}")}</td>'
                        f'<td>{_fmt(r["gd_order"], "{:.3f}")}</td><td>{_fmt(r["seconds"], "{:.1f}")}</td></tr>')
        body.append("</table>")
        body.append('<h3 id="train-interval">Initialisation interval</h3>')
        conv = sum(bool(c.get("converged")) for c in cells)
        body.append(f"<p>{conv} of {len(cells)} initialisations converge.</p>")
        fig64 = None if figures["train"] else _train_figure(train)
        if fig64:
            body.append(_figure_html("fig-train-interval", fig64, _caption("alpha_sweep")))
        body.append('<h3 id="train-fits">Fits</h3><ul>')
        for k, f in enumerate(fits):
            items = ", ".join(f"{_esc(key)} = {_esc(_short(v))}" for key, v in f.items())
            body.append(f'<li id="train-fit-{k}">{items}</li>')
        body.append("</ul>")
        for stem in figures["train"]:
            body.append(_figure_html(f"fig-train-{_slug(stem)}", png("train", stem), _caption(stem)))
        body.append("</section>")

    links = "".join(f'<li><a href="{_attr(n)}">{_esc(n)}</a></li>' for n in appendix)
    if links:
        body.append(f'<section id="appendix"><h2>LaTeX/PDF appendix</h2><p>Every statement with its checked '
                    f"derivation and evidence table, typeset:</p><ul>{links}</ul></section>")
    body.append(_provenance_footer(data))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<link rel="icon" href="data:,"><title>softmax-verify: Boursier &amp; Boyer, arXiv 2512.11784</title>'
            f"<style>{_CSS}</style></head><body>"
            "<h1>softmax-verify: the statements of <i>Softmax as Linear Attention in the Large-Prompt Regime</i> "
            "(Boursier &amp; Boyer, arXiv 2512.11784v2), checked</h1>"
            + lede + findings + "".join(body) + "</body></html>\n")


def _fmt(value, fmt: str) -> str:
    return "&ndash;" if value is None else _esc(fmt.format(value))


def _short(v) -> str:
    """A fit's value as text: numbers to 4 significant digits, lists element by element."""
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list):
        return "[" + ", ".join(_short(x) for x in v) + "]"
    return str(v)


def _last_of(fits: list[dict], f: dict) -> dict:
    """The local fit at the largest L of ``f``'s curve."""
    key = tuple(f[k] for k in ("statement", "measure", "d", "sigma", "u_norm", "case", "method"))
    same = [g for g in fits if g["kind"] == "local"
            and tuple(g[k] for k in ("statement", "measure", "d", "sigma", "u_norm", "case", "method")) == key]
    return max(same, key=lambda g: g["L_max"])


@dataclass(frozen=True)
class ReportResult:
    """What :func:`write_report` wrote: the page, the appendix's ``.tex`` and, when pdflatex ran, its
    :class:`~verify.reports.latex.CompileResult`; ``failure`` says what went wrong with the PDF (the page is
    written all the same), else None."""

    page: Path
    appendix: Path
    compiled: CompileResult | None = None
    failure: str | None = None

    @property
    def paths(self) -> list[Path]:
        """The files written, the page first (the PDF, or the log of a failed pdflatex run, last)."""
        extra = [self.compiled.pdf] if self.compiled is not None else []
        if self.failure is not None:
            extra.append(self.appendix.with_suffix(".log"))
        return [self.page, self.appendix, *extra]


def write_report(directory, *, records: list[dict], audit: dict | None = None, train: dict | None = None,
                 audit_figures: Iterable = (), train_figures: Iterable = (), sources: dict | None = None,
                 statements: Sequence | None = None, pdf: bool | None = None) -> ReportResult:
    """Write ``report.html`` and the appendix ``appendix.tex`` (and ``appendix.pdf`` when ``pdf`` or, by default,
    when pdflatex is on PATH) into ``directory`` (created if missing) from loaded results (see
    :func:`load_inputs`): ``records`` as ``verify run --json`` prints them, ``audit``/``train`` the saved
    ``audit.json``/``train.json`` and the PNG figures beside them.  ``statements`` give the numbering, summaries
    and the appendix's sections (default: the registered statements of the records' ids)."""
    if not isinstance(records, list):
        raise TypeError(f"records: expected a list of verify run --json records, got {type(records).__name__}")
    data = ReportInputs(records, audit, [Path(p) for p in audit_figures], train, [Path(p) for p in train_figures],
                        dict(sources or {}))
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    if statements is None:
        from verify.kernel.registry import statements as registered

        statements = registered()
    meta = {s.id: s for s in statements}
    evidence: dict = {}
    for ev in records_from_json(records):
        evidence.setdefault(ev.id, []).append(ev)
    tex = out / "appendix.tex"
    tex.write_text(document([meta[i] for i in evidence if i in meta], evidence))
    compiled, failure = None, None
    if pdf if pdf is not None else shutil.which("pdflatex") is not None:
        try:
            compiled = compile_pdf(tex)
        except RuntimeError as exc:  # the page is still written; the caller reports the failure
            failure = f"appendix.pdf: {str(exc).splitlines()[0]} (see {tex.with_suffix('.log')})"
    page = out / "report.html"
    result = ReportResult(page, tex, compiled, failure)
    page.write_text(render_html(data, meta=meta, appendix=[p.name for p in result.paths[1:]], base=out))
    return result

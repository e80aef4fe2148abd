"""``verify report``: the self-contained HTML page (the headline findings first, each with its verdict, figure and a
link to its evidence; math as MathML; captioned inline figures; no absolute paths), its LaTeX appendix, checked in a
real headless browser (Debian's chromium through playwright, screenshots kept beside the page); and the progress
display's contract (bars on stderr only, timing of derivation construction)."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import time
from pathlib import Path

import pytest

from verify.reports import html as html_report
from verify.kernel.registry import statements
from verify.cli import main
from verify.progress import Progress
from verify.kernel.runner import run_statements
from verify.reports.table import to_json

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
CHEAP = ["prop-3-1-literal", "sharp-exponent", "linear-limit"]  # real statements whose evidence runs in seconds


def _png(path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.loglog([10, 100, 1000], [0.3, 0.08, 0.02], "o-")
    ax.set_title(path.stem)
    fig.savefig(path, dpi=60)
    plt.close(fig)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """Real evidence records of two statements; audit and training outputs in the shape their -o writes
    (small hand-made values: the page's rendering is under test here, not the audit)."""
    root = tmp_path_factory.mktemp("inputs")
    recs = run_statements(statements(CHEAP), seed=0)
    (root / "run.json").write_text(to_json(recs))
    (root / "audit").mkdir()
    audit = {"meta": {"seed": 0, "quick": True, "seconds": 1.5},
             "findings": [{"id": "L1-boundary-defect", "summary": "left side 1 (Monte Carlo 1.0057 +- 0.021), right 0",
                           "evidence": "prop-3-1-literal (evidence witness-left-side)"}],
             "constants": [{"measure": "gaussian", "d": 1, "case": "U=V=I", "method": "exact", "c2_largest": 0.6542,
                            "c2_sharp": 0.618, "c1_smallest": 0.6252, "c1_at_sharp_c2": 0.5752,
                            "holds_for_L_ge_2": True}],
             "fits": [{"statement": "prop-3.1", "measure": "gaussian", "d": 1, "sigma": 1.0, "method": "exact",
                       "kind": "global", "slope": -0.607, "ci_low": -0.615, "ci_high": -0.599, "L_min": 10.0,
                       "L_max": 1e8, "predicted_exponent": -0.618, "pre_asymptotic": False}],
             "measurements": []}
    (root / "audit" / "audit.json").write_text(json.dumps(audit))
    _png(root / "audit" / "error_vs_L.png")
    (root / "train").mkdir()
    cells = [{"d": 1, "sigma_op": 0.25, "alpha": a, "converged": True, "t_reach": 200.0 + 10 * a, "in_printed": a < 1}
             for a in (0.001, 0.1, 4.0)]
    infinite = [{"label": "isotropic d=5", "t_converged": 812.5, "distance": 3e-10, "excess_risk": 2e-18,
                 "balance_drift": 1e-12, "balance_allowed": 1e-9, "dissipation_gap": 1e-11, "gd_order": 1.001,
                 "seconds": 2.0}]
    train = {"runs": {"infinite": {"runs": infinite, "init_interval": cells, "fits": [], "findings": []}},
             "fits": [{"part": "finite", "quantity": "excess risk", "slope": -0.57, "ci_low": -0.8, "ci_high": -0.34}],
             "findings": ["[infinite] L = inf: 1/1 balanced flows reach (U*, V*) to 1e-9",
                          "[infinite] init interval: 3/3 cells converge", "[finite] excess risk ~ L^-0.57"],
             "seed": 0, "quick": True}
    (root / "train" / "train.json").write_text(json.dumps(train))  # the layout verify train -o writes
    _png(root / "train" / "alpha_sweep.png")
    return root


def _write(out: Path, loaded: html_report.ReportInputs, **options) -> html_report.ReportResult:
    return html_report.write_report(out, records=loaded.records, audit=loaded.audit, train=loaded.train,
                                    audit_figures=loaded.audit_figures, train_figures=loaded.train_figures,
                                    sources=loaded.sources, **options)


@pytest.fixture(scope="module")
def page(inputs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    written = _write(out, html_report.load_inputs([inputs]), pdf=shutil.which("pdflatex") is not None)
    assert written.page == out / "report.html" and written.appendix == out / "appendix.tex"
    assert written.paths[:2] == [written.page, written.appendix] and all(p.exists() for p in written.paths)
    return written.page


def test_page_is_self_contained_leads_with_the_findings_and_links_only_to_what_exists(page, inputs):
    text = page.read_text()
    assert not re.search(r"""(?:src|href)=["'](?:https?:)?//""", text), "the page must not reach the network"
    assert "<script" not in text
    ids = set(re.findall(r'id="([^"]+)"', text))
    targets = re.findall(r'href="#([^"]+)"', text)
    assert set(targets) <= ids, sorted(set(targets) - ids)
    # the headline findings first, then the statements, the audit and the training
    order = [text.index(f'id="{a}"') for a in ("findings", "statements", "audit", "train")]
    assert order == sorted(order)
    heads = text.split('id="findings"', 1)[1].split("</section>", 1)[0]
    for sid, word in (("prop-3-1-literal", "falsified as written"), ("sharp-exponent", "contradicts the paper"),
                      ("linear-limit", "verified under hypotheses")):
        item = next(li for li in heads.split("<li>") if f'href="#st-{sid}"' in li)
        assert f'class="verdict v-{word.replace(" ", "-")}">{word}<' in item  # its verdict and one link to its evidence
        assert item.count("href=") == 1
    assert heads.index("falsified as written") < heads.index("contradicts the paper") < heads.index("under hypotheses")
    # every evidence record has its row (or derivation item), under its statement
    recs = json.loads((inputs / "run.json").read_text())
    assert len(recs) >= 3
    for a in html_report._record_anchors(recs):
        assert f'id="{a}"' in text
    # math is MathML from the LaTeX source; no LaTeX reaches the reader
    assert text.count("<math") > 10 and 'display="block"' in text
    visible = re.sub(r"<math.*?</math>|<[^>]+>", " ", text, flags=re.S)
    assert "\\mathcal" not in visible and "$" not in visible.replace("&#x00024;", "")
    # numbers are text, not links (the "1" of "L = 1" among them); a finding links once to its evidence
    assert 'class="num"' not in text and ">1</a>" not in text
    finding = text.split('id="audit-l1-boundary-defect"', 1)[1].split("</li>", 1)[0]
    assert finding.count("href=") == 1 and 'href="#st-prop-3-1-literal"' in finding
    # figures say what they show; the audit PNG, the training PNG and the records figure are inline
    assert text.count("data:image/png;base64,") == 3
    assert "audit figure error_vs_L.png" not in text and "The error of Prop 3.1" in text
    assert 'id="train-run-0"' in text and 'id="train-fit-0"' in text
    # no absolute path of the machine that built it
    assert str(inputs) not in text and str(page.parent) not in text


def test_bad_input_names_the_parameter(tmp_path, capsys):
    with pytest.raises(ValueError, match="^dirs: .*is not a directory"):
        html_report.load_inputs([tmp_path / "missing"])
    with pytest.raises(TypeError, match="^records: "):
        html_report.write_report(tmp_path / "out", records=None)
    afile = tmp_path / "afile"
    afile.write_text("")
    for argv, named in ((["report", "-o", str(afile), "--from", str(tmp_path)], "-o/--output"),
                        (["report", "-o", str(tmp_path / "r"), "--from", str(tmp_path / "missing")], "--from")):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and named in err[0], err


def test_the_reporter_runs_nothing():
    """The page is rendered from loaded results: the reporter imports no study, training or runner module."""
    import ast

    tree = ast.parse(Path(html_report.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    running = {m for m in imported if m.startswith(("verify.studies.audit", "verify.icl", "verify.kernel.runner",
                                                    "verify.gaussian", "verify.concentration"))}
    assert not running, running


def test_cli_report_from_directories(inputs, tmp_path, capsys):
    assert main(["report", "-o", str(tmp_path / "r"), "--from", str(inputs), "--no-pdf", "--quiet"]) == 0
    cap = capsys.readouterr()
    assert cap.err == ""  # --quiet: no progress
    assert f"wrote {tmp_path / 'r' / 'report.html'}" in cap.out
    assert (tmp_path / "r" / "appendix.tex").read_text().count("\\section{") == len(CHEAP)


def test_cli_report_runs_an_absent_study_saves_it_and_reads_it_back(inputs, tmp_path, capsys, monkeypatch):
    """What the --from directories lack is run by the command line, saved under -o DIR/<study>/ and read back
    like any saved output (a stand-in study here: the real ones take minutes)."""
    import sys
    import types

    from verify import cli

    saved = json.loads((inputs / "audit" / "audit.json").read_text())
    fake = types.ModuleType("stand_in_audit")
    fake.run = lambda *, quick, seed, progress: dict(saved, meta={"seed": seed, "quick": quick, "seconds": 0.5})
    fake.write = lambda result, directory: [_dump(directory / "audit.json", result)]
    monkeypatch.setitem(sys.modules, "stand_in_audit", fake)
    monkeypatch.setattr(cli, "_REPORT_STUDIES", (("audit", "stand_in_audit", "run", "write"),))
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(inputs / "run.json", partial / "run.json")
    out = tmp_path / "r"
    assert main(["report", "-o", str(out), "--from", str(partial), "--no-pdf", "--quick", "--seed", "3",
                 "--quiet"]) == 0
    capsys.readouterr()
    assert json.loads((out / "audit" / "audit.json").read_text())["meta"] == {"seed": 3, "quick": True, "seconds": 0.5}
    text = (out / "report.html").read_text()
    assert 'id="audit"' in text and "(run now, quick)" in text and 'id="train"' not in text


def _dump(path: Path, doc) -> Path:
    path.write_text(json.dumps(doc))
    return path


# ----------------------------------------------------------------------------------------------------------
# the browser

def _browse(url: str, screenshot: Path | None = None, statement: str | None = None) -> dict:
    """Open ``url`` in headless chromium: console errors, page errors, failed requests, and what is on the page;
    ``screenshot`` keeps the top of the page, and with ``statement`` a second one of that statement's section."""
    from playwright.sync_api import sync_playwright

    seen = {"console_errors": [], "page_errors": [], "failed_requests": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            pg = browser.new_page(viewport={"width": 1200, "height": 900})
            pg.on("console", lambda m: seen["console_errors"].append(m.text) if m.type == "error" else None)
            pg.on("pageerror", lambda e: seen["page_errors"].append(str(e)))
            pg.on("requestfailed", lambda r: seen["failed_requests"].append(r.url))
            pg.goto(url, wait_until="load")
            seen["findings_visible"] = pg.locator("#findings").is_visible()
            seen["findings_items"] = pg.locator("#findings li").count()
            seen["images"] = pg.eval_on_selector_all("figure img", "els => els.map(e => e.naturalWidth)")
            seen["first_section"] = pg.eval_on_selector("body", "b => b.querySelector('section, h2').id || "
                                                                "b.querySelector('section, h2').parentElement.id")
            seen["math_widths"] = pg.eval_on_selector_all("math", "els => els.map(e => e.getBoundingClientRect().width)")
            seen["visible_text"] = pg.inner_text("body")
            if screenshot is not None:
                pg.screenshot(path=str(screenshot), full_page=False)
            if statement is not None and screenshot is not None:
                section = pg.locator(f"#st-{statement}")
                section.scroll_into_view_if_needed()
                section.screenshot(path=str(screenshot.with_name(f"{screenshot.stem}-{statement}.png")))
        finally:
            browser.close()
    return seen


needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                    reason=f"{CHROMIUM} is absent (Debian: apt-get install -y chromium)")


@needs_chromium
def test_page_renders_in_headless_chromium(page):
    pytest.importorskip("playwright", reason="playwright is not installed (pip install -e '.[test]')")
    shot = page.parent / "report.png"
    seen = _browse(page.as_uri(), shot, statement="prop-3-1-literal")
    assert seen["console_errors"] == [] and seen["page_errors"] == [] and seen["failed_requests"] == []
    assert seen["findings_visible"] and seen["first_section"] == "findings" and seen["findings_items"] >= 3
    assert len(seen["images"]) >= 3 and all(w > 100 for w in seen["images"]), seen["images"]
    assert shot.stat().st_size > 10_000 and (page.parent / "report-prop-3-1-literal.png").stat().st_size > 10_000
    # the browser lays the MathML out itself (no script): every formula takes room, and no TeX source shows
    assert len(seen["math_widths"]) > 10 and min(seen["math_widths"]) > 0, seen["math_widths"][:10]
    assert "\\" not in seen["visible_text"] and "$" not in seen["visible_text"]


@needs_chromium
def test_the_browser_check_goes_red_on_a_broken_page(page, tmp_path):
    """The planted mutant of the browser check: a script error, a broken figure and a missing findings section."""
    pytest.importorskip("playwright", reason="playwright is not installed (pip install -e '.[test]')")
    bad = page.read_text().replace('<section id="findings">', '<section id="elsewhere">', 1)
    bad = bad.replace("data:image/png;base64,", "data:image/png;base64,AAAA", 1)
    bad = bad.replace("</body>", "<script>console.error('planted'); undefinedCall();</script></body>")
    (tmp_path / "bad.html").write_text(bad)
    seen = _browse((tmp_path / "bad.html").as_uri())
    assert seen["console_errors"] and seen["page_errors"]
    assert not seen["findings_visible"]
    assert 0 in seen["images"]


# ----------------------------------------------------------------------------------------------------------
# progress and timing

def test_run_statements_times_the_construction_of_derivations():
    """The seconds of a statement's first derivation record include building its derivations (SymPy), and a
    progress line announces the building before it starts."""
    st = statements(["prop-3-1-literal"])[0]

    def slow_build():
        time.sleep(0.4)
        return st.derivations()

    fresh = dataclasses.replace(st, derivations=slow_build, checks=())
    lines = []
    recs = run_statements([fresh], derivations=True, progress=lines.append)
    assert recs[0].kind == "symbolic" and recs[0].seconds >= 0.4
    assert lines[0] == "[1/1] building the derivations of prop-3-1-literal"


def test_progress_never_writes_stdout_and_is_silent_when_quiet(capsys):
    with Progress(bar=True) as p:  # a bar forced on (as on a terminal): stderr only
        p("loading the statements")
        for k in range(1, 4):
            p(f"[{k}/3] check {k}")
    with Progress(quiet=True, bar=True) as q:
        q("[1/1] nothing")
    cap = capsys.readouterr()
    assert cap.out == ""
    assert "3/3" in cap.err and "nothing" not in cap.err


def test_run_json_stdout_stays_json_with_the_bar_on(capsys, monkeypatch):
    """On a terminal the bar draws on stderr; --json stdout is the records and nothing else; --quiet: no bar."""
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert main(["run", "linear-limit", "--no-derivations", "--json"]) == 0
    cap = capsys.readouterr()
    records = json.loads(cap.out)
    assert records and [r["id"] for r in records] == ["linear-limit"] * len(records)
    evidence = [r for r in records if r["kind"] != "verdict"]
    assert len(evidence) == len(records) - 1 and records[-1]["verdict"] == "verified under hypotheses"
    assert "%|" in cap.err and f"/{len(evidence)} [" in cap.err  # the bar, at k of n records
    assert main(["run", "linear-limit", "--no-derivations", "--json", "--quiet"]) == 0
    cap = capsys.readouterr()
    assert cap.err == "" and json.loads(cap.out)

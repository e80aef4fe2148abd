"""The CLI and API tried as a new user would: seeds, output paths, missing pdflatex, duplicate ids, widths."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import verify
from verify import cli
from verify.kernel.statement import Evidence
from verify.kernel.registry import statements
from verify.reports.table import format_mutants, format_table


def _run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv", [
    ["run", "--seed", "-3"], ["run", "--seed", "1.5"], ["claim", "gaussian-limit", "--formula", "V*m", "--seed", "-5"],
    ["latex", "-o", "x.tex", "--seed", "-1"],
])
def test_every_bad_seed_names_seed_in_one_line(capsys, argv):
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == "" and "--seed" in err and err.count("\n") == 1


def test_api_seed_is_named():
    with pytest.raises(ValueError, match="seed"):
        verify.check_claim("gaussian-limit", "V*m", seed=-1)
    with pytest.raises(TypeError, match="seed"):
        verify.check_claim("gaussian-limit", "V*m", seed=True)


def test_pytest_verify_seed_is_named():
    proc = subprocess.run([sys.executable, "-m", "pytest", "tests/statements.verify", "--verify-seed", "-1", "-q",
                           "--co", "-p", "no:cacheprovider"], capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.dirname(__file__)), timeout=120)
    assert proc.returncode != 0 and "--verify-seed" in proc.stderr and "Traceback" not in proc.stderr


def test_latex_output_directory_is_created_and_a_file_in_the_way_refused(capsys, tmp_path):
    missing = tmp_path / "nonexistent" / "dir" / "x.tex"
    code, out, err = _run(capsys, "latex", "gaussian-limit", "-o", str(missing), "--no-evidence")
    assert code == 0 and missing.read_text().startswith("\\documentclass") and f"wrote {missing}" in out
    afile = tmp_path / "afile"
    afile.write_text("")
    code, _, err = _run(capsys, "latex", "gaussian-limit", "-o", str(afile / "x.tex"), "--no-evidence")
    assert code == 2 and "-o/--output" in err and "not a directory" in err and err.count("\n") == 1
    (tmp_path / "d.tex").mkdir()
    code, _, err = _run(capsys, "latex", "gaussian-limit", "-o", str(tmp_path / "d.tex"), "--no-evidence")
    assert code == 2 and "is a directory" in err
    code, _, err = _run(capsys, "latex", "gaussian-limit", "-o", str(tmp_path / "x.pdf"))
    assert code == 2 and "expected a .tex file name" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_latex_output_unwritable(capsys, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    code, _, err = _run(capsys, "latex", "gaussian-limit", "-o", str(ro / "x.tex"), "--no-evidence")
    assert code == 2 and "not writable" in err


def test_pdf_without_pdflatex_exits_nonzero(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(cli.shutil, "which", lambda name: None)
    code, _, err = _run(capsys, "latex", "gaussian-limit", "-o", str(tmp_path / "x.tex"), "--pdf", "--no-evidence")
    assert code == 2 and "pdflatex" in err and err.count("\n") == 1


def test_duplicate_ids_run_once():
    assert [s.id for s in statements(["gaussian-limit", "linear-limit", "gaussian-limit"])] == ["gaussian-limit",
                                                                                             "linear-limit"]


@pytest.mark.parametrize("width", [80, 100, 160])
def test_tables_fit_the_width_and_cut_nothing(width):
    """A table is as wide as asked (the terminal's width, never below 80) and wraps a long cell inside its column:
    every word of the id, the name, the mutant and the detail is printed."""
    long = Evidence("a-statement-with-a-long-id", "an evidence name that goes on " * 4, "negative-control", False,
                    1.5e-7, 5.0, "<=", "relative error", 123.45, "detail " * 40, mutant="a mutant " * 8)
    for text in (format_table([long] * 3, verbose=True, width=width), format_mutants([long] * 3, width=width)):
        assert max(len(line) for line in text.splitlines()) <= width, text
        assert "~" not in text and "a-statement-with-a-long-id" in text
        words = " ".join(text.split())
        assert words.count("goes on") >= 3 * 4 - 3  # wrapped, not cut (a line break may fall inside "goes on")
    assert format_table([long], width=40).splitlines()[1].startswith("  evidence")  # never narrower than 80
    assert max(len(line) for line in format_table([long], width=40).splitlines()) <= 80


@pytest.mark.parametrize("bad, error", [
    ([[1 + 1j, 0], [0, 1]], TypeError), ([["1", "0"], ["0", "1"]], TypeError), (None, TypeError),
    ([[True, False], [False, True]], TypeError), ([[1.0, float("nan")], [float("nan"), 1.0]], ValueError),
])
def test_validation_refuses_complex_strings_none_bools_nan_naming_the_parameter(bad, error):
    from verify._validation import covariance

    with pytest.raises(error, match="Sigma"):
        covariance(bad, "Sigma")


def test_positive_definiteness_is_relative():
    import numpy as np

    from verify._validation import covariance

    covariance(1e-15 * np.eye(3), "Sigma")  # tiny but perfectly conditioned
    covariance(1e6 * np.eye(3), "Sigma")
    with pytest.raises(ValueError, match="positive definite"):
        covariance(np.diag([1.0, 1e-15]), "Sigma")  # condition number 1e15
    with pytest.raises(ValueError, match="positive definite"):
        covariance(np.zeros((2, 2)), "Sigma")


def test_nothing_in_the_package_imports_the_command_line():
    """The command line sits on top: no module of the package imports it, at module level or in a function
    (``python -m verify`` aside); it is handed in where a library function needs it (``exit_code=main``)."""
    import ast
    from pathlib import Path

    root = Path(verify.__file__).resolve().parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "__main__.py" or path == root / "cli.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "verify.cli" or n.startswith("verify.cli.") for n in names):
                offenders.append(path.relative_to(root).as_posix())
    assert not offenders, offenders

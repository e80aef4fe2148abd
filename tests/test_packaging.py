"""What a researcher needs to cite and install the toolkit: a licence, a valid citation file naming the paper it
checks, a changelog, a version read from the package metadata, and ``python -m verify``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import verify

ROOT = Path(__file__).resolve().parents[1]


def test_licence_citation_and_changelog_are_shipped():
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    cff = (ROOT / "CITATION.cff").read_text()
    assert "arXiv:2512.11784" in cff and "Boursier" in cff and "Boyer" in cff
    assert f"version: {verify.__version__}" in cff
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## {verify.__version__}" in changelog


def test_the_citation_file_is_valid_cff():
    exe = shutil.which("cffconvert")
    if exe is None:
        pytest.skip("cffconvert is not installed (pip install -e '.[test]')")
    out = subprocess.run([exe, "--validate", "-i", str(ROOT / "CITATION.cff")], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and "valid" in out.stdout.lower(), out.stdout + out.stderr


def test_the_version_comes_from_the_metadata_and_python_m_verify_runs():
    assert verify.__version__ == metadata.version("softmax-verify")
    out = subprocess.run([sys.executable, "-m", "verify", "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"softmax-verify {verify.__version__}"

"""Shell transcripts on the executed pages: ``sh("verify run gaussian-limit")`` runs the command line of this
package in a scratch directory (with the interpreter that builds the site) and prints ``$ command`` and what it
wrote to stdout, so the pages show what the commands print today.  An unexpected exit status fails the build."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile

_SCRATCH = tempfile.mkdtemp(prefix="sv-docs-")


def sh(command: str, expect: int = 0, columns: int = 100) -> None:
    args = shlex.split(command)
    if args[0] != "verify":
        raise ValueError(f"command: only 'verify ...' is run here, got {command!r}")
    env = {**os.environ, "COLUMNS": str(columns)}
    proc = subprocess.run([sys.executable, "-m", "verify", *args[1:]], capture_output=True, text=True,
                          cwd=_SCRATCH, env=env, timeout=600)
    print("$ " + command)
    print(proc.stdout.rstrip())
    if proc.returncode != expect:
        raise RuntimeError(f"{command!r} exited {proc.returncode}, expected {expect}:\n{proc.stderr[-2000:]}")

"""The sweep engine (verify/sweep.py): one result on every backend, lost workers, resumable logs.

One shared class (:class:`TestBackends`) runs the same sweeps in-process, on ``workers=2`` (a Dask LocalCluster)
and on a cluster started by hand in this file (``dask scheduler --port 0`` + two ``dask worker ADDRESS`` processes
on this machine): the grid's dict and ``verify audit --json`` (timings removed) must be the same bits.  A worker
killed by its pid mid-sweep costs a rerun of its cells, not a different result.  A sweep cut half way resumes from
its log without recomputing the logged cells; a missing dask gives one line naming ``pip install -e
'.[distributed]'`` and exit status 2.  About 40-60 s on two busy cores (the cluster start-ups dominate).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from verify.studies import audit
from verify.cli import main
from verify.sweep import INSTALL_HINT, Backend, Cell, cell_seed, read_log, run_sweep

ROOT = Path(__file__).resolve().parents[1]
distributed = pytest.importorskip("distributed")  # part of the 'test' extra: CI runs every test here
cloudpickle = pytest.importorskip("cloudpickle")
if __name__ in sys.modules:  # the workers cannot import this test module: ship its cell functions by value
    cloudpickle.register_pickle_by_value(sys.modules[__name__])

MICRO = {"exact": [], "exact_Ls": [], "far": (), "far_Ls": [],  # Monte Carlo cells only: the randomness, 0.1 s
         "mc": [("gaussian", 1, (1.0, 2.0)), ("rademacher", 1, (1.0,))], "mc_Ls": (10, 100),
         "mc_prompts": {10: 40, 100: 40}}


def draws(seed, sigma, n, marker=None, delay=0.0):
    """A cell: the mean of n normal draws; its stream comes from (seed, its key) alone.  ``marker``: a directory
    where the cell notes which process started it (a side effect that never changes the result)."""
    if marker is not None:
        Path(marker, f"{os.getpid()}-{sigma}-{n}").touch()
    time.sleep(delay)
    rng = np.random.default_rng(cell_seed(seed, ("draws", sigma, n)))
    return float(rng.normal(0.0, sigma, n).mean())


def grid(seed=7, marker=None, delay=0.0, sizes=(10, 1000, 5000)):
    return [Cell(("draws", s, n), draws, (seed, s, n, marker, delay)) for s in (0.5, 1.0, 2.0) for n in sizes]


def _strip(doc):
    """A JSON document without its timings, nor the command line its provenance records (it names the backend,
    which must not matter)."""
    if isinstance(doc, dict):
        return {k: _strip(v) for k, v in doc.items() if k != "seconds" and not (k == "command" and "git_commit" in doc)}
    if isinstance(doc, list):
        return [_strip(v) for v in doc]
    return doc


def _env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))


def _start_worker(address, tmp, name):
    return subprocess.Popen([sys.executable, "-m", "dask", "worker", address, "--nthreads", "1", "--no-nanny",
                             "--no-dashboard", "--name", name], stdout=subprocess.DEVNULL,
                            stderr=open(tmp / f"{name}.log", "w"), env=_env(), cwd=tmp)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A Dask cluster started by hand: ``dask scheduler --port 0`` and two ``dask worker ADDRESS`` processes."""
    tmp = tmp_path_factory.mktemp("dask")
    log = tmp / "scheduler.log"
    procs = [subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--dashboard-address", ":0"], stdout=subprocess.DEVNULL, stderr=open(log, "w"),
                              env=_env(), cwd=tmp)]
    try:
        address, t0 = None, time.time()
        while address is None and time.time() - t0 < 90:
            for line in log.read_text().splitlines():
                if "Scheduler at:" in line:
                    address = line.split("Scheduler at:")[1].strip()
            time.sleep(0.2)
        assert address, log.read_text()
        procs += [_start_worker(address, tmp, f"w{i}") for i in range(2)]
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=90)
        yield {"address": address, "tmp": tmp, "procs": procs}
    finally:
        for p in procs:  # only the processes started here, by pid (a graceful stop takes ~20 s)
            if p.poll() is None:
                p.kill()
            p.wait(timeout=20)


@pytest.fixture(params=["in-process", "workers=2", "scheduler"])
def where(request):
    """Backend keyword arguments and the matching CLI flags."""
    if request.param == "in-process":
        return {}, []
    if request.param == "workers=2":
        return {"workers": 2}, ["--workers", "2"]
    address = request.getfixturevalue("cluster")["address"]
    return {"scheduler": address}, ["--scheduler", address]


@pytest.fixture(scope="module")
def reference():
    """The in-process results every backend must reproduce."""
    return run_sweep(grid())


def _audit_json(argv):
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(audit.GRID, "quick", MICRO)  # travels with the cells: workers get the grid as an argument
        assert main(["audit", "--quick", "--json", "--seed", "4", *argv]) == 0


@pytest.fixture(scope="module")
def audit_reference():
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        _audit_json([])
    return _strip(json.loads(out.getvalue()))


class TestBackends:
    def test_same_dict_in_grid_order(self, where, reference):
        kwargs, _ = where
        with Backend(**kwargs) as backend:  # one cluster for both sweeps
            out = run_sweep(list(reversed(grid())), backend=backend)  # another order: keyed by cell anyway
            other = run_sweep(grid(seed=8), backend=backend)
        assert out == reference and list(out) == [c.key for c in reversed(grid())]
        assert other != reference  # the comparison can fail: the seed moves the bits

    def test_audit_json_same_bits(self, where, audit_reference, capsys):
        _audit_json(where[1])
        assert _strip(json.loads(capsys.readouterr().out)) == audit_reference
        assert sum(m["method"] == "montecarlo" for m in audit_reference["measurements"]) >= 6


    def test_run_json_same_bits(self, where, capsys, tmp_path):
        """``verify run --json``: every derivation and check a cell; the records are the same on every backend, and
        a rerun with ``--log`` reads them back without running anything."""
        argv = ["run", "zfb-minimizer", "--json", "-q", "--seed", "3"]
        assert main(argv) == 0
        ref = _strip(json.loads(capsys.readouterr().out))
        log = tmp_path / "run.jsonl"
        assert main(argv + where[1] + ["--log", str(log)]) == 0
        assert _strip(json.loads(capsys.readouterr().out)) == ref
        evidence = [r for r in ref if r["kind"] != "verdict"]  # the statement's verdict record is not a cell
        assert len(read_log(log, decode=dict)) == len(evidence) >= 3 and len(ref) == len(evidence) + 1
        assert main(argv + ["--log", str(log)]) == 0
        assert _strip(json.loads(capsys.readouterr().out)) == ref


def test_a_worker_killed_mid_sweep_costs_retries_not_results(cluster, tmp_path, reference):
    """A third worker joins, starts cells, and is killed (SIGKILL, by its pid) while they run: the scheduler
    reruns its cells on the others and the sweep returns the same dict."""
    marker = tmp_path / "started"
    marker.mkdir()
    victim = _start_worker(cluster["address"], cluster["tmp"], "victim")
    try:
        with distributed.Client(cluster["address"], timeout=60) as client:
            client.wait_for_workers(3, timeout=90)
        out, errors = {}, []

        def sweep():
            try:
                out.update(run_sweep(grid(marker=str(marker), delay=0.4), scheduler=cluster["address"]))
            except BaseException as exc:  # reported below
                errors.append(exc)

        t = threading.Thread(target=sweep)
        t.start()
        t0 = time.time()
        while not any(p.name.startswith(f"{victim.pid}-") for p in marker.iterdir()) and time.time() - t0 < 60:
            time.sleep(0.05)
        started = [p.name for p in marker.iterdir() if p.name.startswith(f"{victim.pid}-")]
        assert started, "the victim worker never started a cell"
        os.kill(victim.pid, signal.SIGKILL)
        t.join(timeout=120)
        assert not t.is_alive() and not errors, errors
        assert victim.wait(timeout=10) == -signal.SIGKILL
        assert out == reference
        # the cell the victim had started ran again elsewhere
        rerun = started[0].split("-", 1)[1]
        assert len([p for p in marker.iterdir() if p.name.endswith(rerun)]) >= 2
    finally:
        if victim.poll() is None:
            victim.kill()


def test_an_interrupted_sweep_resumes_from_its_log(tmp_path, reference):
    log = tmp_path / "cells.jsonl"
    cells = grid()
    run_sweep(cells[:4], log=log)  # the first half of the grid, then "interrupted"
    text = log.read_text()
    log.write_text(text + text.splitlines()[0][:15])  # and a line cut mid-write
    calls = []

    def counted(seed, sigma, n, marker, delay):
        calls.append((sigma, n))
        return draws(seed, sigma, n)

    out = run_sweep([Cell(c.key, counted, c.args) for c in cells], log=log)
    assert out == reference and list(out) == [c.key for c in cells]
    assert calls == [c.key[1:] for c in cells[4:]]  # logged cells are not recomputed
    assert read_log(log) == reference  # every cell logged once, the cut line skipped
    calls.clear()
    assert run_sweep([Cell(c.key, counted, c.args) for c in cells], log=log) == reference and not calls


def test_ctrl_c_leaves_a_valid_log(tmp_path, reference):
    log = tmp_path / "cells.jsonl"
    cells = grid()

    def interrupted(seed, sigma, n, marker, delay):
        if (sigma, n) == cells[5].key[1:]:
            raise KeyboardInterrupt
        return draws(seed, sigma, n)

    with pytest.raises(KeyboardInterrupt):
        run_sweep([Cell(c.key, interrupted, c.args) for c in cells], log=log)
    assert list(read_log(log)) == [c.key for c in cells[:5]]
    assert all(json.loads(line) for line in log.read_text().splitlines())
    assert run_sweep(cells, log=log) == reference


def test_results_do_not_depend_on_order_and_keys_are_checked():
    cells = grid()
    assert run_sweep(cells[::-1]) == run_sweep(cells)
    with pytest.raises(ValueError, match="duplicate"):
        run_sweep([cells[0], cells[0]])
    with pytest.raises(TypeError, match="cell key"):
        run_sweep([Cell(["draws"], draws, ())])
    with pytest.raises(ValueError, match="workers"):
        Backend(workers=0)
    with pytest.raises(ValueError, match="workers/scheduler"):
        Backend(workers=2, scheduler="tcp://127.0.0.1:1")


def test_missing_dask_is_one_line_naming_the_extra(monkeypatch, capsys):
    for mod in ("distributed", "dask.distributed"):
        monkeypatch.setitem(sys.modules, mod, None)  # import fails as if not installed
    with pytest.raises(ValueError, match=r"pip install -e '\.\[distributed\]'"):
        run_sweep(grid(), workers=2)
    assert run_sweep(grid()) is not None  # in-process needs no dask
    for argv in (["selftest", "--full", "--seeds", "1", "--workers", "2"], ["audit", "--quick", "--scheduler", "tcp://x:1"]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and INSTALL_HINT in err[0], err

"""The task that fingerprints a cluster member travels by value: a worker needs Python, not
envcheck. Shown by loading it in an isolated interpreter where envcheck cannot be imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from envcheck.integrations._remote import probe_arguments, probe_task, to_fingerprint

from conftest import run_envcheck

cloudpickle = pytest.importorskip("cloudpickle")

LOAD_AND_RUN = r'''
import pickle, sys
sys.path.append(sys.argv[1])  # site-packages for cloudpickle, without its .pth files
try:
    import envcheck
except ImportError:
    pass
else:
    sys.exit("envcheck is importable here: the test proves nothing")
task, arguments = pickle.loads(sys.stdin.buffer.read())
sys.stdout.buffer.write(pickle.dumps(task(*arguments)))
'''


def test_the_probe_task_runs_where_envcheck_is_not_installed() -> None:
    payload = cloudpickle.dumps((probe_task(), probe_arguments(timeout=120)))
    # -I: no user site, no PYTHONPATH, no current directory; -S: no site, so the .pth file
    # that makes the venv's envcheck importable (an editable install) is never read. Dask
    # and Ray workers have cloudpickle, which unpickles the task: it comes from site-packages.
    site_packages = str(Path(cloudpickle.__file__).parents[1])
    done = subprocess.run([sys.executable, "-I", "-S", "-c", LOAD_AND_RUN, site_packages],
                          input=payload,
                          capture_output=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    import pickle

    fingerprint = to_fingerprint(pickle.loads(done.stdout), "isolated interpreter")
    assert fingerprint.data["python"]["executable"] == sys.executable


def test_clusters_are_for_compare_not_diff() -> None:
    done = run_envcheck("diff", "dask://127.0.0.1:1", "dask://127.0.0.1:2")
    assert done.returncode == 2
    assert done.stderr == ("envcheck: dask://127.0.0.1:1: a cluster is many environments: "
                           "envcheck compare dask://127.0.0.1:1\n")

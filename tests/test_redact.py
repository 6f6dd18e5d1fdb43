"""One redactor, every token shape, every path to a file envcheck writes (issue 13, finding 4).

Each shape has its own case; then real snapshots carry the shapes through allow-listed
variables (XLA_FLAGS, TF_CONFIG JSON, presigned URLs) and a ``direct_url.json``, and the
test reads every file envcheck wrote: the snapshot, a lockfile and the history database.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import zlib
from pathlib import Path

import pytest

from envcheck.probe._common import REDACTED, redact

from conftest import run_envcheck
from distbuild import make_dist

# (shape, value, the secret part that must go)
SHAPES = [
    ("url userinfo", "https://ci-user:pw-URL-1@git.example.com/r.git", "pw-URL-1"),
    ("url password only", "redis://:pw-REDIS-2@cache:6379/0", "pw-REDIS-2"),
    ("userinfo without scheme", "admin:pw-BARE-3@db.internal:5432", "pw-BARE-3"),
    ("query token", "https://idx.example.com/p.whl?token=tok-Q-4&x=1", "tok-Q-4"),
    ("presigned S3", "https://b.s3.example.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                     "&X-Amz-Credential=cred-S3-5%2F20240101&X-Amz-Signature=sig-S3-6"
                     "&X-Amz-Security-Token=st-S3-7", "sig-S3-6"),
    ("presigned S3 credential", "https://b.s3.example.com/k?X-Amz-Credential=cred-S3-5",
     "cred-S3-5"),
    ("presigned S3 session token", "https://b.s3.example.com/k?X-Amz-Security-Token=st-S3-7",
     "st-S3-7"),
    ("Azure SAS", "https://acct.blob.example.net/c/b?sv=2021-08-06&se=2030&sp=r"
                  "&sig=sas-AZ-8%2Bxyz%3D", "sas-AZ-8"),
    ("Google signed URL", "https://storage.example.com/b/o?X-Goog-Signature=gs-9abc",
     "gs-9abc"),
    ("PyPI token", "pypi-AgEIcHlwaS5vcmcCJDAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMA",
     "AgEIcHlwaS5vcmc"),
    ("npm token", "npm_" + "n" * 36, "npm_nnnn"),
    ("Google API key", "AIza" + "G" * 35, "AIzaGGG"),
    ("Stripe live key", "sk_live_" + "S" * 24, "sk_live_SSS"),
    ("Stripe restricted test key", "rk_test_" + "R" * 24, "rk_test_RRR"),
    ("JWT", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl", "eyJzdWIi"),
    ("Hugging Face token", "hf_" + "h" * 34, "hf_hhh"),
    ("GitHub token", "ghp_" + "g" * 36, "ghp_ggg"),
    ("GitHub fine-grained token", "github_pat_" + "p" * 40, "github_pat_ppp"),
    ("GitLab token", "glpat-" + "l" * 20, "glpat-lll"),
    ("AWS access key id", "AKIA" + "A" * 16, "AKIAAAA"),
    ("Slack token", "xoxb-" + "1" * 12 + "-abcdef", "xoxb-111"),
    ("OpenAI-style key", "sk-" + "o" * 40, "sk-ooo"),
    ("flag with =", "--xla_gpu_deterministic_ops=true --token=flag-T-10", "flag-T-10"),
    ("flag with a space", "--api-key flag-K-11 --xla_gpu_autotune_level=0", "flag-K-11"),
    ("JSON password", '{"cluster": {"worker": ["h:2222"]}, "password": "json-P-12"}',
     "json-P-12"),
    ("JSON api_key with an escaped quote", '{"api_key": "json\\"K-13"}', "K-13"),
    ("key=value pair", "endpoint=h,secret=pair-S-14", "pair-S-14"),
]

# Values that look a little like secrets but are settings: kept exactly.
KEPT = [
    "--xla_gpu_deterministic_ops=true --xla_dump_hlo_pass_re=.*",
    "--xla_disable_hlo_passes=foo,bar", "max_split_size_mb:128,expandable_segments:True",
    "git@github.com:org/repo.git", "http://proxy.internal:3128", "0,1,2,3", "Haswell",
    '{"cluster": {"worker": ["h:2222"]}, "task": {"type": "worker", "index": 0}}',
    "https://download.example.com/whl/cpu/torch-2.13.0.whl?platform=linux",
]


@pytest.mark.parametrize(("shape", "value", "secret"), SHAPES, ids=[s[0] for s in SHAPES])
def test_each_shape_is_redacted(shape: str, value: str, secret: str) -> None:
    redacted = redact(value)
    assert secret not in redacted, shape
    assert REDACTED in redacted or "@" not in redacted


@pytest.mark.parametrize("value", KEPT)
def test_settings_are_kept(value: str) -> None:
    assert redact(value) == value


def test_hosts_and_settings_around_a_secret_stay_readable() -> None:
    assert redact("admin:pw@db.internal:5432") == "db.internal:5432"
    assert redact("https://u:p@host/x?token=t&x=1") == f"https://host/x?token={REDACTED}&x=1"
    assert redact("--a=1 --token=t --b=2") == f"--a=1 --token={REDACTED} --b=2"


def _everything_in(database: Path) -> str:
    """Every value the history database holds, decompressed where it is compressed."""
    texts = []
    with sqlite3.connect(database) as connection:
        tables = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in connection.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        with contextlib.suppress(zlib.error):
                            value = zlib.decompress(value)
                        texts.append(value.decode("utf-8", "replace"))
                    else:
                        texts.append(str(value))
    return "\n".join(texts)


def test_no_shape_reaches_a_snapshot_a_lockfile_or_the_history(tmp_path: Path) -> None:
    site = tmp_path / "site"
    url_with_secrets = ("https://ci-user:pw-URL-1@idx.example.com/p/demo-1.0-py3-none-any.whl"
                        "?X-Amz-Signature=sig-S3-6&token=tok-Q-4")
    make_dist(site, "demo", "1.0", direct_url={"url": url_with_secrets, "archive_info": {}})
    home = tmp_path / "home"
    env = {
        "PYTHONPATH": str(site), "ENVCHECK_HOME": str(home),
        "XLA_FLAGS": "--xla_gpu_deterministic_ops=true --token=flag-T-10",
        "TF_CONFIG": '{"cluster": {"worker": ["h:2222"]}, "password": "json-P-12"}',
        "NCCL_DEBUG_FILE": "https://b.s3.example.com/k?X-Amz-Credential=cred-S3-5"
                           "&X-Amz-Security-Token=st-S3-7",
        "TORCH_HOME": "https://acct.blob.example.net/c?sv=2021&sig=sas-AZ-8",
        "OMP_NUM_THREADS": "4 admin:pw-BARE-3@db.internal:5432",
        "JAX_PLATFORMS": "pypi-AgEIcHlwaS5vcmcCJDAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAw",
        "MKL_CBWR": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl",
        "CUBLAS_WORKSPACE_CONFIG": ":4096:8 " + "npm_" + "n" * 36 + " AIza" + "G" * 35,
        "NVIDIA_TF32_OVERRIDE": "sk_live_" + "S" * 24,
    }
    secrets = ["pw-URL-1", "sig-S3-6", "tok-Q-4", "flag-T-10", "json-P-12", "cred-S3-5",
               "st-S3-7", "sas-AZ-8", "pw-BARE-3", "AgEIcHlwaS5vcmc", "eyJzdWIi", "npm_nnnn",
               "AIzaGGG", "sk_live_SSS"]
    snapshot = run_envcheck("snapshot", "-o", str(tmp_path / "fp.json"), env=env)
    assert snapshot.returncode == 0, snapshot.stderr
    lock = run_envcheck("lock", "train", env=env, cwd=tmp_path)
    assert lock.returncode == 0, lock.stderr
    document = json.loads((tmp_path / "fp.json").read_text())
    assert document["packages"]["demo"]["direct_url"]["url"].startswith(
        "https://idx.example.com/p/demo-1.0")
    assert document["env"]["XLA_FLAGS"].startswith("--xla_gpu_deterministic_ops=true")
    written = {
        "snapshot": (tmp_path / "fp.json").read_text(),
        "lockfile": (tmp_path / "lockfiles" / "train.json").read_text(),
        "history": _everything_in(home / "history.sqlite3"),
    }
    assert "XLA_FLAGS" in written["history"]  # the history holds the env section at all
    for where, text in written.items():
        for secret in secrets:
            assert secret not in text, (where, secret)

"""Docker images and containers fingerprinted through a real engine (``envcheck.containers``).

The ``docker``-marked tests need a reachable engine and the local images that
``bash .ci/docker-setup`` makes (nothing is pulled); they are skipped, with
the reason, only where no engine answers. Every container a test makes
carries ``envcheck.test=1`` and every probe container ``envcheck.probe=1``:
after each test none may remain, and the builds may leave no dangling image.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest

import envcheck
from envcheck import containers
from envcheck.drift import diff
from envcheck.errors import ExitCode, TargetError
from envcheck.model import Fingerprint, loads

ROOT = Path(__file__).resolve().parents[1]
BOOKWORM = "envcheck-test/bookworm:latest"
BULLSEYE = "envcheck-test/bullseye:latest"
# This session's mark: other sessions (a full suite run elsewhere) may share the engine.
TEST_LABEL = "envcheck.test"
LABELS = {TEST_LABEL: uuid.uuid4().hex[:12]}
# Secrets planted in a derived image; neither may appear anywhere in a fingerprint.
TOKEN = "hf_" + "Q7xK2mP9vR4tW8yZ3bN6cF1dG5hJ0kL"
PASSWORD = "s3cr3t-Pa55w0rd"
# Runs of the project's image that took longer than this mean something is wrong.
RUN_TIMEOUT = 120


# ---- the engine, and what the tests leave behind ---------------------------------------

def _engine() -> tuple[Any, str | None]:
    """A client of a reachable engine, or None (with the reason) when there is none."""
    try:
        client = containers.connect()
        client.ping()
    except TargetError as exc:
        return None, str(exc)
    except Exception as exc:  # any failure to reach the engine means: skip
        return None, f"{type(exc).__name__}: {exc}"
    return client, None


def probe_containers(client: Any) -> list[Any]:
    """The probe containers of this process (containers.py labels them with their owner)."""
    owned = f"{containers.OWNER_LABEL}={containers.owner()}"
    return list(client.containers.list(all=True, filters={"label": owned}))


def _leftover_containers(client: Any) -> list[str]:
    mine = f"{TEST_LABEL}={LABELS[TEST_LABEL]}"
    tests = client.containers.list(all=True, filters={"label": mine})
    return [f"{c.name} ({c.status})" for c in [*tests, *probe_containers(client)]]


@pytest.fixture(scope="session", autouse=True)
def _nothing_left_behind() -> Iterator[None]:
    """At the end of the session: no container of these tests, and no image their builds
    made (every step of every build; dangling ones included)."""
    yield
    client, _ = _engine()
    if client is None:
        return
    assert _leftover_containers(client) == []
    assert Builds.remaining(client) == [], "the builds left images behind"
    client.close()


@pytest.fixture(autouse=True)
def _no_container_left(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every docker test (its own fixtures torn down first): no container remains."""
    yield
    if request.node.get_closest_marker("docker") is None:
        return
    client, _ = _engine()
    if client is not None:
        assert _leftover_containers(client) == []
        client.close()


@pytest.fixture(scope="session")
def engine() -> Iterator[Any]:
    client, why = _engine()
    if client is None:
        if os.environ.get("CI"):  # CI always runs these: .ci/run starts the engine
            pytest.fail(f"CI without a Docker engine ({why}); did .ci/docker-setup run?")
        pytest.skip(f"no Docker engine reachable ({why})")
    for tag in (BOOKWORM, BULLSEYE):
        if not client.images.list(name=tag):
            pytest.fail(f"{tag} is missing: run `bash .ci/docker-setup` (nothing is pulled)")
    yield client
    client.close()


class Builds:
    """Images built by the tests, removed at the end with every layer they made.

    The classic builder keeps each step's result as an image; a multi-stage
    build's first stage ends up dangling once the tag is gone, so every step
    id from the build log is removed too (tagged ones, such as the base, never).
    """

    # Every step id of every build of this session, for the final check.
    made: ClassVar[list[str]] = []

    def __init__(self, client: Any) -> None:
        self.client = client
        self.tags: list[str] = []
        self.steps: list[str] = []

    @classmethod
    def remaining(cls, client: Any) -> list[str]:
        import docker

        left = []
        for step in cls.made:
            with contextlib.suppress(docker.errors.NotFound):
                if not client.images.get(step).tags:  # tagged: a FROM step, not ours
                    left.append(step)
        return left

    def build(self, tag: str, network_mode: str = "none", **kwargs: Any) -> Any:
        import docker

        self.tags.append(tag)
        try:
            # nocache: no layer shared with another session's build, so each removes its own.
            image, log = self.client.images.build(
                tag=tag, rm=True, forcerm=True, nocache=True, network_mode=network_mode,
                labels=LABELS, **kwargs)
        except docker.errors.BuildError as exc:
            self._record(exc.build_log)
            lines = "".join(str(entry.get("stream") or entry.get("error") or "")
                            for entry in exc.build_log)
            pytest.fail(f"docker build {tag} failed: {exc}\n{lines[-4000:]}")
        self._record(log)
        return image

    def _record(self, log: Any) -> None:
        for entry in log:
            text = str(entry.get("stream") or "")
            step = text[6:].strip() if text.startswith(" ---> ") else ""
            if step and "Running in" not in step:  # FROM scratch logs an empty id
                self.steps.append(step)
                Builds.made.append(step)

    def remove_all(self) -> None:
        import docker

        for tag in self.tags:
            with contextlib.suppress(docker.errors.ImageNotFound):
                self.client.images.remove(tag, force=True)
        for step in reversed(self.steps):
            try:
                if self.client.images.get(step).tags:
                    continue  # a FROM step: someone's image, never ours to remove
                self.client.images.remove(step)
            except docker.errors.NotFound:
                pass  # went with the tag, or with a later step
            except docker.errors.APIError:
                pass  # still the parent of an image we did not make


@pytest.fixture(scope="session")
def builds(engine: Any) -> Iterator[Builds]:
    made = Builds(engine)
    yield made
    made.remove_all()


def context(files: Mapping[str, tuple[bytes, int]]) -> io.BytesIO:
    """A build context as a tar in memory: name -> (content, mode)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, (data, mode) in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


def tag_for(name: str) -> str:
    return f"envcheck-test/{name}:pytest-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def derived(builds: Builds) -> str:
    """bookworm with numerics settings, planted secrets, and a 'python' that never answers."""
    dockerfile = f"""FROM {BOOKWORM}
ENV TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1 OMP_NUM_THREADS=4
ENV HF_TOKEN={TOKEN}
ENV XLA_FLAGS="--xla_gpu_deterministic_ops=true --token=flag-T-10" \
    TF_CONFIG='{{"cluster": {{}}, "password": "json-P-12"}}' \
    NCCL_DEBUG_FILE="https://b.example.com/k?X-Amz-Signature=sig-S3-6" \
    OMP_PROC_BIND="admin:pw-BARE-3@db.internal:5432 npm_{"n" * 36}"
LABEL org.example.team=ml-infra \\
      org.example.api-key={PASSWORD} \\
      org.example.source=https://ci-user:{PASSWORD}@git.example.com/models.git
COPY slowpy /usr/local/bin/slowpy
""".encode()
    tag = tag_for("derived")
    builds.build(tag, fileobj=context({"Dockerfile": (dockerfile, 0o644),
                                       "slowpy": (b"#!/bin/sh\nexec sleep 300\n", 0o755)}),
                 custom_context=True)
    return tag


@pytest.fixture(scope="session")
def no_python(builds: Builds) -> str:
    """An image with one static file and nothing else: no python, no shell."""
    tag = tag_for("no-python")
    files = {"Dockerfile": (b"FROM scratch\nCOPY marker /marker\n", 0o644),
             "marker": (b"not an interpreter\n", 0o644)}
    builds.build(tag, fileobj=context(files), custom_context=True)
    return tag


@pytest.fixture(scope="session")
def python_only(builds: Builds) -> str:
    """bookworm whose interpreter is called ``python`` alone: the second name tried."""
    tag = tag_for("python-only")
    dockerfile = (f"FROM {BOOKWORM}\n"
                  "RUN ln -s /usr/bin/python3.11 /usr/local/bin/python && rm /usr/bin/python3\n")
    builds.build(tag, fileobj=context({"Dockerfile": (dockerfile.encode(), 0o644)}),
                 custom_context=True)
    return tag


@pytest.fixture(scope="session")
def blas_images(builds: Builds) -> dict[str, str]:
    """Two bookworm images that differ only in the BLAS apt installed: the reference BLAS
    (libblas3) and OpenBLAS (libopenblas0-pthread), from Debian's own repository."""
    tags = {}
    for variant, package in (("reference", "libblas3"), ("openblas", "libopenblas0-pthread")):
        dockerfile = (f"FROM {BOOKWORM}\nRUN apt-get update -q && apt-get install -q -y "
                      f"--no-install-recommends {package} && rm -rf /var/lib/apt/lists/*\n")
        tags[variant] = tag_for(f"blas-{variant}")
        builds.build(tags[variant], network_mode="default",
                     fileobj=context({"Dockerfile": (dockerfile.encode(), 0o644)}),
                     custom_context=True)
    return tags


@pytest.fixture(scope="session")
def numpy_blas_images(builds: Builds) -> dict[str, str]:
    """Debian's python3-numpy, which links the generic libblas.so.3 and liblapack.so.3: alone
    (apt brings the reference libblas3 and liblapack3) and with libopenblas0-pthread, whose
    alternatives then take libblas.so.3 and liblapack.so.3 over."""
    tags = {}
    for variant, packages in (("reference", "python3-numpy"),
                              ("openblas", "python3-numpy libopenblas0-pthread")):
        dockerfile = (f"FROM {BOOKWORM}\nRUN apt-get update -q && apt-get install -q -y "
                      f"--no-install-recommends {packages} && rm -rf /var/lib/apt/lists/*\n")
        tags[variant] = tag_for(f"numpy-{variant}")
        builds.build(tags[variant], network_mode="default",
                     fileobj=context({"Dockerfile": (dockerfile.encode(), 0o644)}),
                     custom_context=True)
    return tags


# Packages with no files, built by the real rpmbuild and recorded by the real rpm in an
# SQLite database, as on Fedora 33+ or RHEL 9: what the probe reads without running rpm.
RPM_SPECS = {
    "openblas-openmp": "Version: 0.3.26\nRelease: 2.fc40\n",
    "libnccl": "Epoch: 1\nVersion: 2.21.5\nRelease: 1+cuda12.4\n",
    "bash-completion": "Version: 2.11\nRelease: 5\nBuildArch: noarch\n",
}
RPM_DB = "--dbpath /var/lib/rpm --define '_db_backend sqlite'"


@pytest.fixture(scope="session")
def rpm_image(builds: Builds) -> str:
    files = {f"specs/{name}.spec": (f"Name: {name}\n{fields}Summary: test\nLicense: BSD\n"
                                    "%description\ntest\n%files\n".encode(), 0o644)
             for name, fields in RPM_SPECS.items()}
    dockerfile = (
        f"FROM {BOOKWORM}\n"
        "RUN apt-get update -q && apt-get install -q -y --no-install-recommends rpm "
        "&& rm -rf /var/lib/apt/lists/*\n"
        "COPY specs /root/specs\n"
        "RUN for spec in /root/specs/*.spec; do rpmbuild -bb --quiet --define "
        "'_topdir /root/rpmbuild' --define 'debug_package %{nil}' $spec; done "
        f"&& rpm --initdb {RPM_DB} && rpm -i --nodeps {RPM_DB} /root/rpmbuild/RPMS/*/*.rpm\n")
    tag = tag_for("rpm")
    builds.build(tag, network_mode="default",
                 fileobj=context({"Dockerfile": (dockerfile.encode(), 0o644), **files}),
                 custom_context=True)
    return tag


# The same packages in Berkeley DB, as RPM before 4.16 keeps them (CentOS 7 and 8, RHEL 8):
# bullseye's rpm 4.16 still writes that format on request. One header is made larger than
# a 4 KiB page (a long description) so that it sits on Berkeley DB overflow pages.
RPM_BDB = "--dbpath /var/lib/rpm --define '_db_backend bdb'"
LONG_DESCRIPTION = "FlexiBLAS with the reference BLAS. " * 400


@pytest.fixture(scope="session")
def rpm_bdb_image(builds: Builds) -> str:
    specs = {**RPM_SPECS, "flexiblas-netlib": "Version: 3.3.1\nRelease: 3.el8\n"}
    files = {f"specs/{name}.spec": (
        f"Name: {name}\n{fields}Summary: test\nLicense: BSD\n%description\n"
        f"{LONG_DESCRIPTION if name == 'flexiblas-netlib' else 'test'}\n%files\n".encode(),
        0o644) for name, fields in specs.items()}
    dockerfile = (
        f"FROM {BULLSEYE}\n"
        "RUN apt-get update -q && apt-get install -q -y --no-install-recommends rpm "
        "&& rm -rf /var/lib/apt/lists/*\n"
        "COPY specs /root/specs\n"
        "RUN for spec in /root/specs/*.spec; do rpmbuild -bb --quiet --define "
        "'_topdir /root/rpmbuild' --define 'debug_package %{nil}' $spec; done "
        f"&& rpm --initdb {RPM_BDB} && rpm -i --nodeps {RPM_BDB} /root/rpmbuild/RPMS/*/*.rpm "
        "&& rm -f /var/lib/rpm/__db.*\n")
    tag = tag_for("rpm-bdb")
    builds.build(tag, network_mode="default",
                 fileobj=context({"Dockerfile": (dockerfile.encode(), 0o644), **files}),
                 custom_context=True)
    return tag


@pytest.fixture
def running(engine: Any) -> Iterator[Any]:
    """A running bookworm container (``sleep infinity``), removed afterwards."""
    container = engine.containers.run(BOOKWORM, ["sleep", "infinity"], detach=True,
                                      network_mode="none", labels=LABELS)
    try:
        yield container
    finally:
        container.remove(force=True)


# ---- images ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def snapshots(engine: Any) -> dict[str, dict[str, Any]]:
    """One probe of each base image, shared by the tests that only read them."""
    return {tag: containers.snapshot_image(tag) for tag in (BOOKWORM, BULLSEYE)}


@pytest.mark.docker
@pytest.mark.parametrize(("tag", "version", "debian"),
                         [(BOOKWORM, "3.11", "12"), (BULLSEYE, "3.9", "11")])
def test_snapshot_image(engine: Any, snapshots: dict[str, dict[str, Any]], tag: str,
                        version: str, debian: str) -> None:
    raw = snapshots[tag]
    assert raw["python"]["version"].startswith(version + ".")
    assert raw["os"]["container"] == "docker"
    assert raw["os"]["distribution"]["version"] == debian
    assert raw["errors"] == [] or all(e["section"] == "gpus" for e in raw["errors"])
    image = raw["image"]
    assert image["id"] == engine.images.get(tag).id
    assert image["repo_tags"] == [tag]
    assert image["python"] == "/usr/bin/python3"  # found on the image's PATH
    assert image["env"]["TORCH_ALLOW_TF32_CUBLAS_OVERRIDE"] is None

    fingerprint = Fingerprint.from_probe(raw, envcheck.__version__)
    assert fingerprint.data["image"] == image
    assert fingerprint.section("python")["version"] == raw["python"]["version"]
    # Where it came from is carried, not identity: the same environment, the same id.
    without = {key: value for key, value in raw.items() if key != "image"}
    assert Fingerprint.from_probe(without, envcheck.__version__).id == fingerprint.id
    assert loads(fingerprint.to_json()).data["image"] == image


@pytest.mark.docker
def test_image_env_is_allow_listed_and_secrets_never_enter(derived: str) -> None:
    raw = containers.snapshot_image(derived)
    image = raw["image"]
    assert image["env"]["TORCH_ALLOW_TF32_CUBLAS_OVERRIDE"] == "1"
    assert image["env"]["OMP_NUM_THREADS"] == "4"
    assert "HF_TOKEN" not in image["env"] and "PATH" not in image["env"]
    # The probe inside the container sees the same settings.
    assert raw["env"]["TORCH_ALLOW_TF32_CUBLAS_OVERRIDE"] == "1"
    assert image["labels"]["org.example.team"] == "ml-infra"
    assert "org.example.api-key" not in image["labels"]
    assert image["labels"]["org.example.source"] == "https://git.example.com/models.git"
    text = json.dumps(raw) + Fingerprint.from_probe(raw, envcheck.__version__).to_json()
    assert TOKEN not in text
    assert PASSWORD not in text
    assert "HF_TOKEN" not in text
    # Secrets inside allow-listed values (issue 13, finding 4): the same redactor.
    assert image["env"]["XLA_FLAGS"] == "--xla_gpu_deterministic_ops=true --token=<redacted>"
    for secret in ("flag-T-10", "json-P-12", "sig-S3-6", "pw-BARE-3", "npm_nnnn"):
        assert secret not in text, secret


@pytest.mark.docker
def test_diff_of_two_images(snapshots: dict[str, dict[str, Any]]) -> None:
    a = Fingerprint.from_probe(snapshots[BOOKWORM], envcheck.__version__)
    b = Fingerprint.from_probe(snapshots[BULLSEYE], envcheck.__version__)
    report = diff(a, b)
    changes = {change.path: change for change in report.changes}
    version = changes["python.version"]
    assert isinstance(version.before, str) and isinstance(version.after, str)
    assert (version.before[:4], version.after[:3]) == ("3.11", "3.9")
    assert version.kind == "minor"
    assert version.severity.value == "risky"
    assert report.fails("risky")


@pytest.mark.docker
def test_python_is_the_second_choice(engine: Any, python_only: str) -> None:
    raw = containers.snapshot_image(python_only)
    assert raw["image"]["python"] == "/usr/local/bin/python"
    assert raw["python"]["version"].startswith("3.11.")
    container = engine.containers.run(python_only, ["sleep", "infinity"], detach=True,
                                      network_mode="none", labels=LABELS)
    try:
        assert containers.snapshot_container(container.id)["image"]["python"] == \
            "/usr/local/bin/python"
    finally:
        container.remove(force=True)


@pytest.mark.docker
def test_gpus_request(engine: Any) -> None:
    """Where the engine has no GPU support (as here) that is one line; GPUs themselves
    (the NVIDIA Container Toolkit on a GPU machine) are not exercised by this suite."""
    try:
        raw = containers.snapshot_image(BOOKWORM, gpus=True)
    except TargetError as exc:
        assert str(exc).startswith(f"{BOOKWORM}: cannot start the probe: ")
        assert str(exc).endswith("(is the NVIDIA Container Toolkit installed?)")
    else:
        assert isinstance(raw["gpus"], list)
    assert probe_containers(engine) == []


# ---- running containers -----------------------------------------------------------------

@pytest.mark.docker
def test_snapshot_running_container(engine: Any, running: Any,
                                    snapshots: dict[str, dict[str, Any]]) -> None:
    raw = containers.snapshot_container(running.name)
    image_id = engine.images.get(BOOKWORM).id
    assert raw["container"] == {"id": running.id, "name": running.name, "image": BOOKWORM,
                                "image_id": image_id, "status": "running"}
    assert raw["image"]["id"] == image_id
    assert raw["image"]["python"] == "/usr/bin/python3"
    assert raw["python"]["version"].startswith("3.11.")
    # The container and a fresh one of its image are the same environment.
    same_image = Fingerprint.from_probe(snapshots[BOOKWORM], envcheck.__version__)
    assert Fingerprint.from_probe(raw, envcheck.__version__).id == same_image.id
    assert containers.snapshot_container(running.id[:12])["container"]["id"] == running.id


@pytest.mark.docker
def test_container_not_running_or_missing(engine: Any) -> None:
    created = engine.containers.create(BOOKWORM, ["true"], labels=LABELS, network_mode="none")
    try:
        with pytest.raises(TargetError) as caught:
            containers.snapshot_container(created.name)
        assert str(caught.value) == (f"{created.name}: the container is not running "
                                     f"(status: created); start it, or fingerprint its image "
                                     f"with --image")
    finally:
        created.remove(force=True)
    with pytest.raises(TargetError, match=r"^envcheck-no-such-container: no such container$"):
        containers.snapshot_container("envcheck-no-such-container")


@pytest.mark.docker
def test_container_probe_timeout(engine: Any, derived: str) -> None:
    container = engine.containers.run(derived, ["sleep", "infinity"], detach=True,
                                      network_mode="none", labels=LABELS)
    try:
        start = time.monotonic()
        with pytest.raises(TargetError, match=r"did not finish within 2 s$"):
            containers.snapshot_container(container.name, python="/usr/local/bin/slowpy",
                                          timeout=2)
        assert time.monotonic() - start < 10
    finally:
        container.remove(force=True)


# ---- what goes wrong, in one line ---------------------------------------------------------

@pytest.mark.docker
def test_image_without_python(engine: Any, no_python: str) -> None:
    with pytest.raises(TargetError) as caught:
        containers.snapshot_image(no_python)
    assert str(caught.value) == (f"{no_python}: no python3 or python on the image's PATH; "
                                 f"pass --image-python")
    assert caught.value.exit_code == ExitCode.INPUT
    with pytest.raises(TargetError, match=r": --image-python /opt/py: no such file in the image"):
        containers.snapshot_image(no_python, python="/opt/py")
    assert probe_containers(engine) == []


@pytest.mark.docker
def test_missing_image_is_never_pulled(engine: Any) -> None:
    missing = "envcheck-test/never-built:nope"
    with pytest.raises(TargetError) as caught:
        containers.snapshot_image(missing)
    assert str(caught.value) == f"{missing}: no such image locally; pull it first"
    assert engine.images.list(name=missing) == []


# These two need no engine: the failure is the point.
def test_unreachable_daemon_names_the_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    with pytest.raises(TargetError) as caught:
        containers.snapshot_image(BOOKWORM)
    assert str(caught.value) == ("Docker daemon unix:///nonexistent.sock: no such socket; is "
                                 "dockerd running? (DOCKER_HOST selects another daemon)")
    with pytest.raises(TargetError, match=r"^Docker daemon unix:///nonexistent.sock: no such"):
        containers.snapshot_container("anything")


# Run as root, the child gives up the capabilities that bypass file modes
# (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) from its effective set, so a socket of mode
# 000 refuses it as it refuses any user outside the docker group.
_WITHOUT_DAC_OVERRIDE = """
import ctypes, os
if os.geteuid() == 0:
    libc = ctypes.CDLL(None, use_errno=True)
    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]
    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]
    header, data = Header(0x20080522, 0), (Data * 2)()
    assert libc.capget(ctypes.byref(header), data) == 0, ctypes.get_errno()
    data[0].effective &= ~0b110
    assert libc.capset(ctypes.byref(header), data) == 0, ctypes.get_errno()
import envcheck.containers as c
try:
    c.snapshot_image("x")
except c.TargetError as e:
    print(e)
"""


def test_permission_denied_on_the_socket(tmp_path: Path) -> None:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path = tmp_path / "docker.sock"
    try:
        server.bind(str(path))
        server.listen(1)
        path.chmod(0)
        result = subprocess.run([sys.executable, "-c", _WITHOUT_DAC_OVERRIDE],
                                capture_output=True, text=True, timeout=60, check=False,
                                env={**os.environ, "DOCKER_HOST": f"unix://{path}"})
    finally:
        server.close()
    assert result.stdout.strip() == (
        f"Docker daemon unix://{path}: permission denied on the socket; add your user to the "
        f"'docker' group (then log in again), or use rootless Docker"), result.stderr


@pytest.mark.docker
def test_probe_timeout_leaves_no_container(engine: Any, derived: str) -> None:
    start = time.monotonic()
    with pytest.raises(TargetError) as caught:
        containers.snapshot_image(derived, python="/usr/local/bin/slowpy", timeout=3)
    assert str(caught.value) == f"{derived}: the probe did not finish within 3 s"
    assert time.monotonic() - start < 15
    assert probe_containers(engine) == []


@pytest.mark.docker
def test_interrupt_removes_the_container(engine: Any,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while the probe runs: the container, started and running, still goes."""
    seen: list[str] = []

    def interrupted(*args: Any, **kwargs: Any) -> tuple[bytes, bytes]:
        seen.extend(c.status for c in probe_containers(engine))
        raise KeyboardInterrupt

    monkeypatch.setattr(containers, "_communicate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        containers.snapshot_image(BOOKWORM)
    assert seen == ["running"]
    assert probe_containers(engine) == []


# ---- the project's own image --------------------------------------------------------------

# A distribution the base image ships of its own, as a training image ships torch.
BASE_PACKAGE = ("trainlib", "1.2.3")


@pytest.fixture(scope="session")
def training_base(builds: Builds) -> str:
    """bookworm with a package in Debian's dist-packages: a stand-in for a training image."""
    name, version = BASE_PACKAGE
    info = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    dockerfile = (f"FROM {BOOKWORM}\n"
                  f"COPY {info} /usr/lib/python3/dist-packages/{info}\n").encode()
    tag = tag_for("training-base")
    builds.build(tag, fileobj=context({
        "Dockerfile": (dockerfile, 0o644), f"{info}/METADATA": (metadata, 0o644),
        f"{info}/RECORD": (f"{info}/METADATA,,\n{info}/RECORD,,\n".encode(), 0o644)}),
        custom_context=True)
    return tag


def build_project_image(builds: Builds, scratch: Path, base: str, python: str,
                        glibc: str) -> str:
    """The repository's Dockerfile on ``base``, offline: the files .dockerignore admits and a
    wheelhouse made by the documented recipe (image/wheelhouse.py) for that base's Python."""
    from docker.utils.build import exclude_paths

    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for relative in sorted(exclude_paths(str(ROOT), patterns, dockerfile="Dockerfile")):
        source = ROOT / relative
        if source.is_file():
            (scratch / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, scratch / relative)
    download = subprocess.run(
        [sys.executable, str(ROOT / "image" / "wheelhouse.py"), python,
         str(scratch / "wheelhouse"), "--glibc", glibc],
        capture_output=True, text=True, timeout=600, check=False, cwd=ROOT)
    assert download.returncode == 0, f"wheelhouse failed:\n{download.stderr[-3000:]}"
    tag = tag_for("app")
    builds.build(tag, path=str(scratch), buildargs={"BASE_IMAGE": base})
    return tag


@pytest.fixture(scope="session")
def app_image(engine: Any, builds: Builds, training_base: str,
              tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_project_image(builds, tmp_path_factory.mktemp("docker-context"),
                               training_base, "3.11", "2.36")


def run_image(engine: Any, image: str, args: list[str]) -> tuple[bytes, bytes]:
    """(stdout, stderr) of ``docker run --rm --network none IMAGE ARGS``."""
    container = engine.containers.run(image, args, detach=True, network_mode="none",
                                      labels=LABELS)
    try:
        assert container.wait(timeout=120)["StatusCode"] == 0, container.logs()
        return (container.logs(stdout=True, stderr=False),
                container.logs(stdout=False, stderr=True))
    finally:
        container.remove(force=True)


@pytest.mark.docker
def test_project_image_fingerprints_its_base_interpreter(engine: Any, app_image: str) -> None:
    """`docker run IMAGE snapshot` describes the image's Python (what a training image
    brings), not envcheck's own virtualenv, and warns about nothing."""
    stdout, stderr = run_image(engine, app_image, ["snapshot", "-o", "-"])
    assert stderr == b""  # no history warning: there is no home directory
    fingerprint = loads(stdout.decode("utf-8"), "docker run")
    assert fingerprint.section("os")["container"] == "docker"
    python = fingerprint.section("python")
    assert python["executable"] == "/usr/bin/python3" and python["virtualenv"] is False
    name, version = BASE_PACKAGE
    assert fingerprint.packages[name]["version"] == version
    assert "envcheck" not in fingerprint.packages

    own, _ = run_image(engine, app_image,
                       ["snapshot", "--python", "/opt/envcheck/bin/python", "-o", "-"])
    packages = loads(own.decode("utf-8"), "docker run").packages
    assert packages["envcheck"]["version"] == envcheck.__version__
    assert {"click", "docker", "packaging", "psutil", "nvidia-ml-py"} <= set(packages)
    assert "pip" not in packages and "setuptools" not in packages  # build tools stay out

    who, _ = run_image(engine, app_image, ["--version"])
    assert envcheck.__version__ in who.decode()
    image = engine.images.get(app_image)
    assert image.attrs["Config"]["User"] == "10001:10001"
    labels = image.labels
    assert labels["org.opencontainers.image.title"] == "envcheck"
    assert {"org.opencontainers.image.version", "org.opencontainers.image.revision",
            "org.opencontainers.image.licenses"} <= set(labels)
    # Small: the base plus one virtualenv.
    base = engine.images.get(BOOKWORM).attrs["Size"]
    grown = image.attrs["Size"] - base
    assert grown < 40 << 20, f"the image adds {grown >> 20} MiB to its base"


@pytest.mark.docker
def test_project_image_builds_on_bullseye(engine: Any, builds: Builds,
                                          tmp_path_factory: pytest.TempPathFactory) -> None:
    """Debian 11's Python 3.9, without python3-distutils, from a 3.9 wheelhouse."""
    tag = build_project_image(builds, tmp_path_factory.mktemp("docker-context-39"),
                              BULLSEYE, "3.9", "2.31")
    stdout, stderr = run_image(engine, tag, ["snapshot", "-o", "-"])
    assert stderr == b""
    python = loads(stdout.decode("utf-8"), "docker run").section("python")
    assert python["version"].startswith("3.9.") and python["executable"] == "/usr/bin/python3"
    own, _ = run_image(engine, tag, ["snapshot", "--python", "/opt/envcheck/bin/python",
                                     "-o", "-"])
    packages = loads(own.decode("utf-8"), "docker run").packages
    assert packages["click"]["version"] == "8.1.8"  # the 3.9 pin of the universal lock
    assert packages["envcheck"]["version"] == envcheck.__version__


# ---- the stream format, without an engine ---------------------------------------------------

def frame(stream: int, payload: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


def test_demultiplex_splits_frames() -> None:
    data = frame(1, b"out-1 ") + frame(2, b"err") + frame(1, b"out-2") + frame(3, b"!")
    assert containers.demultiplex(data) == (b"out-1 out-2", b"err!")
    assert containers.demultiplex(b"") == (b"", b"")


def test_demultiplex_keeps_a_truncated_frame_and_raw_streams() -> None:
    assert containers.demultiplex(frame(1, b"whole") + frame(1, b"truncated")[:-3]) == \
        (b"wholetrunca", b"")
    # A TTY stream has no frames: all of it is output.
    assert containers.demultiplex(b"plain text, no header") == (b"plain text, no header", b"")
    assert containers.demultiplex(frame(2, b"e") + b"xyz") == (b"xyz", b"e")


# ---- the command line ---------------------------------------------------------------------

def test_cli_snapshot_and_diff_of_images(engine: Any) -> None:
    from conftest import run_envcheck

    summary = run_envcheck("snapshot", "--image", BULLSEYE)
    assert summary.returncode == 0, summary.stderr
    assert "cpython 3.9." in summary.stdout
    assert f"image       {BULLSEYE}" in summary.stdout
    result = run_envcheck("diff", f"docker:{BULLSEYE}", f"docker:{BOOKWORM}", "--format",
                          "json")
    assert result.returncode == 0, result.stderr  # minor Python and glibc: risky, not breaking
    changes = {c["path"]: c["severity"] for c in json.loads(result.stdout)["changes"]}
    assert changes["python.version"] == "risky"
    assert changes["os.libc.version"] == "risky"
    missing = run_envcheck("diff", "docker:envcheck-test/absent:nope", f"docker:{BOOKWORM}")
    assert missing.returncode == 3
    assert "no such image locally" in missing.stderr


@pytest.mark.parametrize("args", [
    ("--image", BOOKWORM, "--python", "/usr/bin/python3"),
    ("--gpus",),
    ("--container", "x", "--gpus"),
    ("--image", BOOKWORM, "--deep"),
])
def test_cli_option_conflicts_are_usage_errors(args: tuple[str, ...]) -> None:
    from conftest import run_envcheck

    result = run_envcheck("snapshot", *args)
    assert result.returncode == 2
    assert result.stderr.startswith("envcheck: ")


@pytest.mark.docker
def test_images_differing_in_the_apt_installed_blas(blas_images: dict[str, str]) -> None:
    reference, openblas = (containers.snapshot_image(blas_images[v])
                           for v in ("reference", "openblas"))
    packages = reference["system_packages"]["packages"]
    assert packages["libblas3"]["architecture"] == platform_architecture()
    assert "libopenblas0-pthread" not in packages
    assert reference["system_packages"]["alternatives"] == {"libblas.so.3": "blas"}
    assert openblas["system_packages"]["alternatives"] == {"libblas.so.3": "openblas-pthread",
                                                           "liblapack.so.3": "openblas-pthread"}
    assert openblas["system_packages"]["packages"]["libopenblas0-pthread"]["version"]

    result = subprocess.run(
        [sys.executable, "-m", "envcheck", "diff", f"docker:{blas_images['reference']}",
         f"docker:{blas_images['openblas']}", "--format", "json"],
        capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 1, result.stderr
    changes = {c["path"]: c for c in json.loads(result.stdout)["changes"]}
    switch = changes["system_packages.alternatives.libblas.so.3"]
    assert (switch["before"], switch["after"], switch["severity"], switch["rule"]) == (
        "blas", "openblas-pthread", "breaking", "system-blas-variant")
    added = changes["system_packages.libopenblas0-pthread"]
    assert added["before"] is None and added["rule"] == "system-blas-library"
    assert changes["system_packages.libblas3"]["after"] is None
    # Nothing else differs between the two images.
    assert {path.split(".")[0] for path in changes} == {"system_packages"}


@pytest.mark.docker
def test_debian_numpy_blas_is_the_alternatives_choice(engine: Any,
                                                      numpy_blas_images: dict[str, str]) -> None:
    """Debian's numpy names the generic BLAS it was built against; which one it runs is the
    alternatives' choice, and the fingerprint says so, as numpy's own process maps show."""
    loaded = ("import numpy, numpy.linalg; numpy.linalg.inv(numpy.eye(2)); "
              "print(' '.join(sorted({l.split()[-1] for l in open('/proc/self/maps') "
              "if 'libblas' in l or 'liblapack' in l})))")
    for variant, directory in (("reference", "blas"), ("openblas", "openblas-pthread")):
        fingerprint = containers.snapshot_image(numpy_blas_images[variant])
        numpy = fingerprint["frameworks"]["numpy"]
        assert (numpy["blas"], numpy["lapack"]) == (
            (variant if variant == "reference" else directory),
            ("reference" if variant == "reference" else directory)), numpy
        maps = engine.containers.run(numpy_blas_images[variant], ["python3", "-c", loaded],
                                     remove=True, labels=LABELS).decode()
        assert f"/{directory}/libblas.so.3" in maps, maps
    result = subprocess.run(
        [sys.executable, "-m", "envcheck", "diff", f"docker:{numpy_blas_images['reference']}",
         f"docker:{numpy_blas_images['openblas']}", "--format", "json"],
        capture_output=True, text=True, timeout=300, check=False)
    changes = {c["path"]: c for c in json.loads(result.stdout)["changes"]}
    blas = changes["frameworks.numpy.blas"]
    assert (blas["before"], blas["after"], blas["severity"]) == (
        "reference", "openblas-pthread", "breaking")
    # numpy's BLAS follows the alternatives' switch: one decision, judged under its cause.
    assert (blas["rule"], blas["cause"]) == (
        "follows-blas-switch", "system_packages.alternatives.libblas.so.3")
    assert changes["system_packages.alternatives.libblas.so.3"]["rule"] == "system-blas-variant"


def platform_architecture() -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


@pytest.mark.docker
def test_rpm_database_read_without_rpm(engine: Any, rpm_image: str) -> None:
    from envcheck.probe.system_packages import _INTERESTING

    raw = containers.snapshot_image(rpm_image)
    found = {name: facts for name, facts in raw["system_packages"]["packages"].items()
             if facts["manager"] == "rpm"}
    # What the real rpm says about its own database is the reference.
    listing = engine.containers.run(
        rpm_image, ["sh", "-c", f"rpm -qa {RPM_DB} --qf "
                                "'%{NAME} %{EPOCHNUM} %{VERSION}-%{RELEASE} %{ARCH}\\n'"],
        remove=True, network_mode="none", labels=LABELS).decode()
    expected = {}
    for line in listing.splitlines():
        name, epoch, version, architecture = line.split()
        if _INTERESTING.match(name):
            expected[name] = {"version": version if epoch == "0" else f"{epoch}:{version}",
                              "architecture": architecture, "manager": "rpm"}
    assert found == expected
    assert found["libnccl"]["version"] == "1:2.21.5-1+cuda12.4"
    assert set(found) == {"openblas-openmp", "libnccl"}  # bash-completion carries no BLAS
    assert [e for e in raw["errors"] if e["section"] == "system_packages"] == []


@pytest.mark.docker
def test_rpm_berkeley_db_read_without_rpm(engine: Any, rpm_bdb_image: str) -> None:
    """A real Berkeley DB ``Packages`` file, written by the real rpm: what CentOS 7 and 8 and
    RHEL 8 images hold. Read as the SQLite one is, and agreeing with ``rpm -qa``."""
    from envcheck.probe.system_packages import _INTERESTING

    listing = engine.containers.run(
        rpm_bdb_image, ["sh", "-c", f"od -A n -j 12 -N 4 -t x4 "
                        f"/var/lib/rpm/Packages; rpm -qa {RPM_BDB} --qf "
                        "'%{NAME} %{EPOCHNUM} %{VERSION}-%{RELEASE} %{ARCH}\\n'"],
        remove=True, network_mode="none", labels=LABELS).decode()
    magic, *packages = [line for line in listing.splitlines()
                        if not line.startswith("/var/lib/rpm/Packages:")]
    assert magic.strip() == "00061561"  # Berkeley DB's hash magic
    expected = {}
    for line in packages:
        name, epoch, version, architecture = line.split()
        if _INTERESTING.match(name):
            expected[name] = {"version": version if epoch == "0" else f"{epoch}:{version}",
                              "architecture": architecture, "manager": "rpm"}
    raw = containers.snapshot_image(rpm_bdb_image)
    found = {name: facts for name, facts in raw["system_packages"]["packages"].items()
             if facts["manager"] == "rpm"}
    assert found == expected
    assert set(found) == {"openblas-openmp", "libnccl", "flexiblas-netlib"}
    assert found["flexiblas-netlib"]["version"] == "3.3.1-3.el8"  # on overflow pages
    assert [e for e in raw["errors"] if e["section"] == "system_packages"] == []


@pytest.mark.docker
def test_numerics_run_inside_the_image_and_the_container(engine: Any, running: Any) -> None:
    # Neither image has a framework: the canary child runs there (Python 3.9 in
    # bullseye), finds nothing to measure, and says so without an error.
    raw = containers.snapshot_image(BULLSEYE, numerics_timeout=60)
    numerics = raw["numerics"]
    assert numerics["canaries"] == {}
    assert "OPENBLAS_NUM_THREADS" in numerics["settings"]
    assert any(lib["name"].startswith("libm") and lib["version"]
               for lib in numerics["runtime"]["libraries"])
    assert not [e for e in raw["errors"] if e["section"].startswith("numerics")]
    inside = containers.snapshot_container(running.name, numerics_timeout=60)
    assert inside["numerics"]["canaries"] == {} and "settings" in inside["numerics"]
    plain = containers.snapshot_image(BULLSEYE)
    assert "numerics" not in plain


def _probe_containers_of(engine: Any, pid: int) -> list[str]:
    """The states of the probe containers of process ``pid``, from the list call alone
    (inspecting each one races with the engine creating or removing it)."""
    owned = f"{containers.OWNER_LABEL}={socket.gethostname()}:{pid}"
    return [str(c.get("State")) for c in engine.api.containers(all=True,
                                                               filters={"label": owned})]


@pytest.mark.docker
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_during_an_image_probe_removes_its_container(
        engine: Any, derived: str, signum: int) -> None:
    """What ``timeout`` and a cancelled CI job send (issue 13, finding 8): the probe
    container goes, the command exits 128 + N with one line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "envcheck", "snapshot", "--image", derived,
         "--image-python", "/usr/local/bin/slowpy", "--no-save", "--timeout", "120"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + 60
        while "running" not in _probe_containers_of(engine, process.pid):
            assert time.monotonic() < end and process.poll() is None, "no probe container ran"
            time.sleep(0.1)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:  # the test failed early: let envcheck clean up first
            process.terminate()
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    assert process.returncode == 128 + signum, stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr
    assert _probe_containers_of(engine, process.pid) == []


def test_signals_wait_for_the_end_of_a_deferred_block() -> None:
    from envcheck.processes import signals_deferred

    reached = False
    with pytest.raises(KeyboardInterrupt), signals_deferred():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # a handler would run here, were it not deferred
        reached = True
    assert reached
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler

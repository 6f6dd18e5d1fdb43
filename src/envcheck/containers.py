"""Fingerprint a Docker image, or a running container, through the Docker engine.

The probe travels as it does for ``--python``: one self-contained script on
the interpreter's stdin (``PY -c BOOTSTRAP --nvml-timeout S``), so nothing is installed
in the image or the container. An image is probed in a new container with no
network, which is removed whatever happens (failure, timeout, Ctrl-C). The
engine's errors become one-line ``TargetError``s; nothing is ever pulled.

The ``docker`` package is imported inside the functions: it costs tens of
milliseconds that no other command should pay.

Why one long module: images and running containers share one conversation with the
engine (the typed surface of its SDK, the attached socket, the error wording and the
cleanup), and splitting it would put each half's failure modes out of sight of the other.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any, NamedTuple, Protocol

from . import remote
from .errors import TargetError
from .probe._common import is_secret_name, redact
from .probe.environ import MAX_VALUE_LENGTH, collect_env

# Probe containers carry these labels, so a leftover (after SIGKILL) can be found,
# and told apart from those of another envcheck process on the same engine.
PROBE_LABEL = "envcheck.probe"
OWNER_LABEL = "envcheck.probe.owner"
# Tried in order on the image's PATH when no interpreter is given.
CANDIDATES = ("python3", "python")
DEFAULT_HOST = "unix:///var/run/docker.sock"
# Engine API calls other than the probe itself (create, start, inspect, remove).
API_TIMEOUT = 60.0
# A fingerprint is kilobytes to a few megabytes; anything far beyond is not one.
MAX_OUTPUT = 256 << 20


class _Run(NamedTuple):
    """What one probe run gave: exit status and both streams."""

    returncode: int
    stdout: str
    stderr: str


# ---- the engine ----------------------------------------------------------------------

# The docker SDK has no type hints: these say what this module calls on it. What the
# engine answers (``inspect``, ``wait``) is its JSON, read with .get and checked where used.
class _Stream(Protocol):
    """An attached socket (a socket.socket, an SSL socket, paramiko's channel)."""

    def settimeout(self, timeout: float | None, /) -> None: ...
    def sendall(self, data: bytes, /) -> None: ...
    def recv(self, size: int, /) -> bytes: ...
    def close(self) -> None: ...


class _Api(Protocol):
    """The low-level ``docker.APIClient`` calls made here."""

    def inspect_image(self, image: str) -> dict[str, Any]: ...
    def inspect_container(self, container: str) -> dict[str, Any]: ...
    def create_container(self, image: str, **options: object) -> dict[str, Any]: ...
    def create_host_config(self, **options: object) -> dict[str, Any]: ...
    def attach_socket(self, container: str, params: dict[str, int]) -> _Stream: ...
    def start(self, container: str) -> None: ...
    def wait(self, container: str, timeout: float) -> dict[str, Any]: ...
    def remove_container(self, container: str, force: bool) -> None: ...
    def exec_create(self, container: str, cmd: list[str], stdin: bool, stdout: bool,
                    stderr: bool) -> dict[str, Any]: ...
    def exec_start(self, exec_id: str, socket: bool) -> _Stream: ...
    def exec_inspect(self, exec_id: str) -> dict[str, Any]: ...


class DockerClient(Protocol):
    """What is used of a ``docker.DockerClient``."""

    @property
    def api(self) -> _Api: ...
    def ping(self) -> bool: ...
    def close(self) -> None: ...


def _docker_host() -> str:
    return os.environ.get("DOCKER_HOST") or DEFAULT_HOST


def owner() -> str:
    """The value of OWNER_LABEL on this process's probe containers: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _os_error(exc: BaseException) -> OSError | None:
    """The OSError at the bottom of a docker/requests/urllib3 exception, if any.

    The cause hides in ``args`` (requests, urllib3's ProtocolError), in
    ``reason`` (MaxRetryError) or in the exception chain, depending on the path.
    """
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno is not None:
            return current
        nested = [*current.args, getattr(current, "reason", None), current.__cause__,
                  current.__context__]
        stack.extend(item for item in nested if isinstance(item, BaseException))
    return None


def _unreachable(host: str, exc: BaseException) -> str:
    cause = _os_error(exc)
    if isinstance(cause, PermissionError):
        return (f"Docker daemon {host}: permission denied on the socket; add your user to the "
                f"'docker' group (then log in again), or use rootless Docker")
    if isinstance(cause, FileNotFoundError):
        return (f"Docker daemon {host}: no such socket; is dockerd running? "
                f"(DOCKER_HOST selects another daemon)")
    if isinstance(cause, ConnectionRefusedError):
        return f"Docker daemon {host}: connection refused; is dockerd running?"
    why = str(cause) if cause is not None else _last_line(str(exc))
    return f"Docker daemon {host}: not reachable ({why})"


def _last_line(text: str) -> str:
    return remote.last_line(text, empty="no details")


def connect() -> DockerClient:
    """A ``docker.DockerClient`` from the environment (DOCKER_HOST & co.), known to answer."""
    try:
        import docker
    except ImportError as exc:  # a dependency, but a broken install should still say so
        raise TargetError("the 'docker' Python package is not installed") from exc
    host = _docker_host()
    try:
        # from_env asks the daemon for its API version, so an unreachable one fails here.
        client: DockerClient = docker.from_env(timeout=API_TIMEOUT)
        return client
    except docker.errors.DockerException as exc:
        raise TargetError(_unreachable(host, exc)) from exc


@contextmanager
def _engine_errors(what: str) -> Iterator[None]:
    """Turn what the engine or the connection raises mid-way into one line for ``what``."""
    import docker
    import requests

    try:
        yield
    except docker.errors.APIError as exc:
        raise TargetError(f"{what}: the Docker engine refused: {_explanation(exc)}") from exc
    except (docker.errors.DockerException, requests.RequestException) as exc:
        raise TargetError(_unreachable(_docker_host(), exc)) from exc


def _explanation(exc: BaseException) -> str:
    return _last_line(str(getattr(exc, "explanation", None) or exc))


# ---- facts about images and containers -----------------------------------------------

def _env_mapping(entries: Iterable[object] | None) -> dict[str, str]:
    """An image config's ``Env`` (``["K=V", ...]``) as a mapping."""
    mapping: dict[str, str] = {}
    for entry in entries or []:
        name, _, value = str(entry).partition("=")
        mapping[name] = value
    return mapping


def image_facts(attrs: Mapping[str, Any], python: str | None) -> dict[str, object]:
    """What identifies an image, from ``docker image inspect``; nothing secret.

    The environment goes through the probe's own allow-list; labels come from
    whoever built the image, so secret-looking keys are dropped and values are
    scrubbed of credentials and tokens.
    """
    config = attrs.get("Config") or {}
    labels = {
        str(key): redact(str(value))[:MAX_VALUE_LENGTH]
        for key, value in sorted((config.get("Labels") or {}).items())
        if not is_secret_name(str(key))
    }
    return {
        "id": attrs.get("Id"),
        "repo_tags": list(attrs.get("RepoTags") or []),
        "repo_digests": list(attrs.get("RepoDigests") or []),
        "created": attrs.get("Created"),
        "architecture": attrs.get("Architecture"),
        "labels": labels,
        "env": collect_env(_env_mapping(config.get("Env"))),
        "python": python,
    }


def _inspect_image(api: _Api, image: str) -> dict[str, Any]:
    import docker

    try:
        attrs: dict[str, Any] = api.inspect_image(image)
    except docker.errors.NotFound as exc:
        raise TargetError(f"{image}: no such image locally; pull it first") from exc
    except docker.errors.APIError as exc:
        raise TargetError(f"{image}: not a usable image reference ({_explanation(exc)})") from exc
    return attrs


def _interpreter_used(document: Mapping[str, object], command: str) -> str:
    """The interpreter's path as the probe saw it (``sys.executable``), else the command."""
    python = document.get("python")
    executable = python.get("executable") if isinstance(python, dict) else None
    return executable if isinstance(executable, str) and executable else command


# ---- talking to a process over an attached socket ------------------------------------

def demultiplex(data: bytes) -> tuple[bytes, bytes]:
    """Split Docker's multiplexed attach/exec stream into (stdout, stderr).

    Without a TTY every frame is an 8-byte header (stream type; three zero
    bytes; payload length, big-endian) and then the payload. Anything that is
    not framed that way (a TTY stream) is returned as stdout; a truncated last
    frame keeps what arrived.
    """
    out, err = bytearray(), bytearray()
    pos = 0
    while pos < len(data):
        header = data[pos:pos + 8]
        if len(header) < 8 or header[0] > 3 or header[1:4] != b"\0\0\0":
            out += data[pos:]
            break
        size = int.from_bytes(header[4:8], "big")
        payload = data[pos + 8:pos + 8 + size]
        # 0 stdin (echoed), 1 stdout, 2 stderr, 3 the engine's own error.
        (err if header[0] >= 2 else out).extend(payload)
        pos += 8 + size
    return bytes(out), bytes(err)


def _raw_socket(sock: _Stream) -> _Stream:
    """The object to send and receive on: docker-py hands back a SocketIO for unix sockets."""
    raw: _Stream = getattr(sock, "_sock", sock)
    return raw


def _close_write(raw: _Stream) -> None:
    """End the process's stdin while still reading its output (a half-close)."""
    if hasattr(raw, "shutdown_write"):  # paramiko's channel, for ssh:// hosts
        raw.shutdown_write()
    elif isinstance(raw, socket.socket):
        # socket.socket's own shutdown: ssl.SSLSocket.shutdown would drop the TLS layer.
        socket.socket.shutdown(raw, socket.SHUT_WR)


def _remaining(deadline: float, what: str, timeout: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TargetError(f"{what}: the probe did not finish within {timeout:g} s")
    return left


def _communicate(sock: _Stream, data: bytes, deadline: float, what: str,
                 timeout: float) -> tuple[bytes, bytes]:
    """Write ``data`` to the process's stdin, close it, and read both streams to the end."""
    raw = _raw_socket(sock)
    received = bytearray()
    try:
        raw.settimeout(_remaining(deadline, what, timeout))
        try:
            raw.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the process ended without reading (not found, crashed): its output says why
        else:
            _close_write(raw)
        while True:
            raw.settimeout(_remaining(deadline, what, timeout))
            chunk = raw.recv(1 << 16)
            if not chunk:
                break
            received += chunk
            if len(received) > MAX_OUTPUT:
                raise TargetError(f"{what}: the probe's output exceeds {MAX_OUTPUT >> 20} MiB")
    except socket.timeout as exc:
        raise TargetError(f"{what}: the probe did not finish within {timeout:g} s") from exc
    except ConnectionResetError:
        pass  # the engine closed the stream as the process ended; keep what arrived
    finally:
        sock.close()
    return demultiplex(bytes(received))


def _decoded(returncode: int, out: bytes, err: bytes) -> _Run:
    return _Run(returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


def _not_found(message: str) -> bool:
    """Whether the runtime could not find the interpreter to execute (both engine wordings)."""
    return "executable file not found" in message or (
        'exec: "' in message and "no such file or directory" in message)


def _runtime_reason(message: str) -> str:
    """The runtime's own words (``exec: "PY": permission denied``) without the shim chatter."""
    start = message.find('exec: "')
    if start < 0:
        return message
    reason = message[start:]
    return reason[:-len(": unknown")] if reason.endswith(": unknown") else reason


def _probe_command(python: str, probe_args: list[str]) -> list[str]:
    return [python, "-c", remote.STDIN_BOOTSTRAP, *probe_args]


# ---- images --------------------------------------------------------------------------

def _remove(api: _Api, ref: str) -> None:
    import docker
    import requests

    try:
        api.remove_container(ref, force=True)
    except docker.errors.NotFound:
        pass  # never created (start of create interrupted) or already gone
    except (docker.errors.DockerException, requests.RequestException) as exc:
        raise TargetError(f"could not remove the probe container {ref} ({_explanation(exc)}); "
                          f"remove it with: docker rm -f {ref}") from exc


def _run_in_new_container(api: _Api, image_id: str, what: str, python: str,
                          probe_args: list[str], gpus: bool, deadline: float,
                          timeout: float) -> _Run | None:
    """Run the probe with ``python`` in a new container of ``image_id``; None if no such file."""
    import docker

    device_requests = None
    if gpus:
        device_requests = [docker.types.DeviceRequest(count=-1, capabilities=[["gpu"]])]
    # A name of our own: the container can be removed even if create is interrupted
    # after the engine made it but before its id reached us.
    name = f"envcheck-probe-{uuid.uuid4().hex[:16]}"
    try:
        run = _probe_in(api, name, image_id, what, python, probe_args, device_requests,
                        deadline, timeout)
    except BaseException:
        # The container goes on every way out (a failure, a timeout, Ctrl-C); should the
        # removal fail too, the original error is the one worth reporting.
        with suppress(Exception):
            _remove(api, name)
        raise
    _remove(api, name)
    return run


def _probe_in(api: _Api, name: str, image_id: str, what: str, python: str,
              probe_args: list[str], device_requests: list[object] | None, deadline: float,
              timeout: float) -> _Run | None:
    import docker

    from .processes import signals_deferred

    # Ctrl-C or SIGTERM during the request would leave a container the engine goes on to
    # create (state Created) after the removal found none: the signal waits for the answer.
    with signals_deferred():
        api.create_container(
            image_id, entrypoint=_probe_command(python, probe_args), command=[],
            stdin_open=True,  # with detach=False this also sets StdinOnce: EOF ends stdin
            name=name, labels={PROBE_LABEL: "1", OWNER_LABEL: owner()}, network_disabled=True,
            use_config_proxy=False,  # the image's own environment, nothing of ours added
            host_config=api.create_host_config(network_mode="none",
                                               device_requests=device_requests),
        )
    sock = api.attach_socket(name, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
    try:
        try:
            api.start(name)
        except docker.errors.APIError as exc:
            message = _explanation(exc)
            if _not_found(message):
                return None
            hint = " (is the NVIDIA Container Toolkit installed?)" if device_requests else ""
            raise TargetError(f"{what}: cannot start the probe: {_runtime_reason(message)}"
                              f"{hint}") from exc
        out, err = _communicate(sock, remote.probe_script().encode("utf-8"), deadline, what,
                                timeout)
    finally:
        sock.close()
    status = api.wait(name, timeout=_remaining(deadline, what, timeout))
    return _decoded(int(status.get("StatusCode", -1)), out, err)


def snapshot_image(image: str, python: str | None = None, timeout: float = 120.0,
                   nvml_timeout: float = 5.0, gpus: bool = False,
                   numerics_timeout: float | None = None) -> dict[str, Any]:
    """The raw probe document of IMAGE, run in a new, network-less, removed container.

    ``python`` is the interpreter in the image (``--image-python``); by default
    the first of python3, python on the image's PATH. ``timeout`` bounds the
    whole run. ``gpus`` asks the engine for every GPU (the NVIDIA Container
    Toolkit must be installed; not exercised by the tests, which have no GPU).
    ``numerics_timeout``: also run the numeric canaries, that long on top of ``timeout``.
    The document has an extra ``image`` key: id, tags, digests, creation time,
    architecture, labels, allow-listed environment and the interpreter used.
    """
    timeout += numerics_timeout or 0.0
    deadline = time.monotonic() + timeout
    probe_args = remote.probe_arguments(nvml_timeout, numerics_timeout)
    client = connect()
    try:
        with _engine_errors(image):
            attrs = _inspect_image(client.api, image)
            for command in [python] if python else CANDIDATES:
                run = _run_in_new_container(client.api, attrs["Id"], image, command,
                                            probe_args, gpus, deadline, timeout)
                if run is not None:
                    break
            else:
                if python:
                    raise TargetError(f"{image}: --image-python {python}: no such file in the "
                                      f"image (or not on its PATH)")
                raise TargetError(f"{image}: no python3 or python on the image's PATH; "
                                  f"pass --image-python")
    finally:
        client.close()
    document = remote.parse_output(run.returncode, run.stdout, run.stderr, image)
    document["image"] = image_facts(attrs, _interpreter_used(document, command))
    return document


# ---- running containers --------------------------------------------------------------

def _exec(api: _Api, container_id: str, what: str, python: str, probe_args: list[str],
          deadline: float, timeout: float) -> _Run | None:
    """Run the probe with ``python`` through ``docker exec``; None if no such file."""
    import docker

    exec_id = api.exec_create(container_id, _probe_command(python, probe_args),
                              stdin=True, stdout=True, stderr=True)["Id"]
    try:
        sock = api.exec_start(exec_id, socket=True)
    except docker.errors.APIError as exc:  # engines that refuse before streaming
        if _not_found(_explanation(exc)):
            return None
        raise
    out, err = _communicate(sock, remote.probe_script().encode("utf-8"), deadline, what,
                            timeout)
    # The exit code can lag the end of the stream by a moment.
    while True:
        state = api.exec_inspect(exec_id)
        if not state.get("Running") and state.get("ExitCode") is not None:
            break
        time.sleep(min(0.05, _remaining(deadline, what, timeout)))
    returncode = int(state["ExitCode"])
    # The runtime reports a missing executable on the stream, with exit 126 or 127.
    if returncode in (126, 127) and _not_found(out.decode("utf-8", "replace")):
        return None
    return _decoded(returncode, out, err)


def snapshot_container(name_or_id: str, python: str | None = None, timeout: float = 120.0,
                       nvml_timeout: float = 5.0,
                       numerics_timeout: float | None = None) -> dict[str, Any]:
    """The raw probe document of a running container, probed through ``docker exec``.

    Adds ``container`` (id, name, image, image_id, status) and ``image`` (as
    ``snapshot_image``) to the document. On a timeout the exec'd probe may
    keep running inside the container: the engine has no call to stop one
    process of an exec (it stops on its own once NVML answers or times out).
    """
    import docker

    timeout += numerics_timeout or 0.0
    deadline = time.monotonic() + timeout
    probe_args = remote.probe_arguments(nvml_timeout, numerics_timeout)
    what = name_or_id
    client = connect()
    api = client.api
    try:
        with _engine_errors(what):
            try:
                attrs: dict[str, Any] = api.inspect_container(name_or_id)
            except docker.errors.NotFound as exc:
                raise TargetError(f"{what}: no such container") from exc
            state = attrs.get("State") or {}
            status = state.get("Status") or "unknown"
            if status != "running":
                raise TargetError(f"{what}: the container is not running (status: {status}); "
                                  f"start it, or fingerprint its image with --image")
            for command in [python] if python else CANDIDATES:
                run = _exec(api, attrs["Id"], what, command, probe_args, deadline, timeout)
                if run is not None:
                    break
            else:
                if python:
                    raise TargetError(f"{what}: --image-python {python}: no such file in the "
                                      f"container (or not on its PATH)")
                raise TargetError(f"{what}: no python3 or python on the container's PATH; "
                                  f"pass --image-python")
            try:
                image_attrs: dict[str, Any] = api.inspect_image(attrs["Image"])
            except docker.errors.NotFound:
                image_attrs = {"Id": attrs["Image"]}  # removed with -f while the container runs
    finally:
        client.close()
    document = remote.parse_output(run.returncode, run.stdout, run.stderr, what)
    document["container"] = {
        "id": attrs.get("Id"),
        "name": str(attrs.get("Name") or "").lstrip("/") or None,
        "image": (attrs.get("Config") or {}).get("Image"),
        "image_id": attrs.get("Image"),
        "status": status,
    }
    document["image"] = image_facts(image_attrs, _interpreter_used(document, command))
    return document

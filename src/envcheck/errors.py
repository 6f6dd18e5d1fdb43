"""One exception root for everything envcheck reports to a user.

Each error carries the exit code the CLI returns for it; the CLI prints
``envcheck: <message>`` on one line and never a traceback for these.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The documented exit codes of every command."""

    OK = 0
    DRIFT = 1  # a difference at or above --fail-on
    USAGE = 2  # bad options or configuration
    INPUT = 3  # an input or target could not be read
    OUTPUT = 4  # a result could not be written
    INTERNAL = 70  # a bug in envcheck (EX_SOFTWARE); never 1, which means drift
    ABORTED = 130  # Ctrl-C (128 + SIGINT, as a shell reports it)
    BROKEN_PIPE = 141  # the reader of stdout went away (128 + SIGPIPE)


class EnvcheckError(Exception):
    exit_code: ExitCode = ExitCode.INPUT


class InputError(EnvcheckError):
    """A fingerprint, file or target could not be read or is not what it claims to be."""

    exit_code = ExitCode.INPUT


class TargetError(InputError):
    """The environment to fingerprint (another interpreter, an image) could not be probed."""


class UsageError(EnvcheckError):
    exit_code = ExitCode.USAGE


class OutputError(EnvcheckError):
    exit_code = ExitCode.OUTPUT


class DriftError(EnvcheckError):
    """The environment differs from what was expected at or above the chosen severity.

    ``report`` carries the judged differences (a ``drift.Report``, or for a
    distributed job a ``fleet.FleetReport``) so a training script can log it.
    """

    exit_code = ExitCode.DRIFT

    def __init__(self, message: str, report: object) -> None:
        super().__init__(message)
        self.report = report

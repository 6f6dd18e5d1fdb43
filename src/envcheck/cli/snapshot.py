"""``envcheck snapshot`` through click: every option with its help. The everyday forms
never get here (:mod:`envcheck.console` runs them without click); both call
:func:`envcheck.console.run_snapshot`."""

from __future__ import annotations

import click

from ..console import SNAPSHOT_DEFAULTS, run_snapshot
from .common import EXIT_CODES_NO_VERDICT_HELP, python_option


@click.command(epilog=EXIT_CODES_NO_VERDICT_HELP)
@python_option
@click.option("-o", "--output", metavar="FILE",
              help="Write the fingerprint as JSON to FILE ('-' for stdout).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]),
              default=SNAPSHOT_DEFAULTS["fmt"], show_default=True,
              help="What to print on stdout when -o is not given.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=SNAPSHOT_DEFAULTS["timeout"],
              show_default=True,
              help="Seconds to wait for a probe in another interpreter.")
@click.option("--nvml-timeout", type=click.FloatRange(min=0.1),
              default=SNAPSHOT_DEFAULTS["nvml_timeout"], show_default=True,
              help="Seconds to wait for the NVIDIA driver before reporting it as hung.")
@click.option("--no-cache", is_flag=True,
              help="Re-read every package's metadata instead of reusing facts of unchanged "
                   "ones from the last snapshot.")
@click.option("--image", metavar="IMAGE",
              help="Fingerprint a Docker image: the probe runs in a new container (no "
                   "network, always removed) with the image's own Python.")
@click.option("--container", "container_name", metavar="NAME_OR_ID",
              help="Fingerprint a running Docker container (the probe runs through exec).")
@click.option("--image-python", metavar="PATH",
              help="The interpreter inside the image or container (default: python3, "
                   "then python on its PATH).")
@click.option("--gpus", is_flag=True,
              help="With --image: pass the GPUs to the container (like docker run --gpus all) "
                   "so NVML inside sees them.")
@click.option("--no-save", is_flag=True,
              help="Do not add this snapshot to the local history (envcheck history).")
@click.option("--deep", is_flag=True,
              help="Also verify installed files against RECORD and record per package the "
                   "files changed since install (not with --image/--container).")
@click.option("--numerics", is_flag=True,
              help="Also run the numeric canaries (in a child process of the target "
                   "interpreter) and record what they computed, bit for bit, and the "
                   "libraries actually loaded.")
@click.option("--numerics-timeout", type=click.FloatRange(min=0.1),
              default=SNAPSHOT_DEFAULTS["numerics_timeout"], show_default=True,
              help="Seconds the canaries may take; one still running then is recorded as "
                   "an error.")
def snapshot(python: str | None, output: str | None, fmt: str, timeout: float,
             nvml_timeout: float, no_cache: bool, image: str | None,
             container_name: str | None, image_python: str | None, gpus: bool,
             no_save: bool, deep: bool, numerics: bool, numerics_timeout: float) -> None:
    """Fingerprint an environment: packages and their builds, frameworks, CUDA, GPUs, CPU,
    OS and the settings that steer numerics.

    \b
    Examples:
      envcheck snapshot
      envcheck snapshot -o fingerprint.json
      envcheck snapshot --format json | jq .frameworks
      envcheck snapshot --python /opt/conda/envs/train/bin/python -o train.json
      envcheck snapshot --image IMAGE -o image.json
      envcheck snapshot --container trainer-0
      envcheck snapshot --numerics -o a.json   (then: envcheck explain a.json elsewhere)
    """
    run_snapshot(python, output, fmt, timeout, nvml_timeout, no_cache, image, container_name,
                 image_python, gpus, no_save, deep, numerics, numerics_timeout)

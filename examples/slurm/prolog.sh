#!/bin/bash
# Slurm prolog (slurm.conf: Prolog=/etc/slurm/envcheck-prolog.sh): every node of a job
# fingerprints itself before the job starts, into a directory the whole job shares.
# Set ENVCHECK_PYTHON to the job's interpreter (the training venv); the prolog runs as root
# with Slurm's environment, so the path is configured here, not taken from the user.
set -u
python="${ENVCHECK_PYTHON:-/opt/train/venv/bin/python}"
out="${ENVCHECK_FLEET_DIR:-/shared/envcheck}/${SLURM_JOB_ID}"
mkdir -p "$out"
# --no-save: no history under root's home; a failure to fingerprint never blocks the node.
"$python" -m envcheck snapshot --no-save -o "$out/$(hostname).json" || true
exit 0

#!/usr/bin/env bash
# What tests/slurm needs (README, "On a cluster"): Slurm and munge from Debian's packages, and
# Snakemake's Slurm executor plugin. Needs root and apt-get; without them, or if the install fails,
# it says so and exits 0, and the slurm tests skip with the reason.
set -uo pipefail
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "slurm-setup: needs root and apt-get; tests/slurm will skip"
    exit 0
fi
log=$(mktemp)
if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge; } >"$log" 2>&1; then
    tail -n 20 "$log"
    echo "slurm-setup: installing slurm-wlm and munge failed; tests/slurm will skip"
    exit 0
fi
python3 -m pip install -q "snakemake-executor-plugin-slurm>=2.8,<3" ||
    echo "slurm-setup: installing the executor plugin failed; tests/slurm will skip"

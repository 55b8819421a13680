"""A one-node Slurm cluster for tests: munged, slurmctld and slurmd from Debian's packages
(`slurm-wlm`, `munge`; `.ci/slurm-setup.sh`), run as root in a private folder.

Everything the cluster writes (config, munge key and socket, state, logs, job records) stays in that
folder, on ports of its own, so it touches neither /etc nor a Slurm already on the machine. Clients
find it through ``SLURM_CONF`` and ``PATH`` (``Cluster.env``). Without accounting (no slurmdbd): finished jobs
stay in squeue for an hour (MinJobAge) and are recorded by ``jobcomp/filetxt`` in ``jobs.txt``.
The node offers fake GPUs (``gres/gpu`` backed by plain files), enough to check that a GPU request
reaches Slurm and is granted.

``with one_node_slurm(folder) as cluster:`` starts the three daemons as child processes and, on
leaving (also on failure), cancels the cluster's jobs and stops exactly those processes, by PID.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "srun", "squeue", "scontrol", "scancel", "sinfo")
NODE = "bonkl-node"
FAKE_GPUS = 2


def missing_programs() -> list[str]:
    """The Slurm and munge programs that are not installed."""
    return [p for p in (*DAEMONS, *CLIENTS, "mungekey") if shutil.which(p) is None]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _memory_mb() -> int:
    """Memory the node offers: the machine's, less 1 GB for everything else."""
    total_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal:")
    )
    return max(total_kb // 1024 - 1024, 1024)


SLURM_CONF = """\
ClusterName=bonkltest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={dir}/munge.socket
StateSaveLocation={dir}/state
SlurmdSpoolDir={dir}/spool
SlurmctldPidFile={dir}/slurmctld.pid
SlurmdPidFile={dir}/slurmd.pid
SlurmctldLogFile={dir}/slurmctld.log
SlurmdLogFile={dir}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={dir}/jobs.txt
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
# squeue shows a finished job for MinJobAge: an hour, so a test can list every job of its run.
MinJobAge=3600
GresTypes=gpu
NodeName={node} NodeHostname={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} Gres=gpu:{gpus} State=UNKNOWN
PartitionName=main Nodes={node} Default=YES MaxTime=INFINITE State=UP
"""

# Slurm counts a GPU per device file; plain files stand in for /dev/nvidia*.
GRES_CONF = "NodeName={node} Name=gpu File={dir}/fake-gpu[0-{last_gpu}]\n"


@dataclass
class Cluster:
    folder: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        """The environment for clients (sbatch, squeue, Snakemake's plugin) of this cluster."""
        path = f"{self.folder / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
        return dict(os.environ, SLURM_CONF=str(self.folder / "slurm.conf"), PATH=path)

    def command(self, *args: str) -> str:
        return subprocess.run(args, env=self.env, text=True, capture_output=True, check=True, timeout=60).stdout

    def jobs(self) -> list[dict[str, str]]:
        """Every finished job (jobcomp/filetxt: one line of KEY=value fields per job)."""
        path = self.folder / "jobs.txt"
        lines = path.read_text().splitlines() if path.exists() else []
        return [dict(item.split("=", 1) for item in line.split() if "=" in item) for line in lines]

    def logs(self) -> str:
        """The daemons' logs, for a failure message."""
        return "\n".join(
            f"--- {name}.log\n{(self.folder / f'{name}.log').read_text()[-3000:]}"
            for name in DAEMONS
            if (self.folder / f"{name}.log").exists()
        )


def _write_config(folder: Path) -> None:
    for sub in ("state", "spool"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    values = dict(
        dir=folder,
        host=socket.gethostname().split(".")[0],
        node=NODE,
        gpus=FAKE_GPUS,
        last_gpu=FAKE_GPUS - 1,
        ctld_port=_free_port(),
        slurmd_port=_free_port(),
        cpus=os.cpu_count(),
        memory=_memory_mb(),
    )
    (folder / "slurm.conf").write_text(SLURM_CONF.format(**values))
    (folder / "gres.conf").write_text(GRES_CONF.format(**values))
    for index in range(FAKE_GPUS):
        (folder / f"fake-gpu{index}").touch()
    # Inside a job the plugin drops SLURM_* variables before its `srun`; a real cluster's srun then
    # reads /etc/slurm, which this cluster leaves alone: its own srun, first on PATH, is pointed here.
    (folder / "bin").mkdir(exist_ok=True)
    srun = folder / "bin" / "srun"
    srun.write_text(f'#!/bin/sh\nSLURM_CONF={folder / "slurm.conf"} exec {shutil.which("srun")} "$@"\n')
    srun.chmod(0o755)
    # `mungekey` writes the key with the owner-only permissions munged insists on.
    subprocess.run(["mungekey", "--create", f"--keyfile={folder / 'munge.key'}"], check=True, capture_output=True)


def _start(cluster: Cluster, name: str, args: list[str]) -> None:
    with open(cluster.folder / f"{name}.out", "w") as out:  # the child keeps its own copy
        cluster.processes[name] = subprocess.Popen(
            args, env=cluster.env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )


def _wait_until(what: str, ready, cluster: Cluster, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in cluster.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited ({process.returncode}) while waiting for {what}:\n{cluster.logs()}")
        if ready():
            return
        time.sleep(0.5)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}:\n{cluster.logs()}")


def _node_idle(cluster: Cluster) -> bool:
    try:
        return cluster.command("sinfo", "--noheader", "--format=%T").strip() == "idle"
    except subprocess.SubprocessError:
        return False


def _stop(cluster: Cluster) -> None:
    """Cancel the cluster's jobs, then stop the daemons this helper started (reverse order), by PID."""
    if "slurmctld" in cluster.processes and cluster.processes["slurmctld"].poll() is None:
        try:
            cluster.command("scancel", "--full", "--user=root")
            deadline = time.monotonic() + 30
            while (
                cluster.command("squeue", "--noheader", "--states=RUNNING,PENDING,COMPLETING")
                and time.monotonic() < deadline
            ):
                time.sleep(0.5)
        except subprocess.SubprocessError:
            pass  # the daemons are stopped below whatever the queue says
    for name in reversed(list(cluster.processes)):
        process = cluster.processes[name]
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()


@contextmanager
def one_node_slurm(folder: Path):
    """Start a one-node cluster in ``folder`` (needs root and ``missing_programs() == []``)."""
    folder = Path(folder).resolve()
    _write_config(folder)
    cluster = Cluster(folder)
    try:
        _start(
            cluster,
            "munged",
            [
                "munged",
                "--foreground",
                "--force",
                f"--socket={folder / 'munge.socket'}",
                f"--key-file={folder / 'munge.key'}",
                f"--pid-file={folder / 'munged.pid'}",
                f"--seed-file={folder / 'munged.seed'}",
                f"--log-file={folder / 'munged.log'}",
            ],
        )
        _wait_until("munged's socket", (folder / "munge.socket").exists, cluster)
        _start(cluster, "slurmctld", ["slurmctld", "-D", "-i"])
        _start(cluster, "slurmd", ["slurmd", "-D", "-N", NODE])
        _wait_until("the node to be idle", lambda: _node_idle(cluster), cluster)
        yield cluster
    finally:
        _stop(cluster)

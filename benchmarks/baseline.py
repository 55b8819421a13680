"""The package as of an earlier commit, from this checkout's git history, for side-by-side runs.

``package_at(commit)`` extracts ``src/bonkl`` of that commit into a temporary folder and returns
the folder to put on ``PYTHONPATH`` of a separate process (the old and the new ``bonkl`` cannot
share one interpreter).
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def package_at(commit: str) -> Path:
    """A temporary folder holding ``bonkl`` as of ``commit`` (removed when the process exits)."""
    archive = subprocess.run(["git", "archive", commit, "src/bonkl"], cwd=ROOT, capture_output=True)
    if archive.returncode:
        sys.exit(f"needs the git history of commit {commit[:7]}: {archive.stderr.decode().strip()}")
    folder = Path(tempfile.mkdtemp(prefix=f"bonkl-{commit[:7]}-"))
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")
    return folder / "src"


def run_with(commit: str, code: str, *args: str) -> subprocess.CompletedProcess:
    """Run Python ``code`` (with ``sys.argv[1:] = args``) against ``bonkl`` as of ``commit``."""
    env = {"PYTHONPATH": str(package_at(commit)), "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"}
    import os

    env = {**os.environ, **env}
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=True)

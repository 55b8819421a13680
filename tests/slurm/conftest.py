"""The `slurm` marker: tests that bring up a one-node Slurm cluster (root, `.ci/slurm-setup.sh`)."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slurm: runs the workflow through a one-node Slurm cluster it starts (needs root)"
    )

"""`scripts/ensure_postgres.sh`, the step of `make test` that brings PostgreSQL, run for real.

The machine's own server on 5432 must not be stopped (other tests use it), so
the paths where the server does not answer are run against a throwaway
cluster on a free port: stopped -> started, database missing -> created.
The apt-install path needs a machine without PostgreSQL and is not run here.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ensure_postgres.sh"
CLUSTER = "ensureprobe"

pytestmark = pytest.mark.skipif(
    shutil.which("pg_createcluster") is None or os.geteuid() != 0,
    reason="needs Debian's postgresql-common tools and root, as on the CI machines",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _version() -> str:
    return sorted(os.listdir("/usr/lib/postgresql"), key=lambda v: [int(p) for p in v.split(".")])[-1]


def _run(port: int, db: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
    env |= {"ENSURE_PG_PORT": str(port), "ENSURE_PG_DB": db}
    return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def stopped_cluster():
    """A new cluster on a free port that trusts 127.0.0.1, left stopped; dropped afterwards."""
    version, port = _version(), _free_port()
    subprocess.run(["pg_dropcluster", "--stop", version, CLUSTER], capture_output=True, check=False)
    subprocess.run(["pg_createcluster", "-p", str(port), version, CLUSTER], capture_output=True, check=True)
    hba = Path(f"/etc/postgresql/{version}/{CLUSTER}/pg_hba.conf")
    hba.write_text("host all all 127.0.0.1/32 trust\nlocal all all trust\n" + hba.read_text())
    try:
        yield port
    finally:
        subprocess.run(["pg_dropcluster", "--stop", version, CLUSTER], capture_output=True, check=False)


def _databases(port: int) -> set[str]:
    out = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "postgres",
                          "-tAc", "SELECT datname FROM pg_database"], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_a_stopped_cluster_is_started_and_the_missing_database_created(stopped_cluster):
    port = stopped_cluster
    assert subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)], check=False).returncode != 0

    first = _run(port, "probe_tests")
    assert first.returncode == 0, first.stderr
    assert f"Starting the stopped PostgreSQL cluster {_version()}/{CLUSTER} on port {port}" in first.stdout
    assert "Creating the PostgreSQL database 'probe_tests'" in first.stdout
    assert "probe_tests" in _databases(port)

    # Run again: the server answers and the database exists, so it says and does nothing.
    again = _run(port, "probe_tests")
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")


def test_a_port_without_any_cluster_is_refused_with_what_to_run():
    port = _free_port()
    result = _run(port, "probe_tests")
    assert result.returncode == 1
    assert f"No PostgreSQL cluster is configured for port {port}" in result.stderr
    assert f"pg_createcluster --start -p {port}" in result.stderr

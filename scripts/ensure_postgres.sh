#!/usr/bin/env bash
# Make sure the PostgreSQL server the tests use answers on 127.0.0.1:5432 and has a database `test`.
#
# `make test` calls this. It installs Debian's postgresql when no server is installed, starts an
# installed cluster that is stopped, and creates the `test` database when it is missing. A cluster
# this script creates itself exists only for the tests, so it trusts connections from 127.0.0.1;
# an existing server's authentication is never changed. With TEST_DATABASE_URL set, the tests use
# that server and this script does nothing.
set -euo pipefail

[ -n "${TEST_DATABASE_URL:-}" ] && exit 0
HOST=127.0.0.1
PORT=5432

answers() { command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h "$HOST" -p "$PORT"; }
newest_cluster() { ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1; }

if ! answers; then
    fresh=0
    if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(newest_cluster)" ]; then
        echo "Installing PostgreSQL (Debian package) for the database tests..."
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        fresh=1
    fi
    version=$(newest_cluster)
    if [ "$fresh" = 1 ]; then
        hba=/etc/postgresql/$version/main/pg_hba.conf
        grep -q "^host all all 127.0.0.1/32 trust" "$hba" || sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
        pg_ctlcluster --skip-systemctl-redirect "$version" main restart || true
    else
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    fi
    for _ in $(seq 1 30); do answers && break; sleep 1; done
    answers || { echo "PostgreSQL did not start on $HOST:$PORT; see /var/log/postgresql/" >&2; exit 1; }
fi

exists=$(psql -h "$HOST" -p "$PORT" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'")
if [ "$exists" != 1 ]; then
    echo "Creating the PostgreSQL database 'test' for the database tests..."
    psql -h "$HOST" -p "$PORT" -U postgres -d postgres -qc 'CREATE DATABASE test'
fi

#!/usr/bin/env bash
# Make sure the PostgreSQL server the tests use answers on 127.0.0.1:5432 and has a database `test`.
#
# `make test` calls this. It installs Debian's postgresql when no server is installed, starts the
# installed cluster of that port when it is stopped, and creates the `test` database when it is
# missing. A cluster this script creates itself exists only for the tests, so it trusts connections
# from 127.0.0.1; an existing server's authentication is never changed. With TEST_DATABASE_URL set,
# the tests use that server and this script does nothing.
#
# ENSURE_PG_PORT and ENSURE_PG_DB (default 5432 and test) exist for tests/db/test_ensure_postgres.py,
# which runs this script against a throwaway cluster on another port.
set -euo pipefail

[ -n "${TEST_DATABASE_URL:-}" ] && exit 0
HOST=127.0.0.1
PORT=${ENSURE_PG_PORT:-5432}
DB=${ENSURE_PG_DB:-test}

answers() { command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h "$HOST" -p "$PORT"; }
# "VERSION CLUSTER" of the installed cluster configured for $PORT, if any.
cluster_on_port() { pg_lsclusters -h 2>/dev/null | awk -v p="$PORT" '$3 == p {print $1, $2; exit}'; }

if ! answers; then
    fresh=0
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
        echo "Installing PostgreSQL (Debian package) for the database tests..."
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        fresh=1
    fi
    read -r version cluster <<<"$(cluster_on_port)" || true
    if [ -z "${version:-}" ]; then
        echo "No PostgreSQL cluster is configured for port $PORT (pg_lsclusters lists them);" \
             "create one with: pg_createcluster --start -p $PORT <version> main" >&2
        exit 1
    fi
    if [ "$fresh" = 1 ]; then
        hba=/etc/postgresql/$version/$cluster/pg_hba.conf
        grep -q "^host all all 127.0.0.1/32 trust" "$hba" || sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
        pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" restart || true
    else
        echo "Starting the stopped PostgreSQL cluster $version/$cluster on port $PORT..."
        pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start || true
    fi
    for _ in $(seq 1 30); do answers && break; sleep 1; done
    answers || { echo "PostgreSQL did not start on $HOST:$PORT; see /var/log/postgresql/" >&2; exit 1; }
fi

exists=$(psql -h "$HOST" -p "$PORT" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")
if [ "$exists" != 1 ]; then
    echo "Creating the PostgreSQL database '$DB' for the database tests..."
    psql -h "$HOST" -p "$PORT" -U postgres -d postgres -qc "CREATE DATABASE \"$DB\""
fi

#!/usr/bin/env bash
# Start a throw-away PostgreSQL server on a free port of 127.0.0.1 (Debian's packages) for the tests.
# Prints the URL to use; the tests read it from TUNECLI_TEST_PG_URL.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
PORT=${TUNECLI_PG_PORT:-$(python3 -c "import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])")}
BASE=$(mktemp -d /tmp/tunecli-pg.XXXXXX)
chown postgres "$BASE"
as_pg() { su postgres -s /bin/bash -c "$*"; }
as_pg "$PGBIN/initdb -D $BASE/data -A trust -U postgres" >/dev/null
as_pg "$PGBIN/pg_ctl -D $BASE/data -o '-p $PORT -k $BASE -c listen_addresses=127.0.0.1 -c max_connections=200' -l $BASE/log -w start" >/dev/null
as_pg "psql -h $BASE -p $PORT -U postgres -q -c \"CREATE USER tunecli PASSWORD 'tunecli-pass'\"" >/dev/null
as_pg "createdb -h $BASE -p $PORT -U postgres -O tunecli tunecli" >/dev/null
# password authentication for TCP connections
echo "host all all 127.0.0.1/32 scram-sha-256" > "$BASE/data/pg_hba.conf"
echo "local all postgres trust" >> "$BASE/data/pg_hba.conf"
as_pg "$PGBIN/pg_ctl -D $BASE/data reload" >/dev/null
echo "postgresql://tunecli:tunecli-pass@127.0.0.1:$PORT/tunecli"

#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests: initdb in a temporary folder as an
# unprivileged user (PostgreSQL refuses to run as root), a free TCP port on 127.0.0.1 and a unix
# socket in the same folder, trust authentication for the local superuser `postgres`.
#   scripts/pg-test-cluster.sh start STATE_DIR   prints the URL; STATE_DIR/url holds it too
#   scripts/pg-test-cluster.sh stop STATE_DIR    stops the server and deletes its folder
# When PLINTH_TEST_PG_URL is already set (scripts/test.sh started a cluster), both do nothing.
set -euo pipefail
action=${1:?usage: pg-test-cluster.sh start|stop STATE_DIR}
state=${2:?usage: pg-test-cluster.sh start|stop STATE_DIR}
if [[ -n "${PLINTH_TEST_PG_URL:-}" ]]; then
  [[ $action == start ]] && echo "$PLINTH_TEST_PG_URL"
  exit 0
fi
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [[ -z "$bin" || ! -x "$bin/initdb" ]]; then
  echo "pg-test-cluster: PostgreSQL server binaries missing: apt-get install postgresql-15" >&2
  exit 1
fi
user=$(id -un)
as_user() { "$@"; }
if [[ $(id -u) -eq 0 ]]; then
  user=plinth-test
  if ! id "$user" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
  fi
  as_user() { runuser -u "$user" -- "$@"; }
fi

stop() {
  [[ -f "$state/dir" ]] || return 0
  local dir
  dir=$(cat "$state/dir")
  if [[ -d "$dir/data" ]]; then
    as_user "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir" "$state/dir" "$state/url"
}

case $action in
  start)
    mkdir -p "$state"
    if [[ -f "$state/url" ]] && "$bin/pg_isready" -q -d "$(cat "$state/url")"; then
      cat "$state/url"  # already running (ctest fixture after scripts/test.sh, or a rerun)
      exit 0
    fi
    stop
    dir=$(mktemp -d /tmp/plinth-pg.XXXXXX)
    chown "$user" "$dir"
    echo "$dir" >"$state/dir"
    as_user "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
      >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # fsync off: a throwaway cluster; max_connections covers parallel tests and three replicas.
    as_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
          -c full_page_writes=off -c max_connections=300 -c shared_buffers=64MB" start \
      >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    url="postgresql://postgres@127.0.0.1:$port/postgres"
    echo "$url" >"$state/url"
    echo "$url"
    ;;
  stop) stop ;;
  *) echo "usage: pg-test-cluster.sh start|stop STATE_DIR" >&2; exit 2 ;;
esac

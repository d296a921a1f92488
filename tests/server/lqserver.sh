#!/usr/bin/env bash
# Control script for a throwaway PostgreSQL + Parse Server (LiveQuery) used by the tests.
#
#   lqserver.sh install                         npm ci in tests/server if needed
#   lqserver.sh start STATE_DIR                 new postgres cluster + parse server, writes STATE_DIR/env
#   lqserver.sh stop STATE_DIR                  stop both, remove STATE_DIR
#   lqserver.sh kill-parse STATE_DIR [--kill]   stop parse server only (SIGTERM, or SIGKILL with --kill)
#   lqserver.sh start-parse STATE_DIR           start parse server again on the same port + database
#   lqserver.sh restart-parse STATE_DIR [--kill]  kill-parse + start-parse
#   lqserver.sh status STATE_DIR                print env, exit 0 if parse server is up
#
# LQSERVER_PORT (start) asks for that port. LQSERVER_DATABASE (start, start-parse) runs Parse Server
# on that database of the cluster, made if missing; LQ_PARSE_SERVER_DIR (server.js) on another
# parse-server install (tests/versions).
# Only processes whose PIDs are recorded in STATE_DIR are ever signalled.
# Everything is bounded in time. Logs: STATE_DIR/*.log.
set -euo pipefail

SERVER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_USER=postgres           # OS user that owns and runs the cluster when this runs as root
# As root the cluster runs as $PG_USER (PostgreSQL refuses to run as root); as anyone else it runs
# as that user, with no root needed at all.
DB_NAME=parse DB_ROLE=parse DB_PASS=parse
APP_ID=testAppId JS_KEY=testJsKey MASTER_KEY=testMasterKey CLIENT_KEY=testClientKey
MARKER=.lqserver-state
READY_TIMEOUT="${LQ_READY_TIMEOUT:-60}"   # seconds to wait for "READY <port>"
TERM_TIMEOUT=10                           # seconds between SIGTERM and SIGKILL

die() { echo "lqserver: $*" >&2; exit 1; }
# The prefix that runs a PostgreSQL program as the cluster's owner: $PG_USER under root, else
# nothing (this user).
AS_PG=()
[[ $EUID -ne 0 ]] || AS_PG=(runuser -u "$PG_USER" --)
note() { echo "lqserver: $*" >&2; }

usage() {
  sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# ---------------------------------------------------------------- install
do_install() {
  # Serialise concurrent installs (parallel "start"s) on a lock outside node_modules.
  local lock
  lock="${TMPDIR:-/tmp}/lqserver-install.$(printf '%s' "$SERVER_DIR" | md5sum | cut -c1-12).lock"
  exec 9>>"$lock"
  flock -w 900 9 || die "timed out waiting for $lock"
  local stamp="$SERVER_DIR/node_modules/.lqserver-installed"
  if [[ -d "$SERVER_DIR/node_modules/parse-server" && -f "$stamp" \
        && ! "$SERVER_DIR/package-lock.json" -nt "$stamp" ]]; then
    echo "lqserver: node_modules up to date"
    exec 9>&-
    return 0
  fi
  command -v npm >/dev/null || die "npm not found (need Node >= 20.19 and npm)"
  local log; log="$(mktemp)"
  if ! (cd "$SERVER_DIR" && timeout 900 npm ci --no-audit --no-fund --loglevel=error >"$log" 2>&1); then
    tail -n 30 "$log" >&2; rm -f "$log"
    die "npm ci failed"
  fi
  rm -f "$log"
  touch "$stamp"
  echo "lqserver: installed node_modules with npm ci"
  exec 9>&-
}

# ---------------------------------------------------------------- helpers
# N distinct free TCP ports on 127.0.0.1, chosen by the OS (bind port 0), space separated.
free_ports() {
  node -e '
    const net = require("net"); const n = +process.argv[1]; const socks = []; const ports = [];
    (function next() {
      if (ports.length === n) { console.log(ports.join(" ")); socks.forEach(s => s.close()); return; }
      const s = net.createServer(); socks.push(s);
      s.listen(0, "127.0.0.1", () => { ports.push(s.address().port); next(); });
    })();' "$1"
}

port_in_use() {  # port -> 0 if something listens on 127.0.0.1:port
  node -e '
    const s = require("net").connect(+process.argv[1], "127.0.0.1");
    s.on("connect", () => { s.destroy(); process.exit(0); });
    s.on("error", () => process.exit(1));
    setTimeout(() => process.exit(1), 2000);' "$1"
}

abs_dir() { mkdir -p "$1" && (cd "$1" && pwd); }

# Is PID alive and its command line contains PATTERN? (guards against recycled PIDs)
pid_matches() {
  local pid="$1" pat="$2"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pat"
}

wait_gone() {  # pid seconds -> 0 when gone
  local pid="$1" deadline=$((SECONDS + $2))
  while kill -0 "$pid" 2>/dev/null; do
    # A zombie child of ours counts as gone.
    [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" == Z ]] && return 0
    (( SECONDS >= deadline )) && return 1
    sleep 0.1
  done
  return 0
}

load_state() {  # sets STATE, sources STATE/state.conf
  [[ -n "${1:-}" ]] || usage
  [[ -d "$1" && -f "$1/$MARKER" ]] || die "$1 is not a running lqserver state dir"
  STATE="$(cd "$1" && pwd)"
  # shellcheck disable=SC1091
  source "$STATE/state.conf"
}

write_env() {
  local pid="${1:-}" tmp="$STATE/env.tmp"
  {
    echo "PARSE_SERVER_URL=ws://127.0.0.1:$PARSE_PORT/parse"
    echo "PARSE_HTTP_URL=http://127.0.0.1:$PARSE_PORT/parse"
    echo "PARSE_APP_ID=$APP_ID"
    echo "PARSE_JAVASCRIPT_KEY=$JS_KEY"
    echo "PARSE_MASTER_KEY=$MASTER_KEY"
    echo "PARSE_CLIENT_KEY=$CLIENT_KEY"
    echo "PARSE_PORT=$PARSE_PORT"
    echo "PARSE_PID=$pid"
    echo "PG_PORT=$PG_PORT"
  } >"$tmp"
  mv -f "$tmp" "$STATE/env"
}

# ---------------------------------------------------------------- parse server
parse_pid() { cat "$STATE/parse.pid" 2>/dev/null || true; }

kill_parse() {  # [--kill]
  local sig=TERM pid
  [[ "${1:-}" == "--kill" ]] && sig=KILL
  pid="$(parse_pid)"
  if [[ -n "$pid" ]] && pid_matches "$pid" "server.js"; then
    kill -s "$sig" "$pid" 2>/dev/null || true
    if ! wait_gone "$pid" "$TERM_TIMEOUT"; then
      note "parse server $pid did not exit after SIG$sig, sending SIGKILL"
      kill -s KILL "$pid" 2>/dev/null || true
      wait_gone "$pid" 5 || die "parse server $pid does not die"
    fi
  fi
  rm -f "$STATE/parse.pid"
  if [[ -f "$STATE/env" && -n "${PARSE_PORT:-}" ]]; then write_env ""; fi
  return 0
}

# The URI of database $1 of the cluster, made (owned by $DB_ROLE) if it is not there yet.
database_uri() {
  local db="$1" psql=("$PG_BIN/psql" -X -q -h "$PG_SOCK" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1)
  [[ "$db" =~ ^[a-z][a-z0-9_]{0,40}$ ]] || die "LQSERVER_DATABASE=$db: lower-case letters, digits and _"
  if [[ "$(timeout 30 "${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]]; then
    timeout 30 "${psql[@]}" -c "CREATE DATABASE $db OWNER $DB_ROLE" >>"$STATE/postgres.log" 2>&1 \
      || die "creating database $db failed"
  fi
  echo "${DATABASE_URI%/*}/$db"
}

# Launch server.js on $PARSE_PORT, wait for READY. Returns 0 ready, 3 port busy, 1 other failure.
launch_parse() {
  local log="$STATE/parse.log" uri="$DATABASE_URI"
  if [[ -n "${LQSERVER_DATABASE:-}" ]]; then uri="$(database_uri "$LQSERVER_DATABASE")" || return 1; fi
  echo "==== $(date '+%F %T') start on port $PARSE_PORT${LQ_PARSE_SERVER_DIR:+ with $LQ_PARSE_SERVER_DIR}" >>"$log"
  local mark; mark=$(wc -l <"$log")
  (
    cd "$SERVER_DIR"
    exec env PORT="$PARSE_PORT" DATABASE_URI="$uri" PARSE_SERVER_LOGS_FOLDER=null \
      PARSE_APP_ID="$APP_ID" PARSE_JAVASCRIPT_KEY="$JS_KEY" PARSE_MASTER_KEY="$MASTER_KEY" \
      PARSE_CLIENT_KEY="$CLIENT_KEY" NODE_ENV=test \
      node server.js </dev/null >>"$log" 2>&1
  ) &
  local pid=$!
  echo "$pid" >"$STATE/parse.pid"
  local deadline=$((SECONDS + READY_TIMEOUT))
  while :; do
    if tail -n +"$((mark + 1))" "$log" | grep "^READY $PARSE_PORT\$" >/dev/null; then
      write_env "$pid"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null || [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" == Z ]]; then
      wait "$pid" 2>/dev/null || true
      rm -f "$STATE/parse.pid"
      if tail -n +"$((mark + 1))" "$log" | grep "EADDRINUSE\|port is already in use" >/dev/null; then
        return 3
      fi
      return 1
    fi
    if (( SECONDS >= deadline )); then
      note "parse server not ready after ${READY_TIMEOUT}s"
      kill_parse --kill
      return 1
    fi
    sleep 0.1
  done
}

start_parse() {
  local pid rc
  pid="$(parse_pid)"
  if [[ -n "$pid" ]] && pid_matches "$pid" "server.js"; then
    die "parse server already running (pid $pid)"
  fi
  # Same port as before: if it is still held (e.g. a dying process), retry for a while.
  local deadline=$((SECONDS + 15))
  while :; do
    rc=0; launch_parse || rc=$?
    [[ $rc -eq 0 ]] && return 0
    if [[ $rc -eq 3 && $SECONDS -lt $deadline ]]; then sleep 0.5; continue; fi
    note "parse server failed to start; last lines of $STATE/parse.log:"
    tail -n 30 "$STATE/parse.log" >&2
    return 1
  done
}

# ---------------------------------------------------------------- postgres
stop_postgres() {
  [[ -f "$STATE/pgdata/postmaster.pid" ]] || return 0
  local pmpid; pmpid="$(head -n 1 "$STATE/pgdata/postmaster.pid" 2>/dev/null || true)"
  timeout 30 "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$STATE/pgdata" stop -m immediate -w -t 20 \
    >>"$STATE/postgres.log" 2>&1 || true
  if [[ -n "$pmpid" ]] && pid_matches "$pmpid" "$STATE/pgdata"; then
    kill -s KILL "$pmpid" 2>/dev/null || true
    wait_gone "$pmpid" 5 || note "postgres $pmpid still alive"
  fi
}

cleanup_state() {  # stop everything recorded in $STATE and remove it
  PG_SOCK=""
  # shellcheck disable=SC1091
  if [[ -f "$STATE/state.conf" ]]; then source "$STATE/state.conf"; fi
  kill_parse "${1:-}" || true
  stop_postgres
  if [[ -n "${PG_SOCK:-}" && "$PG_SOCK" == /tmp/lqpg.* ]]; then rm -rf "$PG_SOCK"; fi
  rm -rf "$STATE"
}

start_all() {
  [[ -n "${1:-}" ]] || usage
  local dir="$1"
  if [[ -e "$dir" ]]; then
    [[ -d "$dir" ]] || die "$dir exists and is not a directory"
    if [[ -f "$dir/$MARKER" ]]; then
      STATE="$(cd "$dir" && pwd)"
      note "wiping previous state in $STATE"
      cleanup_state --kill
    elif [[ -n "$(ls -A "$dir")" ]]; then
      die "$dir exists, is not empty and is not an lqserver state dir; refusing to wipe it"
    fi
  fi
  [[ -x "$PG_BIN/initdb" ]] || die "PostgreSQL not found in $PG_BIN (apt-get install postgresql)"
  [[ $EUID -ne 0 ]] || id "$PG_USER" >/dev/null 2>&1 || die "no OS user $PG_USER (root runs the cluster as $PG_USER)"
  do_install >&2

  STATE="$(abs_dir "$dir")"
  touch "$STATE/$MARKER"
  chmod 755 "$STATE"
  # postgres must be able to traverse every parent of STATE.
  "${AS_PG[@]}" test -x "$STATE" \
    || die "user $PG_USER cannot access $STATE (a parent directory is not world-searchable)"

  local ports; ports="$(free_ports 2)"
  PARSE_PORT="${ports% *}"; PG_PORT="${ports#* }"
  # LQSERVER_PORT asks for a port of Parse Server's own (make server: 1337), when it is free.
  if [[ -n "${LQSERVER_PORT:-}" ]]; then
    if (exec 3<>"/dev/tcp/127.0.0.1/$LQSERVER_PORT") 2>/dev/null; then
      note "port $LQSERVER_PORT is taken; using $PARSE_PORT"
    else
      PARSE_PORT="$LQSERVER_PORT"
    fi
  fi
  # Unix socket path is limited to ~107 bytes.
  PG_SOCK="$STATE/pgsock"
  (( ${#PG_SOCK} > 80 )) && PG_SOCK="$(mktemp -d /tmp/lqpg.XXXXXX)"
  mkdir -p "$PG_SOCK"
  DATABASE_URI="postgres://$DB_ROLE:$DB_PASS@127.0.0.1:$PG_PORT/$DB_NAME"
  {
    echo "PARSE_PORT=$PARSE_PORT"
    echo "PG_PORT=$PG_PORT"
    echo "PG_SOCK=$PG_SOCK"
    echo "DATABASE_URI=$DATABASE_URI"
  } >"$STATE/state.conf"

  mkdir -p "$STATE/pgdata"
  touch "$STATE/postgres.log" "$STATE/initdb.log"
  [[ $EUID -ne 0 ]] || chown "$PG_USER:" "$STATE/pgdata" "$PG_SOCK" "$STATE/postgres.log" "$STATE/initdb.log"
  chmod 700 "$STATE/pgdata"
  if ! timeout 120 "${AS_PG[@]}" "$PG_BIN/initdb" -D "$STATE/pgdata" -U postgres -E UTF8 \
        --locale=C.UTF-8 --auth-local=trust --auth-host=trust -N >"$STATE/initdb.log" 2>&1; then
    tail -n 20 "$STATE/initdb.log" >&2
    die "initdb failed"
  fi
  cat >>"$STATE/pgdata/postgresql.conf" <<EOF
# lqserver: throwaway test cluster
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 16MB
max_connections = 60
dynamic_shared_memory_type = mmap
logging_collector = off
EOF
  local ok=0 _try
  for _try in 1 2 3; do
    if timeout 60 "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$STATE/pgdata" -l "$STATE/postgres.log" \
         -w -t 30 start >/dev/null 2>&1; then
      ok=1; break
    fi
    # Port raced away? pick another one and retry.
    if grep -q "could not bind\|Address already in use" "$STATE/postgres.log"; then
      PG_PORT="$(free_ports 1)"
      sed -i "s/^port = .*/port = $PG_PORT/" "$STATE/pgdata/postgresql.conf"
      DATABASE_URI="postgres://$DB_ROLE:$DB_PASS@127.0.0.1:$PG_PORT/$DB_NAME"
      sed -i "s|^PG_PORT=.*|PG_PORT=$PG_PORT|; s|^DATABASE_URI=.*|DATABASE_URI=$DATABASE_URI|" "$STATE/state.conf"
      continue
    fi
    break
  done
  if [[ $ok -ne 1 ]]; then
    tail -n 20 "$STATE/postgres.log" >&2
    cleanup_state --kill
    die "postgres failed to start"
  fi
  if ! timeout 30 "$PG_BIN/psql" -X -q -h "$PG_SOCK" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE $DB_ROLE LOGIN PASSWORD '$DB_PASS'" \
        -c "CREATE DATABASE $DB_NAME OWNER $DB_ROLE" >>"$STATE/postgres.log" 2>&1; then
    tail -n 20 "$STATE/postgres.log" >&2
    cleanup_state --kill
    die "creating role/database failed"
  fi

  # Parse server: on a port race pick a new port (first start only).
  local rc
  for _try in 1 2 3; do
    rc=0; launch_parse || rc=$?
    [[ $rc -eq 0 ]] && break
    if [[ $rc -eq 3 ]]; then
      PARSE_PORT="$(free_ports 1)"
      sed -i "s|^PARSE_PORT=.*|PARSE_PORT=$PARSE_PORT|" "$STATE/state.conf"
      continue
    fi
    break
  done
  if [[ $rc -ne 0 ]]; then
    note "parse server failed to start; last lines of $STATE/parse.log:"
    tail -n 30 "$STATE/parse.log" >&2
    cleanup_state --kill
    exit 1
  fi
  cat "$STATE/env"
}

# ---------------------------------------------------------------- main
cmd="${1:-}"; shift || true
case "$cmd" in
  install)
    do_install ;;
  start)
    start_all "${1:-}" ;;
  stop)
    [[ -n "${1:-}" ]] || usage
    if [[ -d "$1" && -f "$1/$MARKER" ]]; then
      STATE="$(cd "$1" && pwd)"
      cleanup_state
    elif [[ -e "$1" ]]; then
      die "$1 is not an lqserver state dir; not touching it"
    fi ;;
  kill-parse)
    load_state "${1:-}"; kill_parse "${2:-}" ;;
  start-parse)
    load_state "${1:-}"; start_parse; cat "$STATE/env" ;;
  restart-parse)
    load_state "${1:-}"; kill_parse "${2:-}"; start_parse; cat "$STATE/env" ;;
  status)
    load_state "${1:-}"; cat "$STATE/env"
    pid="$(parse_pid)"; [[ -n "$pid" ]] && pid_matches "$pid" "server.js" ;;
  -h|--help|help|"")
    usage ;;
  *)
    note "unknown command: $cmd"; usage ;;
esac

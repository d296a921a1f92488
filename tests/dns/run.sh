#!/usr/bin/env bash
# The built-in resolver against real nameservers on loopback: dnsmasq (Debian's dnsmasq-base) and
# fakedns.js (the faults). Then again inside a user and network namespace whose /etc/resolv.conf
# and /etc/hosts are ours (search domains, ndots, timeout, attempts), when unshare allows it.
#   run.sh BUILD_DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="$1"
bin="$build/test_dns"
work="$(mktemp -d "${TMPDIR:-/tmp}/lqdns.XXXXXX")"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# fakedns on a free port (UDP and TCP): READY once it listens.
start_fake() {   # PORT LOG -> pid in fake_pid
  local port="$1" log="$2" i
  : >"$log"
  node "$here/fakedns.js" "$port" "$log" >"$work/fake.out" 2>&1 &
  fake_pid=$!
  for i in $(seq 100); do
    grep -q READY "$work/fake.out" 2>/dev/null && return 0
    kill -0 "$fake_pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
port=""
for _ in 1 2 3 4 5; do
  p=$((20000 + RANDOM % 20000))
  if start_fake "$p" "$work/queries.log"; then port=$p; pids+=("$fake_pid"); break; fi
done
[[ -n "$port" ]] || { cat "$work/fake.out" >&2; echo "dns: fakedns did not start" >&2; exit 1; }

dport=0
dnsmasq_bin="$(command -v dnsmasq || echo /usr/sbin/dnsmasq)"
if [[ -x "$dnsmasq_bin" ]]; then
  cp "$here/hosts" "$work/hosts"
  for i in $(seq 2 61); do echo "127.0.$((i / 250)).$((i % 250 + 1)) many.lq.test"; done >>"$work/hosts"
  echo "127.0.0.1 many.lq.test" >>"$work/hosts"
  for _ in 1 2 3 4 5; do
    p=$((20000 + RANDOM % 20000))
    "$dnsmasq_bin" -k -C /dev/null --port="$p" --listen-address=127.0.0.1 --bind-interfaces --no-resolv \
      --no-hosts --addn-hosts="$work/hosts" --cname=alias.lq.test,one.lq.test --local=/lq.test/ \
      --pid-file="$work/dnsmasq.pid" --user="$(id -un)" --group="$(id -gn)" >"$work/dnsmasq.out" 2>&1 &
    dpid=$!
    sleep 0.3
    if kill -0 "$dpid" 2>/dev/null; then dport=$p; pids+=("$dpid"); break; fi
  done
  [[ "$dport" != 0 ]] || { cat "$work/dnsmasq.out" >&2; echo "dns: dnsmasq did not start" >&2; exit 1; }
else
  echo "dns: dnsmasq not installed (Debian: apt-get install dnsmasq-base): its cases SKIP"
fi

timeout 120 "$bin" "$port" "$dport" "$work/queries.log" plain

# The namespace: our resolv.conf and hosts over the system's, fakedns on 127.0.0.1 port 53.
if unshare -rnm true 2>/dev/null && command -v ip >/dev/null; then
  cat >"$work/resolv.conf" <<CONF
# test_dns: resolv.conf as the resolver must read it
domain ignored.test
search corp.test
nameserver 127.0.0.1
options ndots:2 timeout:1 attempts:2
CONF
  printf '127.0.0.1 localhost\n127.0.0.1 hostsonly.test # a comment\n' >"$work/etc-hosts"
  : >"$work/ns-queries.log"
  timeout 120 unshare -rnm bash -c '
    set -e
    mount --bind "$1/resolv.conf" /etc/resolv.conf
    mount --bind "$1/etc-hosts" /etc/hosts
    ip link set lo up
    node "$2/fakedns.js" 53 "$1/ns-queries.log" >"$1/ns-fake.out" 2>&1 &
    fp=$!
    trap "kill $fp 2>/dev/null || true" EXIT
    for i in $(seq 100); do grep -q READY "$1/ns-fake.out" && break; sleep 0.05; done
    "$3" 53 0 "$1/ns-queries.log" netns
  ' ns "$work" "$here" "$bin"
else
  echo "dns (resolv.conf, in a namespace): SKIP (unshare -rnm or ip not available)"
fi

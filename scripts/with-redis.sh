#!/usr/bin/env bash
# Runs a command beside throwaway Redis topologies on free loopback ports, each server in its own
# temp dir, and stops them all afterwards, whatever the command's outcome (Ctrl-C included):
#   MFA_TEST_REDIS          a single node                 redis://127.0.0.1:P
#   MFA_TEST_REDIS_CLUSTER  a 3-master Redis Cluster      redis://127.0.0.1:P1?mode=cluster&addr=...
#   MFA_TEST_REDIS_SENTINEL a Sentinel watching the single node as master "mfa-master"
#                                                         redis://127.0.0.1:S?master_name=mfa-master
# Other checkouts test at the same time on this machine: a server counts as started only when the
# one answering on its port is the process this script started, and only those are stopped.
set -euo pipefail
root=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$root"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
	echo "with-redis: $1" >&2
	cat "$root"/*/redis.log >&2 2>/dev/null || true
	exit 1
}

# started PORT PID: whether the server answering on PORT is process PID (not another checkout's).
started() {
	local i
	for i in $(seq 50); do
		kill -0 "$2" 2>/dev/null || return 1
		if [ "$(redis-cli -p "$1" info server 2>/dev/null | tr -d '\r' | sed -n 's/^process_id://p')" = "$2" ]; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# start NAME ARGS...: starts a server on a free port below 55536 (a cluster's bus listens on
# port+10000) in $root/NAME, retrying other ports when one is taken; sets $port. (Not run in a
# subshell, so that $pids keeps what cleanup must stop.)
start() {
	local name=$1 pid
	shift
	mkdir -p "$root/$name"
	for _ in 1 2 3 4 5 6 7 8; do
		port=$(shuf -i 20000-45535 -n 1)
		redis-server "$@" --port "$port" --bind 127.0.0.1 --dir "$root/$name" \
			--logfile "$root/$name/redis.log" >/dev/null 2>&1 &
		pid=$!
		if started "$port" "$pid"; then
			pids+=("$pid")
			return 0
		fi
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	return 1
}

plain=(--save '' --appendonly no)
start single "${plain[@]}" || fail "redis-server did not start"
single=$port

cluster=()
for n in 1 2 3; do
	start "cluster$n" "${plain[@]}" --cluster-enabled yes --cluster-config-file nodes.conf \
		--cluster-node-timeout 5000 || fail "cluster node $n did not start"
	cluster+=("$port")
done
redis-cli --cluster create "127.0.0.1:${cluster[0]}" "127.0.0.1:${cluster[1]}" "127.0.0.1:${cluster[2]}" \
	--cluster-replicas 0 --cluster-yes >"$root/cluster-create.log" 2>&1 ||
	{ cat "$root/cluster-create.log" >&2; fail "redis-cli --cluster create failed"; }
for p in "${cluster[@]}"; do
	for i in $(seq 100); do
		redis-cli -p "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' && break
		[ "$i" = 100 ] && fail "the cluster node on $p never reached cluster_state:ok"
		sleep 0.1
	done
done

mkdir -p "$root/sentinel"
printf 'sentinel monitor mfa-master 127.0.0.1 %s 1\nsentinel down-after-milliseconds mfa-master 5000\n' \
	"$single" >"$root/sentinel/sentinel.conf"
start sentinel "$root/sentinel/sentinel.conf" --sentinel || fail "the sentinel did not start"
sentinel=$port
for i in $(seq 100); do
	[ "$(redis-cli -p "$sentinel" sentinel get-master-addr-by-name mfa-master 2>/dev/null | tail -1)" = "$single" ] && break
	[ "$i" = 100 ] && fail "the sentinel does not name the master"
	sleep 0.1
done

echo "with-redis: redis-server on 127.0.0.1:$single, cluster on ${cluster[*]}, sentinel on $sentinel"
export MFA_TEST_REDIS="redis://127.0.0.1:$single"
export MFA_TEST_REDIS_CLUSTER="redis://127.0.0.1:${cluster[0]}?mode=cluster&addr=127.0.0.1:${cluster[1]}&addr=127.0.0.1:${cluster[2]}"
export MFA_TEST_REDIS_SENTINEL="redis://127.0.0.1:$sentinel?master_name=mfa-master"
"$@"

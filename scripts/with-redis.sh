#!/usr/bin/env bash
# Runs a command with a throwaway redis-server on a free loopback port, its URL in
# MFA_TEST_REDIS, and stops the server afterwards, whatever the command's outcome.
set -euo pipefail
dir=$(mktemp -d)
pidfile=$dir/redis.pid
cleanup() {
	[ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

started=""
for _ in 1 2 3 4 5; do
	port=$(shuf -i 20000-60999 -n 1)
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
		--pidfile "$pidfile" --dir "$dir" --logfile "$dir/redis.log" || continue
	for _ in $(seq 50); do
		if redis-cli -p "$port" ping >/dev/null 2>&1; then started=$port; break; fi
		sleep 0.1
	done
	[ -n "$started" ] && break
	[ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
done
if [ -z "$started" ]; then
	echo "with-redis: redis-server did not start" >&2
	cat "$dir/redis.log" >&2 || true
	exit 1
fi
echo "with-redis: redis-server on 127.0.0.1:$started"
MFA_TEST_REDIS="redis://127.0.0.1:$started" "$@"

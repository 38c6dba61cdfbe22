#!/usr/bin/env bash
# The gate's cost under load. One Caddy (the gateway) serves the same upstream through a plain
# reverse_proxy site and through an mfa-gated site (a 10-statement policy), and wrk sends both the
# very same request: first with a valid MFA session token, then with an MFA session cookie. The
# upstream is a second Caddy process, so the gateway's CPU is the proxy's and the gate's alone,
# and the upstream's CPU says what the gate makes it do (the identity headers it parses). Rounds
# alternate plain-gated, gated-plain ... For each run the script reads each process's own CPU time
# (utime + stime of /proc/PID/stat) and wrk's request count, so it reports CPU per request
# besides throughput; the figure to read is the median over rounds of plain/gated CPU per
# request, each round's pair having run back to back under the same conditions. Last, it takes
# a CPU profile of the gateway under each load, for each credential, and prints the functions
# with the most extra cumulative time in the gated one.
set -euo pipefail
command -v wrk >/dev/null || { echo "loadtest: wrk is needed (apt-get install wrk)" >&2; exit 1; }
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-32}
PROFILE_SECONDS=${PROFILE_SECONDS:-15} # long enough for some thousands of samples on a busy machine

. "$(dirname "$0")/loadsetup.sh"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
per_request() { # ticks requests: microseconds of CPU per request
	awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t / hz * 1e6 / n}'
}
run() { # kind site url header: one wrk run; appends "rps gateway_us upstream_us" to kind-site
	local before up_before out requests rps us up_us
	before=$(cpu_ticks "$caddy_pid") up_before=$(cpu_ticks "$upstream_pid")
	out=$($pin_wrk wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "$4" "$3")
	requests=$(awk '/requests in/ {print $1}' <<<"$out")
	us=$(per_request $(($(cpu_ticks "$caddy_pid") - before)) "$requests")
	up_us=$(per_request $(($(cpu_ticks "$upstream_pid") - up_before)) "$requests")
	rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
	printf '  %-6s %-7s %9s req/s  gateway %6s us CPU/request  upstream %6s  p50 %8s  p99 %8s\n' "$1" "$2" "$rps" "$us" "$up_us" \
		"$(awk '$1 == "50%" {print $2}' <<<"$out")" "$(awk '$1 == "99%" {print $2}' <<<"$out")"
	echo "$rps $us $up_us" >>"$dir/$1-$2"
}
median() { sort -n | awk '{r[NR] = $1} END {m = (NR % 2) ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2; printf "%.3f (from %.3f to %.3f)", m, r[1], r[NR]}'; }

echo "wrk: $ROUNDS rounds of ${DURATION}s per credential, $CONNECTIONS connections, alternating${pin_caddy:+ (caddy on core 1, wrk on core 0)}"
for kind in token cookie; do
	header=$token
	[ "$kind" = cookie ] && header=$cookie
	sites="plain gated"
	[ "$kind" = token ] && sites="plain headers gated"
	for round in $(seq "$ROUNDS"); do
		order=$sites
		[ $((round % 2)) = 0 ] && order=$(tr ' ' '\n' <<<"$sites" | tac | tr '\n' ' ')
		for site in $order; do
			run "$kind" "$site" "http://localhost:${!site}/items/42" "$header"
		done
	done
	echo "$kind: plain/gated CPU per request, median $(paste "$dir/$kind-plain" "$dir/$kind-gated" | awk '{print $2 / $5}' | median)"
	echo "$kind: gated/plain requests/s,     median $(paste "$dir/$kind-gated" "$dir/$kind-plain" | awk '{print $1 / $4}' | median)"
	echo "$kind: the upstream's plain/gated CPU per request (what the gate makes it parse), median $(paste "$dir/$kind-plain" "$dir/$kind-gated" | awk '{print $3 / $6}' | median)"
	if [ "$kind" = token ]; then
		echo "$kind: plain-with-the-gate's-headers/gated CPU per request (header_up's placeholders cost about what the gate does: instructions.sh counts the gate apart), median $(paste "$dir/$kind-headers" "$dir/$kind-gated" | awk '{print $2 / $5}' | median)"
	fi
done

# Profiles of the gateway under each load; the diff lists what the gated site spends more
# cumulative time on (both runs keep the gateway's core busy, so the totals match). The frames
# of Caddy's own routing and of the mfa handler are hidden: the gated route nests the proxy one
# handler deeper, and without this the diff would list the same work twice, once as missing
# from the plain stacks and once as extra under the mfa handler.
profile() { # name url header
	curl -sSf -o "$dir/$1.prof" "http://localhost:$admin/debug/pprof/profile?seconds=$PROFILE_SECONDS" &
	local p=$!
	$pin_wrk wrk -t1 -c"$CONNECTIONS" -d"$((PROFILE_SECONDS + 1))s" -H "$3" "$2" >/dev/null
	wait "$p"
}
hidden='modules/caddyhttp\.|caddymodule\.\(\*Handler\)\.ServeHTTP'
for kind in token cookie; do
	header=$token
	[ "$kind" = cookie ] && header=$cookie
	profile "$kind-plain" "http://localhost:$plain/items/42" "$header"
	profile "$kind-gated" "http://localhost:$gated/items/42" "$header"
	echo "CPU profile, gated minus plain ($kind), top functions by extra cumulative time:"
	go tool pprof -top -cum -nodecount 25 -hide "$hidden" -diff_base "$dir/$kind-plain.prof" "$dir/caddy" "$dir/$kind-gated.prof" 2>/dev/null | sed -n '/flat%/,$p'
	echo "The gate's own share of the gated profile ($kind; the gate, canonical and web packages, below Caddy's handler):"
	go tool pprof -top -cum -nodecount 12 -focus 'caddy-mfa/(gate|canonical|web)\.' "$dir/caddy" "$dir/$kind-gated.prof" 2>/dev/null |
		grep -E 'Showing nodes|caddy-mfa/(gate|canonical|web|auth|policy|session)\.' | head -8 || true
done
if [ -n "${PROFILES:-}" ]; then
	mkdir -p "$PROFILES" && cp "$dir/caddy" "$dir"/*.prof "$PROFILES/"
fi

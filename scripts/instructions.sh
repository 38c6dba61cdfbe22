#!/usr/bin/env bash
# The gate's cost counted in instructions, which the machine's other tenants cannot change. The
# gateway and the upstream of loadtest.sh run under Valgrind's Callgrind with the garbage
# collector off (a collection would land in one window and not the next); each site gets the
# same N requests over one warm connection, and for each the script reports the user-space
# instructions both processes executed per request, with the bytes and objects the gateway
# allocated per request (what the collector will be charged for). Then, for each credential, the
# gate's own instructions (its calls of gate.(*Gate).Serve) and the functions whose own
# instructions grew most from the plain site to the gated one: where the gated request's extra
# work goes. Each window runs twice, in alternating order, and the two agree within about 1 %.
# N=1000 by default; KEEP=1 keeps the dumps.
set -euo pipefail
export LC_ALL=C # read -N counts bytes
for tool in valgrind callgrind_control; do
	command -v "$tool" >/dev/null || { echo "instructions: $tool is needed (apt-get install valgrind)" >&2; exit 1; }
done
N=${N:-1000}
out=$(mktemp -d)
grind() { echo "env GOGC=off GODEBUG=asyncpreemptoff=1 valgrind -q --tool=callgrind --callgrind-out-file=$out/$1.%p"; }
RUN_GATEWAY=$(grind gateway) RUN_UPSTREAM=$(grind upstream)
. "$(dirname "$0")/loadsetup.sh"
trap 'kill $caddy_pid $upstream_pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"; [ -n "${KEEP:-}" ] || rm -rf "$out"' EXIT

memstat() { curl -sf "http://localhost:$admin/debug/vars" | jq -r ".memstats.$1"; }
# request port header: one request on connection 3 (to port), read to its end; fails unless it
# is answered 200 with a Content-Length. The request goes in one write: printf writes line by
# line, and Nagle's algorithm then holds each line for the server's delayed ACK (40 ms).
request() {
	local req status line length=""
	printf -v req 'GET /items/42 HTTP/1.1\r\nHost: localhost:%s\r\n%s\r\nAccept: */*\r\n\r\n' "$1" "$2"
	echo -n "$req" >&3
	IFS= read -r status <&3
	while IFS= read -r line <&3 && [ "$line" != $'\r' ]; do
		case ${line,,} in content-length:*) length=${line#*:} length=${length//[!0-9]/} ;; esac
	done
	[[ $status == "HTTP/1.1 200"* && -n $length ]] || { echo "instructions: answered ${status%$'\r'} (length ${length:-none})" >&2; exit 1; }
	read -r -N "$length" line <&3 || true
}
send() { # port header count
	for ((i = 0; i < $3; i++)); do request "$1" "$2"; done
}
# window kind site port header: counts one site's requests; appends a line to kind-site. All of
# a window's requests go over one connection, warmed first: the goroutine that serves a new
# connection grows its stack in its first requests, and Callgrind, which follows one call stack
# per thread, loses its place among goroutines when a stack moves (the gate's inclusive count
# then took in other work).
window() {
	local bytes mallocs
	exec 3<>"/dev/tcp/127.0.0.1/$3"
	send "$3" "$4" 50 # warm: the connection's goroutine, the caches
	bytes=$(memstat TotalAlloc) mallocs=$(memstat Mallocs)
	# Ten requests between the memstats call and the count, so that its handler has finished.
	send "$3" "$4" 10
	callgrind_control -z "$caddy_pid" >/dev/null 2>&1 && callgrind_control -z "$upstream_pid" >/dev/null 2>&1
	send "$3" "$4" "$N"
	callgrind_control -d "$caddy_pid" >/dev/null 2>&1 && callgrind_control -d "$upstream_pid" >/dev/null 2>&1
	bytes=$((($(memstat TotalAlloc) - bytes) * N / (N + 10))) mallocs=$((($(memstat Mallocs) - mallocs) * N / (N + 10)))
	exec 3<&-
	local g u
	g=$(latest gateway) u=$(latest upstream)
	profile "$g" >"$out/$1-$2.profile"
	echo "$(total "$g") $(total "$u") $bytes $mallocs $(own "$1-$2")" >>"$out/$1-$2"
	printf '  %-6s %-7s gateway %9s instructions/request  upstream %9s  gateway allocates %6s B in %4s objects/request\n' "$1" "$2" \
		$(($(total "$g") / N)) $(($(total "$u") / N)) $((bytes / N)) $((mallocs / N))
}
latest() { # process: its newest dump (name.PID.N)
	printf '%s\n' "$out/$1".*.* | awk -F. '{print $NF, $0}' | sort -n | tail -1 | cut -d' ' -f2-
}
total() { awk '/^totals:/ {print $2}' "$1"; }
# profile dump: from a Callgrind dump itself, "self<TAB>instructions<TAB>function" for each
# function (the cost lines that do not follow a calls= line, its recursion levels f'2 merged), and
# "call<TAB>instructions<TAB>calls" for the calls of gate.(*Gate).Serve. callgrind_annotate is no
# help here: among goroutine stacks it counts some functions more than once (past 100 %).
profile() {
	awk '
	function name(s,   id, rest) {
		if (!match(s, /^\([0-9]+\)/)) return s
		id = substr(s, 2, RLENGTH - 2); rest = substr(s, RLENGTH + 2)
		if (rest != "") names[id] = rest
		return names[id]
	}
	/^fn=/ { fn = name(substr($0, 4)); sub(/\047[0-9]+$/, "", fn); next }
	/^cfn=/ { callee = name(substr($0, 5)); next }
	/^calls=/ { calling = 1; split(substr($0, 7), c, " "); calls = c[1]; next }
	/^[0-9+*-]/ {
		if (!calling) self[fn] += $2
		else if (callee ~ /gate\.\(\*Gate\)\.Serve$/) { gate += $2; gateCalls += calls }
		calling = 0
	}
	END {
		for (f in self) print "self\t" self[f] "\t" f
		print "call\t" gate + 0 "\t" gateCalls + 0
	}' "$1"
}
# extra kind: the functions whose own instructions per request grew most from plain to gated
extra() {
	awk -F'\t' -v n="$N" '$1 != "self" {next} FNR == NR {plain[$3] = $2; next} {d = ($2 - plain[$3]) / n; if (d >= 100) printf "%9d  %s\n", d, $3}' \
		"$out/$1-plain.profile" "$out/$1-gated.profile" | sort -rn | awk -v top="${TOP:-20}" 'NR <= top' # reads all: head would leave sort a broken pipe
}
# own kind-site: the gate's own instructions per request, what its calls of gate.(*Gate).Serve cost.
# A window in which a goroutine's stack grew inside the gate (the cookie session's refresh, once a
# minute, goes deeper) can read many times more: Callgrind charges the work of other goroutines
# to a frame it saw move. Read the lower of the two windows.
own() {
	awk -F'\t' '$1 == "call" {printf "%d", ($3 > 0 ? $2 / $3 : 0)}' "$out/$1.profile"
}

# ratio a b column: site a's figure in column over site b's, for each window of this credential
ratio() {
	paste "$out/$kind-$1" "$out/$kind-$2" | awk -v c="$3" '{printf "%s%.4f", (NR > 1 ? ", " : ""), $c / $(c + NF / 2)}'
}

echo "callgrind (dumps in $out): $N requests a site and credential, twice, alternating"
# One pass that is not counted: the first requests of a process run code the later ones do not
# (the upstream's connections, first-use paths), 2-4 % of a first window.
for site in plain headers gated; do
	exec 3<>"/dev/tcp/127.0.0.1/${!site}"
	send "${!site}" "$token" 100
	send "${!site}" "$cookie" 100
	exec 3<&-
done
for kind in token cookie; do
	header=$token
	[ "$kind" = cookie ] && header=$cookie
	for order in "plain headers gated" "gated headers plain"; do
		for site in $order; do
			window "$kind" "$site" "${!site}" "$header"
		done
	done
	echo "$kind: plain/gated instructions per request, gateway $(ratio plain gated 1); upstream $(ratio plain gated 2)"
	[ "$kind" = token ] && echo "$kind: control/gated (plain with the gate's headers), gateway $(ratio headers gated 1)"
	echo "$kind: the gate's own instructions a request (its calls of gate.(*Gate).Serve), $(awk -v n="$N" '{printf "%s%d of %d", (NR > 1 ? ", " : ""), $5, $1 / n}' "$out/$kind-gated")"
	echo "$kind: the functions whose own instructions grew most, gated minus plain, per request:"
	extra "$kind"
done

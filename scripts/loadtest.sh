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
for tool in wrk oathtool jq; do
	command -v "$tool" >/dev/null || { echo "loadtest: $tool is needed (apt-get install $tool)" >&2; exit 1; }
done
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-32}
PROFILE_SECONDS=${PROFILE_SECONDS:-15} # long enough for some thousands of samples on a busy machine

dir=$(mktemp -d)
caddy_pid="" upstream_pid=""
trap 'kill $caddy_pid $upstream_pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
go build -o "$dir/caddy" ./cmd/caddy
port() { shuf -i 20000-60999 -n 1; }
admin=$(port) plain=$(port) headers=$(port) gated=$(port) upstream=$(port)
key() { head -c 32 /dev/urandom | base64; }

# A realistic route policy: ten statements, the allowing one last (as BenchmarkGateAllow).
{
	printf '{"Version": "2026-11-01", "Statement": ['
	for i in $(seq 0 7); do
		printf '{"Sid": "S%d", "Effect": "Allow", "Action": ["GET", "HEAD"], "Resource": "/svc%d/*", "Condition": {"Bool": {"mfa:Present": "true"}, "StringEquals": {"user:Groups": "team%d"}}},' "$i" "$i" "$i"
	done
	printf '{"Sid": "NoKeysOnAdmin", "Effect": "Deny", "Resource": "/admin/*", "Condition": {"StringNotEquals": {"mfa:Method": "webauthn"}}},'
	printf '{"Sid": "Items", "Effect": "Allow", "Action": "GET", "Resource": "/items/*", "Condition": {"Bool": {"mfa:Present": "true"}, "NumericLessThan": {"mfa:Age": "86400"}}}]}'
} >"$dir/policy.json"

cat >"$dir/Caddyfile" <<CADDY
{
	admin localhost:$admin
	storage file_system $dir/storage
	log {
		level ERROR
	}
	mfa {
		encryption_key $(key)
		signing_keys $(key)
	}
}
http://localhost:$plain {
	bind 127.0.0.1
	reverse_proxy localhost:$upstream
}
# The control: a plain proxy that sends the upstream what the gate sends (its six identity
# headers, no Authorization), so plain-with-headers against gated is the gate's own cost.
http://localhost:$headers {
	bind 127.0.0.1
	reverse_proxy localhost:$upstream {
		header_up X-Mfa-User load
		header_up X-Mfa-Groups team0
		header_up X-Mfa-Auth-Type token
		header_up X-Mfa-Present true
		header_up X-Mfa-Age 42
		header_up X-Mfa-Method virtual
		header_up -Authorization
	}
}
http://localhost:$gated {
	bind 127.0.0.1
	mfa {
		policy $dir/policy.json
	}
	reverse_proxy localhost:$upstream
}
CADDY
cat >"$dir/Upstream" <<CADDY
{
	admin off
	storage file_system $dir/upstream-storage
	log {
		level ERROR
	}
}
http://localhost:$upstream {
	bind 127.0.0.1
	respond "hello from the upstream"
}
CADDY
# Caddy on one core, wrk on the other: the two would otherwise fight over both, and the noise
# would drown the difference being measured.
pin_caddy="" pin_wrk=""
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	pin_caddy="taskset -c 1" pin_wrk="taskset -c 0"
fi
XDG_DATA_HOME=$dir XDG_CONFIG_HOME=$dir GOMAXPROCS=1 $pin_caddy "$dir/caddy" run --config "$dir/Caddyfile" >"$dir/caddy.log" 2>&1 &
caddy_pid=$!
# The upstream shares wrk's core: its CPU time is read apart from the gateway's.
XDG_DATA_HOME=$dir XDG_CONFIG_HOME=$dir GOMAXPROCS=1 $pin_wrk "$dir/caddy" run --config "$dir/Upstream" --adapter caddyfile >"$dir/upstream.log" 2>&1 &
upstream_pid=$!
for _ in $(seq 100); do curl -sf "http://localhost:$admin/config/" >/dev/null && break; sleep 0.1; done

# A user with two virtual devices: an access key and an MFA session token through the CLI with
# the first, an MFA session cookie through the site's API with the second (each device's codes
# are one-time, so each credential gets its own).
cli() { "$dir/caddy" mfa --address "localhost:$admin" "$@"; }
code_at() { oathtool --totp -b --now "$(date -u -d "@$1" '+%Y-%m-%d %H:%M:%S UTC')" "$2"; }
device() { # name: creates and enables a device, prints "serial secret"
	local d serial secret now
	d=$(cli device create-virtual --user load --name "$1")
	serial=$(jq -r .serial <<<"$d") secret=$(jq -r .secret <<<"$d") now=$(date +%s)
	cli device enable --user load --serial "$serial" --code1 "$(code_at $((now - 30)) "$secret")" --code2 "$(code_at "$now" "$secret")" >/dev/null
	echo "$serial $secret"
}
echo "load-password" | cli user add load --group team0 --password-stdin >/dev/null
read -r serial secret < <(device bench)
read -r serial2 secret2 < <(device cookie)
keys=$(cli access-key create --user load)
export MFA_ACCESS_KEY_ID=$(jq -r .access_key_id <<<"$keys") MFA_SECRET_ACCESS_KEY=$(jq -r .secret_access_key <<<"$keys")
eval "$(cli get-session-token --url "http://localhost:$gated" --serial "$serial" --code "$(code_at $(($(date +%s) + 30)) "$secret")")"
csrf=$(curl -sSf -c "$dir/jar" -H 'Content-Type: application/json' -d '{"username":"load","password":"load-password"}' "http://localhost:$gated/.mfa/api/login" | jq -r .csrf_token)
curl -sSf -b "$dir/jar" -c "$dir/jar" -H 'Content-Type: application/json' -H "X-CSRF-Token: $csrf" \
	-d "{\"serial\":\"$serial2\",\"code\":\"$(code_at $(($(date +%s) + 30)) "$secret2")\"}" "http://localhost:$gated/.mfa/api/verify" >/dev/null
cookie="Cookie: $(awk '$6 == "caddy_mfa" {print $6 "=" $7}' "$dir/jar")"
token="Authorization: Bearer $MFA_SESSION_TOKEN"
for cred in "$token" "$cookie"; do
	[ "$(curl -s -o /dev/null -w '%{http_code}' -H "$cred" "http://localhost:$gated/items/42")" = 200 ] || { echo "loadtest: a credential does not pass the gate" >&2; exit 1; }
done

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
		echo "$kind: plain-with-the-gate's-headers/gated CPU per request (the gate's own cost), median $(paste "$dir/$kind-headers" "$dir/$kind-gated" | awk '{print $2 / $5}' | median)"
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

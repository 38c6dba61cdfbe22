#!/usr/bin/env bash
# The gate's cost under load: one Caddy serves the same upstream through a plain reverse_proxy
# site and through an mfa-gated site (a valid MFA session token, a policy that allows), and wrk
# measures both, alternating, on loopback. Prints requests/s, p50 and p99 of each and the ratio.
set -euo pipefail
for tool in wrk oathtool jq; do
	command -v "$tool" >/dev/null || { echo "loadtest: $tool is needed (apt-get install $tool)" >&2; exit 1; }
done
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}

dir=$(mktemp -d)
trap 'kill "$caddy_pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
go build -o "$dir/caddy" ./cmd/caddy
port() { shuf -i 20000-60999 -n 1; }
admin=$(port) plain=$(port) gated=$(port) upstream=$(port)
key() { head -c 32 /dev/urandom | base64; }
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
http://localhost:$upstream {
	bind 127.0.0.1
	respond "hello from the upstream"
}
http://localhost:$plain {
	bind 127.0.0.1
	reverse_proxy localhost:$upstream
}
http://localhost:$gated {
	bind 127.0.0.1
	mfa
	reverse_proxy localhost:$upstream
}
CADDY
# Caddy on one core, wrk on the other: the two would otherwise fight over both, and the noise
# would drown the difference being measured.
pin_caddy="" pin_wrk=""
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	pin_caddy="taskset -c 1" pin_wrk="taskset -c 0"
fi
XDG_DATA_HOME=$dir GOMAXPROCS=1 $pin_caddy "$dir/caddy" run --config "$dir/Caddyfile" >"$dir/caddy.log" 2>&1 &
caddy_pid=$!
for _ in $(seq 100); do curl -sf "http://localhost:$admin/config/" >/dev/null && break; sleep 0.1; done

# A user with a virtual device, an access key and an MFA session token, through the CLI.
cli() { "$dir/caddy" mfa --address "localhost:$admin" "$@"; }
code_at() { oathtool --totp -b --now "$(date -u -d "@$1" '+%Y-%m-%d %H:%M:%S UTC')" "$2"; }
echo "load-password" | cli user add load --password-stdin >/dev/null
device=$(cli device create-virtual --user load --name bench)
serial=$(jq -r .serial <<<"$device") secret=$(jq -r .secret <<<"$device") now=$(date +%s)
cli device enable --user load --serial "$serial" --code1 "$(code_at $((now - 30)) "$secret")" --code2 "$(code_at "$now" "$secret")" >/dev/null
keys=$(cli access-key create --user load)
export MFA_ACCESS_KEY_ID=$(jq -r .access_key_id <<<"$keys") MFA_SECRET_ACCESS_KEY=$(jq -r .secret_access_key <<<"$keys")
eval "$(cli get-session-token --url "http://localhost:$gated" --serial "$serial" --code "$(code_at $((now + 30)) "$secret")")"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $MFA_SESSION_TOKEN" "http://localhost:$gated/")" = 200 ] || { echo "the token does not pass the gate" >&2; exit 1; }

run() { # name url [header]
	local out
	if [ $# -eq 3 ]; then out=$($pin_wrk wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -H "$3" "$2"); else out=$($pin_wrk wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "$2"); fi
	local rps p50 p99
	rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
	p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
	p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
	printf '%-6s %10s req/s   p50 %8s   p99 %8s\n' "$1" "$rps" "$p50" "$p99"
	echo "$rps" >>"$dir/$1.rps"
}
echo "wrk: $ROUNDS rounds of $DURATION, $CONNECTIONS connections, alternating${pin_caddy:+ (caddy on core 1, wrk on core 0)}"
# Both sites get the same request, token included (the plain site proxies it unread), and the
# order alternates (plain-gated, gated-plain ...) so neither always runs on a warmer process.
auth="Authorization: Bearer $MFA_SESSION_TOKEN"
for round in $(seq "$ROUNDS"); do
	if [ $((round % 2)) = 1 ]; then
		run plain "http://localhost:$plain/" "$auth"
		run gated "http://localhost:$gated/" "$auth"
	else
		run gated "http://localhost:$gated/" "$auth"
		run plain "http://localhost:$plain/" "$auth"
	fi
done
avg() { awk '{s += $1} END {printf "%.0f", s / NR}' "$1"; }
plain_avg=$(avg "$dir/plain.rps") gated_avg=$(avg "$dir/gated.rps")
echo "plain $plain_avg req/s, gated $gated_avg req/s: gated/plain = $(awk "BEGIN {printf \"%.3f\", $gated_avg / $plain_avg}") (means)"
# Each round's pair ran back to back, under the same conditions: the median of their ratios
# is the figure least moved by the machine's own swings.
paste "$dir/gated.rps" "$dir/plain.rps" | awk '{print $1 / $2}' | sort -n |
	awk '{r[NR] = $1} END {m = (NR % 2) ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2; printf "gated/plain per round: median %.3f (from %.3f to %.3f)\n", m, r[1], r[NR]}'

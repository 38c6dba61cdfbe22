# Sourced by loadtest.sh and instructions.sh: builds Caddy, starts the gateway (a plain
# reverse_proxy site, a control site that sends the gate's identity headers, and an mfa-gated
# site with a 10-statement policy) and the upstream (a second Caddy), and makes the two
# credentials every measurement sends: $token (an MFA session token's Authorization line) and
# $cookie (an MFA session cookie's Cookie line). It leaves $dir, the ports ($plain, $headers,
# $gated, $admin), the processes ($caddy_pid, $upstream_pid) and $pin_wrk.
for tool in oathtool jq; do
	command -v "$tool" >/dev/null || { echo "${0##*/}: $tool is needed (apt-get install $tool)" >&2; exit 1; }
done

dir=$(mktemp -d)
caddy_pid="" upstream_pid=""
trap 'kill $caddy_pid $upstream_pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
go build -o "$dir/caddy" ./cmd/caddy
port() { shuf -i 20000-60999 -n 1; }
admin=$(port) plain=$(port) headers=$(port) gated=$(port) upstream=$(port) upstream_admin=$(port)
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
# headers, no Authorization) through header_up, whose placeholders cost about what the gate
# does (instructions.sh): so control against gated does not isolate the gate.
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
	admin localhost:$upstream_admin
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
# would drown the difference being measured. RUN_GATEWAY and RUN_UPSTREAM go before each Caddy's
# command line (instructions.sh runs both under Callgrind).
pin_caddy="" pin_wrk=""
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	pin_caddy="taskset -c 1" pin_wrk="taskset -c 0"
fi
XDG_DATA_HOME=$dir XDG_CONFIG_HOME=$dir GOMAXPROCS=1 $pin_caddy ${RUN_GATEWAY:-} "$dir/caddy" run --config "$dir/Caddyfile" >"$dir/caddy.log" 2>&1 &
caddy_pid=$!
# The upstream shares wrk's core: its CPU time is read apart from the gateway's.
XDG_DATA_HOME=$dir XDG_CONFIG_HOME=$dir GOMAXPROCS=1 $pin_wrk ${RUN_UPSTREAM:-} "$dir/caddy" run --config "$dir/Upstream" --adapter caddyfile >"$dir/upstream.log" 2>&1 &
upstream_pid=$!
# Both ready before the first request: under Valgrind each takes seconds to start, and the
# upstream's admin endpoint is there to say when it has.
for a in "$admin" "$upstream_admin"; do
	for _ in $(seq 600); do curl -sf "http://localhost:$a/config/" >/dev/null && break; sleep 0.1; done
done

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

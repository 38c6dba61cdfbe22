#!/usr/bin/env bash
# AWS's "requesting MFA-protected credentials" sample, against the caddy-mfa demo.
#
#   go run ./cmd/caddy run --config Caddyfile.example     # in another terminal
#   examples/mfa-session.sh                                # needs curl, jq, oathtool
#
# Setup (as the demo user, in the site's API): sign in, create a virtual MFA device, enable it
# with two consecutive codes, create an access key. Then the API consumer's part: a call with the
# access key alone is refused with an MFA challenge; GetSessionToken with the device's serial and
# a code gives a session token; the same call with the token succeeds.
set -euo pipefail

SITE=${SITE:-http://localhost:8080}
API=$SITE/.mfa/api
USER_NAME=${USER_NAME:-demo}
PASSWORD=${PASSWORD:-demo}
jar=$(mktemp)
trap 'rm -f "$jar"' EXIT

for tool in curl jq oathtool; do
	command -v "$tool" >/dev/null || { echo "$tool is needed (Debian: apt-get install $tool)" >&2; exit 1; }
done

post() { # path json [extra curl args...]
	local path=$1 body=$2; shift 2
	curl -sS -b "$jar" -c "$jar" -H 'Content-Type: application/json' -d "$body" "$@" "$API$path"
}
code_at() { oathtool --totp -b --now "$(date -u -d "@$1" '+%Y-%m-%d %H:%M:%S UTC')" "$2"; }

echo "== setup: sign in as $USER_NAME, enrol a virtual MFA device, create an access key"
csrf=$(post /login "{\"username\":\"$USER_NAME\",\"password\":\"$PASSWORD\"}" | jq -er .csrf_token)
device=$(post /devices/virtual '{"name":"sample"}' -H "X-CSRF-Token: $csrf")
serial=$(jq -er .serial <<<"$device")
secret=$(jq -er .secret <<<"$device")
now=$(date +%s)
# Two consecutive codes, as the app shows them 30 s apart.
enabled=$(post "/devices/$serial/enable" "{\"code1\":\"$(code_at $((now - 30)) "$secret")\",\"code2\":\"$(code_at "$now" "$secret")\"}" -H "X-CSRF-Token: $csrf")
csrf=$(jq -er .csrf_token <<<"$enabled")
keys=$(post /access-keys '{}' -H "X-CSRF-Token: $csrf")
key_id=$(jq -er .access_key_id <<<"$keys")
key_secret=$(jq -er .secret_access_key <<<"$keys")
echo "device $serial, access key $key_id"

echo "== the call with the access key alone is refused"
status=$(curl -s -o /dev/null -w '%{http_code}' -u "$key_id:$key_secret" "$SITE/")
challenge=$(curl -s -D - -o /dev/null -u "$key_id:$key_secret" "$SITE/" | grep -i '^www-authenticate' | tr -d '\r')
echo "HTTP $status; $challenge"
[ "$status" = 401 ] || { echo "expected 401" >&2; exit 1; }

echo "== GetSessionToken with the device's serial and its next code"
token=$(curl -sS -u "$key_id:$key_secret" -H 'Content-Type: application/json' \
	-d "{\"serial\":\"$serial\",\"code\":\"$(code_at $((now + 30)) "$secret")\",\"duration_seconds\":3600}" \
	"$API/session-token")
session_token=$(jq -er .session_token <<<"$token")
echo "token expires $(jq -r .expiration <<<"$token"), mfa_authenticated=$(jq -r .mfa_authenticated <<<"$token")"

echo "== the same call with the session token"
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $session_token" "$SITE/")
echo "HTTP $status"
[ "$status" = 200 ] || { echo "expected 200" >&2; exit 1; }
curl -sS -H "Authorization: Bearer $session_token" "$API/whoami" | jq -c .
echo "SAMPLE OK"

#!/usr/bin/env bash
# AWS's "requesting MFA-protected credentials" sample, against the caddy-mfa demo.
#
#   go run ./cmd/caddy run --config Caddyfile.example     # in another terminal
#   examples/mfa-session.sh                                # needs curl, jq, oathtool
#
# Setup, on the first run (as the demo user, in the site's API): sign in, create a virtual MFA
# device, enable it with two consecutive codes, create an access key. It keeps what it made in
# $STATE (mode 0600; default ~/.local/state/caddy-mfa-demo/mfa-session.env) and prints the
# exports that examples/getsessiontoken needs. Later runs reuse them, so the script runs again
# and again against one demo. For a fresh demo (see the README: stop Caddy, delete the mfa/
# folders of its data and config directories, start it), the script notices that the saved key
# no longer works and sets up again.
#
# Settings, from the environment: SITE (default http://localhost:8080, the demo's), USER_NAME and
# PASSWORD (demo, demo), STATE (the file above).
#
# Then the API consumer's part: a call with the access key alone is refused with an MFA
# challenge; GetSessionToken with the device's serial and a code gives a session token; the same
# call with the token succeeds. The seed and the key are the demo's: never do this with real ones.
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

STATE=${STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/caddy-mfa-demo/mfa-session.env}

setup() {
	echo "== setup: sign in as $USER_NAME, enrol a virtual MFA device, create an access key"
	local login csrf device now enabled keys
	login=$(post /login "{\"username\":\"$USER_NAME\",\"password\":\"$PASSWORD\"}")
	csrf=$(jq -er .csrf_token <<<"$login") || { echo "sign-in failed: $login" >&2; exit 1; }
	device=$(post /devices/virtual '{"name":"sample"}' -H "X-CSRF-Token: $csrf")
	if ! serial=$(jq -er .serial <<<"$device"); then
		echo "creating the device failed: $device" >&2
		echo "$USER_NAME already has a device that $STATE does not record (enrolled in the browser?): start a fresh demo (stop Caddy, delete the mfa/ folders of its data and config directories, start it again; see the README) or point STATE at the file of the run that made it" >&2
		exit 1
	fi
	secret=$(jq -er .secret <<<"$device")
	now=$(date +%s)
	# Two consecutive codes, as the app shows them 30 s apart.
	enabled=$(post "/devices/$serial/enable" "{\"code1\":\"$(code_at $((now - 30)) "$secret")\",\"code2\":\"$(code_at "$now" "$secret")\"}" -H "X-CSRF-Token: $csrf")
	csrf=$(jq -er .csrf_token <<<"$enabled") || { echo "enabling the device failed: $enabled" >&2; exit 1; }
	keys=$(post /access-keys '{}' -H "X-CSRF-Token: $csrf")
	key_id=$(jq -er .access_key_id <<<"$keys") || { echo "creating the access key failed: $keys" >&2; exit 1; }
	key_secret=$(jq -er .secret_access_key <<<"$keys")
	mkdir -p "$(dirname "$STATE")"
	(umask 077; printf 'SITE_OF_STATE=%q\nserial=%q\nsecret=%q\nkey_id=%q\nkey_secret=%q\n' "$SITE" "$serial" "$secret" "$key_id" "$key_secret" >"$STATE")
}

# A saved setup that no longer works (a fresh demo) is set up again.
serial="" key_id=""
if [ -f "$STATE" ]; then
	# shellcheck disable=SC1090
	. "$STATE"
	status=$(curl -s -o /dev/null -w '%{http_code}' -u "$key_id:$key_secret" "$SITE/")
	if [ "$SITE_OF_STATE" != "$SITE" ] || [ "$status" != 401 ] || ! curl -s -D - -o /dev/null -u "$key_id:$key_secret" "$SITE/" | grep -qi 'insufficient_user_authentication'; then
		echo "== $STATE is from another demo: setting up again"
		serial="" key_id=""
	fi
fi
[ -n "$serial" ] && echo "== reusing the setup in $STATE" || setup
echo "device $serial, access key $key_id"

echo "== the call with the access key alone is refused"
status=$(curl -s -o /dev/null -w '%{http_code}' -u "$key_id:$key_secret" "$SITE/")
challenge=$(curl -s -D - -o /dev/null -u "$key_id:$key_secret" "$SITE/" | grep -i '^www-authenticate' | tr -d '\r')
echo "HTTP $status; $challenge"
[ "$status" = 401 ] || { echo "expected 401" >&2; exit 1; }

echo "== GetSessionToken with the device's serial and a fresh code"
# Each code works once: a run soon after another tries the following time steps.
now=$(date +%s) session_token=""
for ahead in 30 60 90; do
	token=$(curl -sS -u "$key_id:$key_secret" -H 'Content-Type: application/json' \
		-d "{\"serial\":\"$serial\",\"code\":\"$(code_at $((now + ahead)) "$secret")\",\"duration_seconds\":3600}" \
		"$API/session-token")
	session_token=$(jq -r '.session_token // empty' <<<"$token")
	[ -n "$session_token" ] && break
	echo "code of +${ahead}s refused: $(jq -c .error <<<"$token")"
done
[ -n "$session_token" ] || { echo "no code was accepted" >&2; exit 1; }
echo "token expires $(jq -r .expiration <<<"$token"), mfa_authenticated=$(jq -r .mfa_authenticated <<<"$token")"
# A device accepts only codes of steps after the last it accepted, and this run used the step of
# now+ahead: the next code that works is the one shown from the following step on.
next_code_at=$(( ((now + ahead) / 30 + 1) * 30 ))

echo "== the same call with the session token"
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $session_token" "$SITE/")
echo "HTTP $status"
[ "$status" = 200 ] || { echo "expected 200" >&2; exit 1; }
curl -sS -H "Authorization: Bearer $session_token" "$API/whoami" | jq -c .
echo "SAMPLE OK"
echo
echo "Next, examples/getsessiontoken (the demo's key and seed, shown for the sample):"
echo "  export MFA_ACCESS_KEY_ID=$key_id MFA_SECRET_ACCESS_KEY=$key_secret"
echo "  go run ./examples/getsessiontoken -url $SITE -serial $serial -code \$(oathtool --totp -b $secret)"
echo "from $(date -d "@$next_code_at" '+%H:%M:%S') on: this run spent the codes until then."

#!/usr/bin/env bash
# Builds Caddy with xcaddy from this checkout, exactly as xcaddy.md shows, and checks that the
# result carries every caddy-mfa module and adapts the demo config. Slow (xcaddy compiles all of
# Caddy with -trimpath, 15 minutes or more on a busy two-core machine), so .ci/run calls it after
# make test rather than make test itself.
set -euo pipefail
cd "$(dirname "$0")/.."
XCADDY_VERSION="${XCADDY_VERSION:-v0.4.5}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
# The documented local-checkout form: a version on the module path, so that go does not ask the
# module proxy for a module that is not published.
go run "github.com/caddyserver/xcaddy/cmd/xcaddy@${XCADDY_VERSION}" build \
	--output "$out/caddy" \
	--with "github.com/caddy-mfa/caddy-mfa@v0.0.0=$PWD"
modules="$("$out/caddy" list-modules)"
for m in mfa http.handlers.mfa admin.api.mfa; do
	grep -qx "$m" <<<"$modules" || { echo "xcaddy build: module $m is missing"; exit 1; }
done
"$out/caddy" adapt --config Caddyfile.example >/dev/null
"$out/caddy" mfa --help >/dev/null
echo "xcaddy build from a local checkout: ok"

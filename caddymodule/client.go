package caddymodule

import (
	"net/http"
	"net/netip"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// clientIP is Caddy's idea of the client address, which honours trusted proxies.
func clientIP(r *http.Request) netip.Addr {
	s, _ := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string)
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// clientSecure reports whether the client reached the site over HTTPS. Behind a proxy that
// Caddy trusts (the server's trusted_proxies), that proxy's X-Forwarded-Proto says so, as
// Caddy's reverse_proxy trusts it: TLS often ends there. From anyone else the header is the
// client's own word and counts for nothing, and so does a value that is neither http nor https.
// Where reverse_proxy passes a list on whole ("https, http"), the gate takes its last entry, the
// nearest proxy's: "http" there is the stricter reading.
func clientSecure(r *http.Request) bool {
	// The header first: most requests carry none, and they spare the walk up the context to
	// Caddy's variables, on every gated request.
	proto := forwardedProto(r.Header)
	if proto != "https" && proto != "http" {
		return r.TLS != nil
	}
	if trusted, _ := caddyhttp.GetVar(r.Context(), caddyhttp.TrustedProxyVarKey).(bool); trusted {
		return proto == "https"
	}
	return r.TLS != nil
}

// forwardedProto is the scheme the nearest proxy forwarded, lower case: the last X-Forwarded-Proto
// value, since a proxy that appends puts its own last.
func forwardedProto(h http.Header) string {
	values := h["X-Forwarded-Proto"] // the name is canonical: Values would check it every request
	if len(values) == 0 {
		return ""
	}
	last := values[len(values)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	return strings.ToLower(strings.TrimSpace(last))
}

// Package store defines where caddy-mfa keeps its records and how secrets in them are sealed.
//
// A Store holds opaque values under slash-separated keys. Backends live in sub-packages
// (caddystore for Caddy's configured storage, redisstore for clusters) and all pass the one
// conformance suite in storetest. This package must never import Caddy or any other project package:
// everything above it depends on it, never the reverse.
package store

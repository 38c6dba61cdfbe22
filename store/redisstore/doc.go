// Package redisstore keeps caddy-mfa's records in Redis, for clusters of Caddy nodes: a single
// node, Sentinel or Cluster through go-redis's UniversalClient. Update is atomic across nodes
// (WATCH/MULTI, retried on conflict), so one-time codes, lockout counts, recovery codes and
// WebAuthn ceremonies hold on every node at once.
//
// Every record is one key, and every command, script and transaction here touches exactly one
// key, so each runs on the master that owns the key's slot and a Cluster spreads the records
// over all its masters. It must never send a command over two keys: on a Cluster they would
// have to share a slot (a hash tag such as {user}), which pins every record of the tag to one
// master. List reads a set per folder (index.go), kept beside the records in the order that
// leaves, after any crash, a stale member at worst and never a record List cannot see; only
// the index's one-time build and a prefix without "/" visit every master.
package redisstore

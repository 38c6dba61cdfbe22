// Package throttle bounds how often password and factor attempts may come: per source address
// (PerAddress), and per account from any address (PerAccount). Token buckets in bounded LRUs,
// so a flood of addresses or names costs bounded memory; they outlive a config reload (the
// Caddy app pools them). It knows nothing of requests or users' records: auth takes attempts
// from it before any password or code is checked.
package throttle

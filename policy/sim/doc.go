// Package sim describes requests to the policy engine as operators write them, and runs those
// descriptions: the simulator's request and context keys (a key left out is absent), policy
// test cases with their JUnit report, and the replay of a Caddy access log through two policy
// sets. The admin API's simulator and the `caddy mfa policy` commands share it, so a case
// decides the same on a laptop, in CI and against a live site.
//
// It works on descriptions only: it must never read a credential, and imports no Caddy.
package sim

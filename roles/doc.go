// Package roles holds the roles an operator declares (STS's roles, carried over to HTTP): who
// may take one on (its trust policy), what its tokens may do (its own session policy), and for
// how long. The caddymodule builds them from the app config; auth's AssumeRole mints their
// tokens; the gate narrows a role token by the role's policy.
//
// It must never touch storage or HTTP: roles are configuration, read on the request path.
package roles

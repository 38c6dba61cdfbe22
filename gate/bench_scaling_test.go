package gate_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/gate"
	"github.com/caddy-mfa/caddy-mfa/internal/housetest"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/session"
	"github.com/caddy-mfa/caddy-mfa/store"
	"github.com/caddy-mfa/caddy-mfa/store/caddystore"
)

// How the allow path's cost grows with what an operator and the users pile up: the policy's
// statements, and the revocation list every node holds. Each is a table of sub-benchmarks, so
// `go test -bench Scaling` prints one row per size.

// BenchmarkGateAllowPolicySize is the allow path (Bearer token) with 1, 10, 100 and 1,000
// statements, the allowing one last: every statement before it is looked at.
func BenchmarkGateAllowPolicySize(b *testing.B) {
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("statements=%d", n), func(b *testing.B) {
			e := newEnv(b, func(o *gate.Options, _ *auth.Config, _ *auth.Deps) { o.Policy = scaledPolicy(b, n) })
			benchAllow(b, e)
		})
	}
}

// BenchmarkGateAllowRevocations is the allow path (Bearer token, ten statements) with 0, 1,000
// and 100,000 entries in the revocation list, one of them the caller's own (an older
// revoke-sessions: her token, issued after it, still holds).
func BenchmarkGateAllowRevocations(b *testing.B) {
	for _, n := range []int{0, 1000, 100_000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			var lastSignIn session.SessionID
			e := newEnv(b, func(o *gate.Options, _ *auth.Config, d *auth.Deps) {
				o.Policy = scaledPolicy(b, 10)
				lastSignIn = storeRevocations(b, d.Store, d.Now(), n)
			})
			checkRevocations(b, e.Ops.Revocations, e.Clock.Now(), n, lastSignIn)
			benchAllow(b, e)
		})
	}
}

// BenchmarkRevocationListUpkeep is what the list costs off the request path as it grows: the
// reload every node runs every poll interval (read and merge the whole list), and one
// revocation (the whole list read, merged and written back to Caddy's file storage).
func BenchmarkRevocationListUpkeep(b *testing.B) {
	for _, n := range []int{0, 1000, 100_000} {
		b.Run(fmt.Sprintf("reload/entries=%d", n), func(b *testing.B) {
			rv := revocationList(b, fixedNow, n)
			b.ReportAllocs()
			for b.Loop() {
				if err := rv.Reload(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("revoke/entries=%d", n), func(b *testing.B) {
			c := housetest.NewClock(fixedNow())
			rv := revocationList(b, c.Now, n)
			b.ReportAllocs()
			for b.Loop() {
				// A later revocation of the same user: the list keeps its size, and is written.
				c.Advance(time.Millisecond)
				if err := rv.RevokeUser(context.Background(), "alice"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchAllow runs alice's request through the gate with a valid MFA session token.
func benchAllow(b *testing.B, e *env) {
	now := e.Clock.Now()
	claims := session.Claims{User: "alice", Groups: []string{"dev"}, Issued: now, SignedIn: now, Expires: now.Add(time.Hour),
		MFATime: now.Add(-5 * time.Minute), Method: "virtual"}
	tok, err := e.Ops.Ring.Sign(&claims)
	if err != nil {
		b.Fatal(err)
	}
	runAllow(b, e, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) })
}

// scaledPolicy is n statements, the allowing one last. The others are the shape of a real route
// policy (as in BenchmarkGateAllow's ten): reads of other services under group and MFA
// conditions, and every ninth a Deny of another admin area. Documents hold at most 100
// statements each, as an operator's several policy files would (one document has a size limit).
func scaledPolicy(b *testing.B, n int) *policy.Set {
	var docs []*policy.Document
	var sb strings.Builder
	flush := func() {
		raw := `{"Statement": [` + strings.TrimSuffix(sb.String(), ",") + `]}`
		d, err := policy.Parse(fmt.Sprintf("bench%d.json", len(docs)), []byte(raw))
		if err != nil {
			b.Fatal(err)
		}
		docs = append(docs, d)
		sb.Reset()
	}
	for i := range n - 1 {
		if i%9 == 8 {
			fmt.Fprintf(&sb, `{"Sid": "Deny%d", "Effect": "Deny", "Resource": "/admin%d/*", "Condition": {"StringNotEquals": {"mfa:Method": "webauthn"}}},`, i, i)
		} else {
			fmt.Fprintf(&sb, `{"Sid": "S%d", "Effect": "Allow", "Action": ["GET", "HEAD"], "Resource": "/svc%d/*", "Condition": {"Bool": {"mfa:Present": "true"}, "StringEquals": {"user:Groups": "team%d"}}},`, i, i, i)
		}
		if i%100 == 99 {
			flush()
		}
	}
	sb.WriteString(`{"Sid": "Items", "Effect": "Allow", "Action": "GET", "Resource": "/items/*", "Condition": {"Bool": {"mfa:Present": "true"}, "NumericLessThan": {"mfa:Age": "3600"}}}`)
	flush()
	s, err := policy.Compile(docs...)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// fixedNow is the harness's starting time, for benchmarks that need no gate.
func fixedNow() time.Time { return housetest.Start }

// revocationList is a revocation list of n entries in a file store of its own, half users and
// half sign-ins, all still in force, alice among the users with a revocation older than her
// token. The list is written whole and reloaded (n revocations one by one would each rewrite
// the growing list); the checks after make sure the list read is the one written.
func revocationList(b *testing.B, clock func() time.Time, n int) *session.Revocations {
	ctx := context.Background()
	st := caddystore.New(&certmagic.FileStorage{Path: b.TempDir()}, "mfa")
	lastSignIn := storeRevocations(b, st, clock(), n)
	rv := session.NewRevocations(st, clock, 48*time.Hour)
	if err := rv.Reload(ctx); err != nil {
		b.Fatal(err)
	}
	checkRevocations(b, rv, clock(), n, lastSignIn)
	return rv
}

// storeRevocations writes that list into st, and returns the last sign-in it holds.
func storeRevocations(b *testing.B, st store.Store, now time.Time, n int) (lastSignIn session.SessionID) {
	users, signIns := map[string]int64{}, map[string]int64{}
	for i := range n {
		if i%2 == 0 {
			users[fmt.Sprintf("user%d", i)] = now.Add(-time.Minute).UnixMilli()
			continue
		}
		lastSignIn = session.NewSessionID()
		signIns[hex.EncodeToString(lastSignIn[:])] = now.Add(time.Hour).UnixMilli()
	}
	if n > 0 {
		users["alice"] = now.Add(-time.Hour).UnixMilli()
	}
	raw, err := json.Marshal(map[string]any{"users": users, "sign_ins": signIns})
	if err != nil {
		b.Fatal(err)
	}
	if err := st.Put(context.Background(), "revocations", raw); err != nil {
		b.Fatal(err)
	}
	return lastSignIn
}

// checkRevocations makes sure the list read is the one written.
func checkRevocations(b *testing.B, rv *session.Revocations, now time.Time, n int, lastSignIn session.SessionID) {
	if n > 0 && !rv.Revoked(&session.Claims{User: "user0", Issued: now.Add(-2 * time.Minute)}) {
		b.Fatal("the revocation list did not load: user0 is not revoked")
	}
	if n > 1 && !rv.Revoked(&session.Claims{User: "nobody", SignInID: lastSignIn, Issued: now}) {
		b.Fatal("the revocation list did not load: a sign-in is not revoked")
	}
	if rv.Revoked(&session.Claims{User: "alice", Issued: now}) {
		b.Fatal("alice's fresh token reads as revoked")
	}
}

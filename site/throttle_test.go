package site_test

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/gate"
	"github.com/caddy-mfa/caddy-mfa/throttle"
)

func TestSignInIsThrottledPerAddress(t *testing.T) {
	e := newEnv(t, func(_ *gate.Options, _ *auth.Config, d *auth.Deps) {
		d.Throttle = throttle.NewPerAddress(5, time.Minute, d.Now)
	})
	for i := range 5 {
		if r := e.Client().Login("nobody", "guess"); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, r.StatusCode)
		}
	}
	r := e.Client().Login("alice", testPassword)
	if r.StatusCode != http.StatusTooManyRequests || r.ErrorCode() != auth.CodeThrottled || r.Header.Get("Retry-After") != "60" {
		t.Fatalf("the 6th attempt from one address: %d %s %q", r.StatusCode, r.Body, r.Header.Get("Retry-After"))
	}
	e.Clock.Advance(time.Minute)
	if r := e.Client().Login("alice", testPassword); r.StatusCode != http.StatusOK {
		t.Fatalf("after a minute: %d", r.StatusCode)
	}
}

// TestBogusTokenFloodIsBounded: made-up Bearer tokens and unknown access keys leave nothing
// behind (only verified credentials are cached), so a flood costs no memory that stays.
func TestBogusTokenFloodIsBounded(t *testing.T) {
	e := newEnv(t)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const n = 100_000
	var b [16]byte
	r := httptest.NewRequest("GET", "/app", nil)
	w := httptest.NewRecorder()
	for i := range n {
		binary.BigEndian.PutUint64(b[:], uint64(i))
		r.Header.Set("Authorization", "Bearer AQ"+hex.EncodeToString(b[:])+"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
		if _, ok := e.Gate.Check(w, r); ok {
			t.Fatal("a made-up token passed")
		}
		if i%1000 == 0 {
			w = httptest.NewRecorder()
		}
		id := fmt.Sprintf("MKIA%016X", i)[:20]
		r.SetBasicAuth(id, "secret-secret-secret-secret-secret-secre")
		if _, ok := e.Gate.Check(w, r); ok {
			t.Fatal("a made-up access key passed")
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d made-up tokens and %d made-up access keys: heap grew %.1f MiB", n, n, float64(grown)/(1<<20))
	if grown > 8<<20 {
		t.Fatalf("heap grew %d bytes for credentials that verified nothing", grown)
	}
}

package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/session"
)

// BenchmarkGateAllow is the request path when the gate lets a request through: credential
// verified, policy evaluated, identity headers set.
func BenchmarkGateAllow(b *testing.B) {
	e := newEnv(b)
	now := e.clock.now()
	claims := session.Claims{User: "alice", Groups: []string{"dev"}, Issued: now, SignedIn: now, Expires: now.Add(time.Hour), MFATime: now, Method: "virtual"}
	tok, _ := e.svc.Ring.Sign(&claims)
	w := httptest.NewRecorder()
	_ = e.svc.Cookies.Write(w, httptest.NewRequest("GET", "/", nil), claims)
	cookie := w.Result().Cookies()[0]

	for _, bc := range []struct {
		name string
		set  func(*http.Request)
	}{
		{"token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }},
		{"cookie", func(r *http.Request) { r.AddCookie(cookie) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "http://app.example.com/items/42", nil)
			r.RemoteAddr = "192.0.2.1:5000"
			bc.set(r)
			rec := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := e.gate.Check(rec, r); !ok {
					b.Fatal("refused")
				}
			}
		})
	}
}

package session

import (
	"bytes"
	"net/http/httptest"
	"testing"
	"time"
)

func BenchmarkVerifyToken(b *testing.B) {
	ring, _ := NewKeyRing(bytes.Repeat([]byte{1}, 32))
	now := time.Now()
	c := Claims{User: "alice", Groups: []string{"dev"}, Issued: now, SignedIn: now, Expires: now.Add(time.Hour), MFATime: now, Method: "virtual", Serial: "caddy-mfa:alice:phone"}
	tok, _ := ring.Sign(&c)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ring.Verify(tok, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadCookie(b *testing.B) {
	ring, _ := NewKeyRing(bytes.Repeat([]byte{1}, 32))
	now := time.Now()
	ck := NewCookies(ring, CookieOptions{Name: "s", Idle: time.Hour, Absolute: time.Hour}, func() time.Time { return now })
	w := httptest.NewRecorder()
	_ = ck.Write(w, httptest.NewRequest("GET", "/", nil), ck.Start("alice"))
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(w.Result().Cookies()[0])
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := ck.Read(r); !ok {
			b.Fatal("cookie refused")
		}
	}
}

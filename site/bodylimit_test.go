package site_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/gate"
	"github.com/caddy-mfa/caddy-mfa/internal/housetest"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// countingBody counts what the site reads of a request body.
type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// caddyLike serves the gate as Caddy does: on a shallow copy of the request, so the server's
// own clean-up of a parsed multipart form (on the original) never runs, and counting what the
// site reads of each body.
func caddyLike(t *testing.T, e *env) (*http.Client, string, *atomic.Int64) {
	var read atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(context.WithValue(r.Context(), struct{}{}, "caddy"))
		r.Body = countingBody{r.Body, &read}
		if _, ok := e.Gate.Serve(w, r); ok {
			w.WriteHeader(http.StatusOK)
		}
	}))
	t.Cleanup(srv.Close)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return client, srv.URL, &read
}

func withDenyRoute(o *gate.Options, _ *auth.Config, _ *auth.Deps) {
	doc, err := policy.Parse("deny.json", []byte(`{"Version": "2026-11-01", "Statement": [
		{"Effect": "Deny", "Resource": "/forbidden/*"}, {"Effect": "Allow", "Resource": "/*"}]}`))
	if err != nil {
		panic(err)
	}
	if o.Policy, err = policy.Compile(doc); err != nil {
		panic(err)
	}
}

// TestNoRequestLeavesAFileBehind sends what an attacker would, 33 MiB multipart bodies with
// and without a length, to pages, the API, unknown paths and a protected route, and checks
// that each is refused and that the temp folder stays empty.
func TestNoRequestLeavesAFileBehind(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // os.TempDir(), where multipart parsing spills files
	e := newEnv(t, withDenyRoute)
	client, site, _ := caddyLike(t, e)
	alice := e.Client() // signed in with a factor: the forbidden route renders a page for her
	alice.Login("alice", testPassword)
	alice.Enrol("phone")
	cookies := alice.HTTP.Jar.Cookies(housetest.MustURL(e.Server.URL))
	paths := []string{"GET /.mfa/nonexistent", "POST /.mfa/nonexistent", "GET /.mfa/login", "POST /.mfa/login",
		"GET /.mfa/logout", "POST /.mfa/devices/virtual", "GET /.mfa/static/style.css", "POST /.mfa/api/login",
		"POST /.mfa/api/nothing", "GET /forbidden/x"}
	for _, chunked := range []bool{false, true} {
		for _, p := range paths {
			method, path, _ := strings.Cut(p, " ")
			body, size, ct := housetest.HugeMultipart(33 << 20)
			var rd io.Reader = body
			if chunked {
				rd = housetest.Hidden{Reader: body}
			}
			req, _ := http.NewRequest(method, site+path, rd)
			if !chunked {
				req.ContentLength = size
			}
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Accept", "text/html")
			for _, c := range cookies {
				req.AddCookie(c)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s (chunked %v): no answer: %v", p, chunked, err)
			}
			resp.Body.Close()
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Errorf("%s (chunked %v): %d, want a refusal", p, chunked, resp.StatusCode)
			}
			if path == "/forbidden/x" && resp.StatusCode != http.StatusForbidden {
				t.Errorf("the forbidden route: %d, want its 403 page", resp.StatusCode)
			}
			if !chunked && strings.HasPrefix(path, "/.mfa/") && resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("%s with a 33 MiB Content-Length: %d, want 413", p, resp.StatusCode)
			}
		}
	}
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range left {
		t.Errorf("left in the temp folder: %s", f.Name())
	}
}

// TestSiteReadsAtMostItsLimit: however large a body and whatever its type, no site path
// reads more than web.MaxBodySize of it, many at once.
func TestSiteReadsAtMostItsLimit(t *testing.T) {
	e := newEnv(t)
	client, site, read := caddyLike(t, e)
	paths := []string{"/.mfa/nonexistent", "/.mfa/login", "/.mfa/verify", "/.mfa/api/login", "/.mfa/api/devices/virtual",
		"/.mfa/api/webauthn/login/finish", "/.mfa/logout"}
	types := []string{"application/x-www-form-urlencoded", "application/json", "text/plain"}
	var wg sync.WaitGroup
	var answered atomic.Int64
	for _, p := range paths {
		for _, ct := range types {
			wg.Go(func() {
				req, _ := http.NewRequest("POST", site+p, housetest.Hidden{Reader: io.LimitReader(housetest.Zeros{}, 8<<20)})
				req.Header.Set("Content-Type", ct)
				resp, err := client.Do(req)
				if closedUnderTheBody(err) {
					return // the server answered and closed while the body was still going out
				}
				if err != nil {
					t.Errorf("%s %s: %v", p, ct, err)
					return
				}
				resp.Body.Close()
				answered.Add(1)
				if resp.StatusCode < 300 || resp.StatusCode >= 500 { // a redirect to sign in serves nothing either
					t.Errorf("%s %s: %d, want a refusal", p, ct, resp.StatusCode)
				}
			})
		}
	}
	wg.Wait()
	if answered.Load() == 0 {
		t.Fatal("no request got an answer")
	}
	// Each request may read one buffer past the limit to find it is over.
	bodies := int64(len(paths) * len(types))
	if limit := bodies * (web.MaxBodySize + 64<<10); read.Load() > limit {
		t.Fatalf("the site read %d bytes of %d bodies of 8 MiB, more than %d", read.Load(), bodies, limit)
	}
}

// closedUnderTheBody reports the error a client may get, under load, when the server has
// refused a body by answering and closing the connection before the client read the answer:
// the refusal the test wants, though the client never saw its status.
func closedUnderTheBody(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

func TestTooLargeIsA413(t *testing.T) {
	e := newEnv(t)
	c := e.Client()
	c.Login("alice", testPassword)
	big := `{"name": "` + strings.Repeat("x", 70<<10) + `"}`
	for _, chunked := range []bool{false, true} {
		var body io.Reader = strings.NewReader(big)
		if chunked {
			body = housetest.Hidden{Reader: body}
		}
		req, _ := http.NewRequest("POST", e.Server.URL+"/.mfa/api/devices/virtual", body)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", c.CSRF)
		resp, err := c.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r := &response{Response: resp, Body: raw}
		if r.StatusCode != http.StatusRequestEntityTooLarge || r.ErrorCode() != auth.CodeEntityTooLarge || !strings.Contains(string(raw), "64 KiB") {
			t.Errorf("API, chunked %v: %d %s", chunked, r.StatusCode, raw)
		}
	}
	form := url.Values{"username": {"alice"}, "password": {strings.Repeat("p", 70<<10)}}
	r := e.Client().Do("POST", "/.mfa/login", form)
	if r.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(r.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.Body), "64 KiB") {
		t.Errorf("page: %d %q %s", r.StatusCode, r.Header.Get("Content-Type"), r.Body)
	}
	// A form within the limit still works, multipart or not.
	if r := e.Client().Do("POST", "/.mfa/login", url.Values{"username": {"alice"}, "password": {testPassword}}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("a normal sign-in form: %d", r.StatusCode)
	}
	var mp bytes.Buffer
	fmt.Fprintf(&mp, "--b\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nalice\r\n--b--\r\n")
	r = e.Client().Do("POST", "/.mfa/login", mp.String(), "Content-Type", "Multipart/Form-Data; boundary=b")
	if r.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("a small multipart form: %d, want 415", r.StatusCode)
	}
}

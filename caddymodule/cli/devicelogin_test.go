package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fakeSite answers authorize once, then each poll with the next of answers (an OAuth error
// code, or "" for a token), recording the polls.
func fakeSite(t *testing.T, answers ...string) (*httptest.Server, *[]string) {
	var polls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.mfa/api/device/authorize":
			if body["client_name"] != "test client" || body["duration_seconds"] != float64(3600) {
				t.Errorf("authorize body %v", body)
			}
			_, _ = w.Write([]byte(`{"device_code":"DC","user_code":"BCDF-GHJK","verification_uri":"http://x/.mfa/device","verification_uri_complete":"http://x/.mfa/device?code=BCDF-GHJK","expires_in":600,"interval":5}`))
		case "/.mfa/api/device/token":
			polls = append(polls, body["device_code"].(string))
			next := answers[0]
			answers = answers[1:]
			if next != "" {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":"` + next + `","error_description":"why"}`))
				return
			}
			_, _ = w.Write([]byte(`{"session_token":"TOKEN","token_type":"Bearer","expiration":"2030-01-01T00:00:00Z","mfa_authenticated":true}`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &polls
}

// loginAgainst runs the flow on a fake clock, returning the token, the waits, and what the
// person was shown.
func loginAgainst(t *testing.T, srv *httptest.Server, terminal bool) (*cachedToken, []time.Duration, string, error) {
	var out bytes.Buffer
	d := newDeviceClient(srv.URL+"/.mfa", &out, terminal)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var waits []time.Duration
	d.now = func() time.Time { return now }
	d.sleep = func(_ context.Context, w time.Duration) error {
		waits = append(waits, w)
		now = now.Add(w)
		return nil
	}
	tok, err := d.login(context.Background(), "test client", time.Hour)
	return tok, waits, out.String(), err
}

func TestLoginPollsAtTheIntervalAndSlowsDown(t *testing.T) {
	srv, polls := fakeSite(t, "authorization_pending", "slow_down", "authorization_pending", "slow_down", "")
	tok, waits, shown, err := loginAgainst(t, srv, false)
	if err != nil || tok.SessionToken != "TOKEN" || !tok.MFAAuthenticated || tok.Site != srv.URL+"/.mfa" {
		t.Fatalf("login: %+v %v", tok, err)
	}
	want := []time.Duration{5 * time.Second, 5 * time.Second, 10 * time.Second, 10 * time.Second, 15 * time.Second}
	if len(waits) != len(want) || len(*polls) != 5 {
		t.Fatalf("waits %v, polls %d", waits, len(*polls))
	}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits %v, want %v", waits, want)
		}
	}
	for _, line := range []string{"BCDF-GHJK", "http://x/.mfa/device", "http://x/.mfa/device?code=BCDF-GHJK", "Signed in"} {
		if !strings.Contains(shown, line) {
			t.Errorf("the person was not shown %q:\n%s", line, shown)
		}
	}
	if strings.Contains(shown, "\x1b[") || strings.Contains(shown, "DC") {
		t.Fatalf("not a terminal, yet a QR code, or the device code shown:\n%s", shown)
	}
}

func TestLoginEndsOnDenialAndExpiry(t *testing.T) {
	for answer, want := range map[string]string{"access_denied": "denied", "expired_token": "expired", "invalid_grant": "why"} {
		srv, _ := fakeSite(t, "authorization_pending", answer)
		if _, _, _, err := loginAgainst(t, srv, false); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", answer, err)
		}
	}
	pending := make([]string, 200)
	for i := range pending {
		pending[i] = "authorization_pending"
	}
	srv, polls := fakeSite(t, pending...)
	if _, _, _, err := loginAgainst(t, srv, false); err == nil || !strings.Contains(err.Error(), "expired") || len(*polls) != 120 {
		t.Fatalf("never approved: %v after %d polls", err, len(*polls))
	}
}

func TestTerminalQRCode(t *testing.T) {
	srv, _ := fakeSite(t, "")
	_, _, shown, _ := loginAgainst(t, srv, true)
	if !strings.Contains(shown, "\x1b[97;40m") || !strings.Contains(shown, "▀") {
		t.Fatalf("no QR code in a terminal:\n%s", shown)
	}
	qr, err := terminalQR("http://127.0.0.1:8080/.mfa/device?code=BCDF-GHJK")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(qr, "\n"), "\n")
	width := len([]rune(strings.TrimSuffix(strings.TrimPrefix(lines[0], "\x1b[97;40m"), "\x1b[0m")))
	if len(lines) != (width+1)/2 || width < 25 || width > 60 {
		t.Fatalf("QR code %d lines of %d columns", len(lines), width)
	}
}

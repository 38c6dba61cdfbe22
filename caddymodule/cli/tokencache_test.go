package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSiteIDSpellings(t *testing.T) {
	for raw, want := range map[string]string{
		"https://App.Example.com":        "https://app.example.com/.mfa",
		"https://app.example.com/":       "https://app.example.com/.mfa",
		"HTTPS://app.example.com:443":    "https://app.example.com/.mfa",
		"http://app.example.com:80/":     "http://app.example.com/.mfa",
		"http://127.0.0.1:8080":          "http://127.0.0.1:8080/.mfa",
		"https://app.example.com?x=1#y":  "https://app.example.com/.mfa",
		" https://app.example.com/sub/ ": "https://app.example.com/sub/.mfa",
		"https://[::1]:8443":             "https://[::1]:8443/.mfa",
	} {
		if got, err := siteID(raw, "/.mfa"); err != nil || got != want {
			t.Errorf("siteID(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	for _, bad := range []string{"", "app.example.com", "ftp://app.example.com", "https://", "https://user:pw@app.example.com", "file:///etc/passwd"} {
		if got, err := siteID(bad, "/.mfa"); err == nil {
			t.Errorf("siteID(%q) = %q, want an error", bad, got)
		}
	}
}

// TestTokenCacheFiles: one file per site, 0600 in a 0700 folder (made narrower when it
// existed wider), nothing left behind, a foreign or damaged file is no token.
func TestTokenCacheFiles(t *testing.T) {
	base := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", base)
	if err := os.MkdirAll(filepath.Join(base, "caddy-mfa"), 0o755); err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	a := &cachedToken{Site: "https://a.example/.mfa", SessionToken: "tok-a", Expiration: exp, MFAAuthenticated: true}
	b := &cachedToken{Site: "https://a.example/other/.mfa", SessionToken: "tok-b", Expiration: exp}
	for _, tok := range []*cachedToken{a, b, a} {
		if err := saveToken(tok); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(base, "caddy-mfa"))
	if len(entries) != 2 {
		t.Fatalf("%d files, want one a site: %v", len(entries), entries)
	}
	dir, _ := os.Stat(filepath.Join(base, "caddy-mfa"))
	if dir.Mode().Perm() != 0o700 {
		t.Fatalf("folder mode %v", dir.Mode().Perm())
	}
	for _, e := range entries {
		info, _ := e.Info()
		if info.Mode().Perm() != 0o600 || !strings.HasPrefix(e.Name(), "a.example-") || !strings.HasSuffix(e.Name(), ".json") {
			t.Fatalf("file %s mode %v", e.Name(), info.Mode().Perm())
		}
	}
	got, err := loadToken(a.Site)
	if err != nil || got == nil || *got != *a {
		t.Fatalf("load: %+v %v", got, err)
	}
	path, _ := cacheFile(a.Site)
	for _, damaged := range []string{"{", `{"site":"https://evil.example/.mfa","session_token":"x"}`} {
		_ = os.WriteFile(path, []byte(damaged), 0o600)
		if got, err := loadToken(a.Site); got != nil || err != nil {
			t.Fatalf("%s: %+v %v", damaged, got, err)
		}
	}
	if removed, err := forgetToken(a.Site); !removed || err != nil {
		t.Fatalf("forget: %v %v", removed, err)
	}
	if removed, err := forgetToken(a.Site); removed || err != nil {
		t.Fatalf("forget again: %v %v", removed, err)
	}
}

func TestCacheFolderFallsBackToHome(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, xdg := range []string{"", "relative/path"} {
		t.Setenv("XDG_CACHE_HOME", xdg)
		if dir, err := cacheDir(); err != nil || dir != filepath.Join(home, ".cache", "caddy-mfa") {
			t.Fatalf("XDG_CACHE_HOME=%q: %q %v", xdg, dir, err)
		}
	}
}

// TestExpiredTokensAreNeverHandedOut: a token is usable only with a minute left.
func TestExpiredTokensAreNeverHandedOut(t *testing.T) {
	now := time.Now()
	for left, usable := range map[time.Duration]bool{time.Hour: true, 61 * time.Second: true, time.Minute: false, 30 * time.Second: false, -time.Hour: false} {
		tok := &cachedToken{SessionToken: "t", Expiration: now.Add(left)}
		if tok.usableAt(now) != usable {
			t.Errorf("%v left: usable %v", left, !usable)
		}
	}
	if (&cachedToken{Expiration: now.Add(time.Hour)}).usableAt(now) {
		t.Error("an empty token is usable")
	}
}

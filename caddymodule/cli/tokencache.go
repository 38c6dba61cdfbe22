package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The session tokens `caddy mfa login` keeps: one file per site in the user's cache folder,
// which only the user may read, written whole or not at all.

// expiryMargin is how long a cached token must still live to be handed out: a command that
// starts with it has this long before the site refuses it.
const expiryMargin = time.Minute

// cachedToken is one site's file.
type cachedToken struct {
	Site             string    `json:"site"`
	SessionToken     string    `json:"session_token"`
	Expiration       time.Time `json:"expiration"`
	MFAAuthenticated bool      `json:"mfa_authenticated"`
}

// usableAt says whether the token still has expiryMargin to live at now.
func (t *cachedToken) usableAt(now time.Time) bool {
	return t.SessionToken != "" && now.Add(expiryMargin).Before(t.Expiration)
}

// siteID is the one spelling of a site and its prefix: scheme and host in lower case, no
// default port, no trailing slash, no query.
func siteID(rawURL, prefix string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", fmt.Errorf("--url %q: give the site as http(s)://host[:port]", rawURL)
	}
	host := strings.ToLower(u.Host)
	scheme := strings.ToLower(u.Scheme)
	host = strings.TrimSuffix(host, map[string]string{"http": ":80", "https": ":443"}[scheme])
	path := strings.TrimRight(u.EscapedPath(), "/")
	return scheme + "://" + host + path + "/" + strings.Trim(prefix, "/"), nil
}

// cacheDir is $XDG_CACHE_HOME/caddy-mfa, or ~/.cache/caddy-mfa.
func cacheDir() (string, error) {
	base := os.Getenv("XDG_CACHE_HOME")
	if !filepath.IsAbs(base) { // the XDG spec: a relative value is to be ignored
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no cache folder: set XDG_CACHE_HOME or HOME: %w", err)
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "caddy-mfa"), nil
}

// cacheFile is the site's file: its host for the eye, a hash of the whole id for uniqueness.
func cacheFile(site string) (string, error) {
	dir, err := cacheDir()
	if err != nil {
		return "", err
	}
	u, _ := url.Parse(site)
	host := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, u.Host)
	sum := sha256.Sum256([]byte(site))
	return filepath.Join(dir, host+"-"+hex.EncodeToString(sum[:6])+".json"), nil
}

// loadToken reads the site's cached token; nil when there is none.
func loadToken(site string) (*cachedToken, error) {
	path, err := cacheFile(site)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var t cachedToken
	if json.Unmarshal(raw, &t) != nil || t.Site != site {
		return nil, nil // a damaged or foreign file is as good as none: the next login replaces it
	}
	return &t, nil
}

// saveToken writes the site's token through a temporary file and a rename, in a folder only
// the user may enter, so no reader ever sees half a file or another user a token.
func saveToken(t *cachedToken) error {
	path, err := cacheFile(t.Site)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	raw, _ := json.Marshal(t)
	tmp, err := os.CreateTemp(dir, ".token-*") // made 0600
	if err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing left to remove
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return fmt.Errorf("token cache: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("token cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	return nil
}

// forgetToken removes the site's token; none is not an error.
func forgetToken(site string) (bool, error) {
	path, err := cacheFile(site)
	if err != nil {
		return false, err
	}
	err = os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

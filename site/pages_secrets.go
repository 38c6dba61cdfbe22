package site

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/caddy-mfa/caddy-mfa/auth"
)

// The forms that hand out a secret shown once: recovery codes and access keys.

func (s *Site) formRecoveryCodes(w http.ResponseWriter, r *http.Request) {
	c, ok := s.formCaller(w, r)
	if !ok {
		return
	}
	codes, err := s.ops.NewRecoveryCodes(r.Context(), c)
	if err != nil {
		s.afterForm(w, r, c, err, "")
		return
	}
	s.showRecoveryCodes(w, r, c, "Your recovery codes", "Each code signs you in once when you cannot use your devices. Your old codes no longer work.", codes)
}

func (s *Site) formCreateAccessKey(w http.ResponseWriter, r *http.Request) {
	c, ok := s.formCaller(w, r)
	if !ok {
		return
	}
	nk, err := s.ops.CreateAccessKey(r.Context(), c)
	if err != nil {
		s.afterForm(w, r, c, err, "")
		return
	}
	p := s.newPage(r, "Your new access key", c)
	p.Message = "Use it as HTTP Basic credentials (access key id, then secret), or with caddy mfa get-session-token."
	p.Secrets = []secretLine{{"Access key id", nk.Key.ID}, {"Secret access key", nk.Secret}}
	s.render(w, http.StatusOK, "secrets", p)
}

func (s *Site) formDeleteAccessKey(w http.ResponseWriter, r *http.Request) {
	c, ok := s.formCaller(w, r)
	if !ok {
		return
	}
	_, err := s.ops.DeleteAccessKey(r.Context(), c, r.PathValue("id"))
	s.afterForm(w, r, c, err, "The access key is deleted.")
}

// secretLine is one secret shown once: its label ("" for a recovery code) and value, which is
// what its Copy button copies.
type secretLine struct{ Label, Value string }

// showRecoveryCodes shows codes once, with the means to keep them: copy, download, print.
func (s *Site) showRecoveryCodes(w http.ResponseWriter, r *http.Request, c *auth.Caller, title, message string, codes []string) {
	s.render(w, http.StatusOK, "secrets", s.codesPage(r, c, title, message, codes))
}

// codesPage is the page that shows recovery codes.
func (s *Site) codesPage(r *http.Request, c *auth.Caller, title, message string, codes []string) *page {
	p := s.newPage(r, title, c)
	p.Message = message
	for _, code := range codes {
		p.Secrets = append(p.Secrets, secretLine{Value: code})
	}
	p.CopyAll = strings.Join(codes, "\n")
	text := s.ops.Issuer + " recovery codes for " + c.User() + "\n\n" + p.CopyAll + "\n"
	// A data: URL the page itself made, of text only: safe to mark as a URL for the template.
	p.Download = template.URL("data:text/plain;charset=utf-8," + url.PathEscape(text))
	p.DownloadName = "recovery-codes.txt"
	return p
}

// groupsOf cuts s into groups of n characters, the way people read a secret off a screen.
func groupsOf(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}

package site

import (
	"net/http"
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
	p := s.newPage(r, "Your recovery codes", c)
	p.Message, p.Lines = "Each code signs you in once when you cannot use your devices. Your old codes no longer work.", codes
	s.render(w, http.StatusOK, "secrets", p)
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
	p.Lines = []string{"Access key id: " + nk.Key.ID, "Secret access key: " + nk.Secret}
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

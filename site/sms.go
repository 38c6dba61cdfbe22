package site

import (
	"net/http"

	"github.com/caddy-mfa/caddy-mfa/web"
)

// The deprecated SMS factor through the JSON API.

type smsDeviceRequest struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

func (s *Site) apiCreateSMS(w http.ResponseWriter, r *http.Request) {
	c, req, ok := signedInJSON[smsDeviceRequest](s, w, r)
	if !ok {
		return
	}
	dev, err := s.ops.CreateSMS(r.Context(), c, req.Name, req.Phone)
	if err != nil {
		s.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, struct {
		Serial string `json:"serial"`
		Sent   bool   `json:"sent"`
	}{dev.Serial, true})
}

type smsSendRequest struct {
	Serial string `json:"serial"`
}

func (s *Site) apiSMSSend(w http.ResponseWriter, r *http.Request) {
	c, req, ok := signedInJSON[smsSendRequest](s, w, r)
	if !ok {
		return
	}
	if err := s.ops.SendSMS(r.Context(), c, req.Serial); err != nil {
		s.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, struct {
		Sent bool `json:"sent"`
	}{true})
}

package site

import (
	"net/http"
	"net/url"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// Where a device form leaves the user: a user made to enrol goes on to where they were going; a
// user tidying their devices stays on the devices page, told what happened by name, so nobody
// wonders whether the click did anything.

// afterAdding answers a device added by a form (enabled app or SMS phone, hardware token). The
// user's first device (it passed a factor) goes by the page of their first recovery codes.
func (s *Site) afterAdding(w http.ResponseWriter, r *http.Request, c *auth.Caller, serial string, enrolling, first bool) {
	if first {
		s.showFirstCodes(w, r, c, serial, enrolling)
		return
	}
	target := web.SafeReturn(web.PostValue(r, "return"))
	if enrolling || target != "/" {
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	s.showDevices(w, r, c, http.StatusOK, "", s.addedNotice(r, c, serial))
}

// nextAfterAdding is where a user goes on to after adding serial: where they were going, or,
// tidying their devices, the devices page naming the new one.
func (s *Site) nextAfterAdding(r *http.Request, serial string, enrolling bool) string {
	target := web.SafeReturn(web.PostValue(r, "return"))
	if enrolling || target != "/" {
		return target
	}
	return s.prefix + "/devices?added=" + url.QueryEscape(serial)
}

// addedNotice names the user's device serial as just added, or is "" when it is no such device
// (the devices page takes the serial from its query, where anybody could put one).
func (s *Site) addedNotice(r *http.Request, c *auth.Caller, serial string) string {
	fact, hint := s.added(r, c, serial)
	if fact == "" {
		return ""
	}
	return fact + " " + hint
}

// added says that the caller's device serial is added, and how it serves at the next sign-in;
// both "" when it is no enabled device of theirs.
func (s *Site) added(r *http.Request, c *auth.Caller, serial string) (fact, hint string) {
	d := s.ownDevice(r, c, serial)
	if d == nil || !d.Enabled {
		return "", ""
	}
	switch d.Type {
	case factors.TypeWebAuthn:
		return "Security key “" + d.Name + "” is registered.", "Use it the next time you sign in."
	case factors.TypeHardware:
		return "Hardware token “" + d.Name + "” is added.", "Use its codes the next time you sign in."
	default:
		return "“" + d.Name + "” is enabled.", "Use its codes the next time you sign in."
	}
}

// ownDevice is the caller's device serial, or nil.
func (s *Site) ownDevice(r *http.Request, c *auth.Caller, serial string) *factors.Device {
	if serial == "" {
		return nil
	}
	devices, err := s.ops.Devices.ForUser(r.Context(), c.User())
	if err != nil {
		return nil
	}
	for _, d := range devices {
		if d.Serial == serial {
			return d
		}
	}
	return nil
}

package site

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/deviceauth"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// The command-line sign-in page: the user types (or follows a link with) the code a terminal
// shows, sees what asks, passes a fresh factor through the verify page, and approves or denies.

// deviceGrantView is what the page shows of a request.
type deviceGrantView struct {
	Code, ClientName, Address string
	Site                      string // the site the token will be for (its host, or its audience name)
	Requested                 time.Time
	Lifetime                  string
	Return                    string // this page again, for the verify page to come back to
}

func (s *Site) pageDevice(w http.ResponseWriter, r *http.Request) {
	c, ok := s.pageCaller(w, r)
	if !ok {
		return
	}
	typed := web.FormValue(r, "code")
	if typed == "" || !typedOrOwnLink(r) {
		// Another site's link only fills the form in: each look-up of a wrong code counts
		// toward the user's lockout, which a page elsewhere must not spend.
		p := s.newPage(r, "Command-line sign-in", c)
		p.UserCode = typed
		s.render(w, http.StatusOK, "device", p)
		return
	}
	g, err := s.ops.DeviceGrant(r.Context(), c, typed)
	if err != nil {
		s.showDevice(w, r, c, nil, err)
		return
	}
	s.showDevice(w, r, c, g, nil)
}

// showDevice draws the page: the request of g, or the code form when g is nil; problem is
// said in the card.
func (s *Site) showDevice(w http.ResponseWriter, r *http.Request, c *auth.Caller, g *deviceauth.Grant, problem error) {
	p := s.newPage(r, "Command-line sign-in", c)
	status := http.StatusOK
	if problem != nil {
		e := s.explain(problem)
		web.SetRetryAfter(w, e)
		status = web.Status(e.Code)
		if g == nil {
			p.failAt(e.Message, "code") // beside the code that was not one
		} else {
			p.Error = e.Message
		}
	}
	p.UserCode = web.FormValue(r, "code")
	if g != nil {
		code := deviceauth.FormatUserCode(g.UserCode)
		p.Grant = &deviceGrantView{Code: code, ClientName: g.ClientName, Address: g.Address, Requested: g.Requested,
			Site:     strings.TrimPrefix(g.Audience, "aud:"),
			Lifetime: lifetimeText(g.Duration), Return: s.prefix + "/device?code=" + code}
		p.NeedsFactor = s.ops.CanApproveDevice(c) != nil
	}
	s.render(w, status, "device", p)
}

func (s *Site) formDevice(w http.ResponseWriter, r *http.Request) {
	c, ok := s.formCaller(w, r)
	if !ok {
		return
	}
	decision, code := web.PostValue(r, "decision"), web.PostValue(r, "code")
	if decision != "approve" && decision != "deny" {
		s.showDevice(w, r, c, nil, auth.NewError(auth.CodeInvalidInput, "Choose Approve or Deny."))
		return
	}
	approve := decision == "approve"
	g, err := s.ops.DecideDevice(r.Context(), c, code, approve)
	if err != nil {
		var shown *deviceauth.Grant
		if auth.AsError(err).Code == auth.CodeMFARequired {
			// The code was not looked at yet: show its request again, with the way to a factor.
			shown, _ = s.ops.DeviceGrant(r.Context(), c, code)
		}
		s.showDevice(w, r, c, shown, err)
		return
	}
	p := s.newPage(r, "Denied", c)
	p.Message = "The request was denied: the program gets no token. If you did not start it, someone may have your code; nothing else is needed."
	if approve {
		p.Title, p.Message = "Approved", programName(g.ClientName)+" gets a session token for "+lifetimeText(g.Duration)+". You can close this page and return to your terminal."
	}
	s.pages.RenderStatusPage(w, http.StatusOK, &p.Page)
}

// typedOrOwnLink says the browser vouches that no other site sent it here: a terminal's link, a
// typed address and a scanned QR code come with Sec-Fetch-Site "none", this site's own links
// with "same-origin". A browser that sends no Fetch Metadata (older than 2023) vouches for
// nothing, and gets the filled-in form, one press of Continue away.
func typedOrOwnLink(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "none", "same-origin":
		return true
	}
	return false
}

func programName(name string) string {
	if name == "" {
		return "The program"
	}
	return "“" + name + "”"
}

// lifetimeText says a token's lifetime as a person would.
func lifetimeText(d time.Duration) string {
	unit := func(n time.Duration, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return strconv.FormatInt(int64(n), 10) + " " + one + "s"
	}
	switch {
	case d%time.Hour == 0:
		return unit(d/time.Hour, "hour")
	case d%time.Minute == 0:
		return unit(d/time.Minute, "minute")
	}
	return unit(d/time.Second, "second")
}

package site

import (
	"html/template"
	"net/http"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// Errors that point at their field: a failed form comes back with its message beside the inputs
// at fault, which are marked aria-invalid and described by it, the first focused (autofocus,
// drawn by the server, so no script is needed), and with what the user typed kept, passwords and
// codes excepted. The pages word refusals for people; the JSON API keeps SPEC's wording.

// fieldErrorID is the id of the one message a page's failed form shows.
const fieldErrorID = "field-error"

// failAt marks the page's failed form: message beside the inputs fields (ids), the first focused.
func (p *page) failAt(message string, fields ...string) {
	p.FieldError, p.badFields = message, fields
}

// Invalid is what input id carries when the form failed there: aria-invalid, aria-describedby
// the message, and autofocus on the first input at fault.
func (p *page) Invalid(id string) template.HTMLAttr {
	for i, f := range p.badFields {
		if f != id {
			continue
		}
		attrs := ` aria-invalid="true" aria-describedby="` + fieldErrorID + `"`
		if i == 0 {
			attrs += " autofocus"
		}
		return template.HTMLAttr(attrs)
	}
	return ""
}

// FailedAt says whether the form failed at input id first: its message goes beside that input.
func (p *page) FailedAt(id string) bool { return len(p.badFields) > 0 && p.badFields[0] == id }

// plainly words a refusal for a page: a wrong code as wrongCode says (when given), any other
// refusal as auth words it.
func plainly(e *auth.Error, wrongCode string) string {
	if e.Code == auth.CodeInvalidAuthCode && wrongCode != "" {
		return wrongCode
	}
	return e.Message
}

// deviceForm is where a devices page form shows its failure.
type deviceForm struct {
	fields    []string          // the inputs at fault for a wrong code or a wrong value
	wrongCode string            // the plain words for a wrong code ("": auth's)
	message   string            // the plain words for any refusal at the fields ("": as above)
	typed     map[string]string // what the user typed, by input id, drawn again
	open      string            // the serial whose Manage part holds the form
}

// atPage reports whether a refusal belongs to the page rather than to a field: a missing or
// stale factor, or anything the user cannot fix by typing again.
func atPage(e *auth.Error) bool {
	switch e.Code {
	case auth.CodeMFARequired, auth.CodeAccessDenied, auth.CodeAuthRequired, auth.CodeServiceFailure:
		return true
	}
	return false
}

// failDeviceForm shows the devices page again with form's failure at its fields.
func (s *Site) failDeviceForm(w http.ResponseWriter, r *http.Request, c *auth.Caller, err error, form deviceForm) {
	e := s.explain(err)
	web.SetRetryAfter(w, e)
	s.showDevicesWith(w, r, c, web.Status(e.Code), func(p *page) {
		if atPage(e) || len(form.fields) == 0 {
			p.Error = e.Message
			return
		}
		message := plainly(e, form.wrongCode)
		if form.message != "" {
			message = form.message
		}
		p.failAt(message, form.fields...)
		p.Typed, p.OpenSerial = form.typed, form.open
		if name, ok := form.typed["name"]; ok {
			p.SuggestedName = name
		}
	})
}

// hardwareFailure points a refused hardware token at its serial (no such token, taken, not a
// serial) or at its two codes.
func hardwareFailure(e *auth.Error, serial string) deviceForm {
	form := deviceForm{fields: []string{"serial"}, typed: map[string]string{"serial": serial}}
	switch e.Code {
	case auth.CodeInvalidAuthCode:
		form.fields = []string{"hw1", "hw2"}
		form.wrongCode = "Those codes didn't work. Type two codes in a row from the token."
	case auth.CodeNoSuchEntity:
		// auth's words suit the API; a person needs to know where to look.
		form.message = "No token with that serial number is waiting to be added. Check the number on the back of the token."
	}
	return form
}

// deviceName is the caller's device serial by name in curly quotes, or otherwise when it is not theirs.
func (s *Site) deviceName(r *http.Request, c *auth.Caller, serial, otherwise string) string {
	if d := s.ownDevice(r, c, serial); d != nil {
		return "“" + d.Name + "”"
	}
	return otherwise
}

// newDeviceMessage words a refused new device's name or phone number (field) for a person.
func newDeviceMessage(e *auth.Error, field string) string {
	switch {
	case e.Code == auth.CodeEntityAlreadyExists:
		return "You have a device called that already: choose another name."
	case e.Code == auth.CodeInvalidInput && field == "phone":
		return "Type the number in international form, such as +15551234567."
	case e.Code == auth.CodeInvalidInput:
		return "Use 1 to 128 letters, digits and + = , . @ _ - for the name, without spaces."
	}
	return e.Message
}

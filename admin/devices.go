package admin

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/web"
)

func (a *Admin) routeDevices() {
	a.mux.HandleFunc("GET /mfa/devices", a.listDevices)
	a.mux.HandleFunc("POST /mfa/devices/hardware", a.importHardware)
	a.mux.HandleFunc("DELETE /mfa/devices/{serial}", a.deleteDevice)
	a.mux.HandleFunc("POST /mfa/users/{user}/devices/virtual", a.createVirtual)
	a.mux.HandleFunc("POST /mfa/users/{user}/devices/{serial}/enable", a.enable)
	a.mux.HandleFunc("POST /mfa/users/{user}/devices/{serial}/resync", a.resync)
	a.mux.HandleFunc("POST /mfa/users/{user}/devices/{serial}/deactivate", a.deactivate)
	a.mux.HandleFunc("POST /mfa/users/{user}/reset", a.reset)
	a.mux.HandleFunc("GET /mfa/report", a.report)
}

// listDevices is ListVirtualMFADevices: assignment Assigned, Unassigned or Any (the default).
func (a *Admin) listDevices(w http.ResponseWriter, r *http.Request) {
	assignment := r.URL.Query().Get("assignment")
	if assignment == "" {
		assignment = "Any"
	}
	if assignment != "Any" && assignment != "Assigned" && assignment != "Unassigned" {
		web.Refuse(w, auth.CodeValidationError, "assignment: want Assigned, Unassigned or Any")
		return
	}
	all, err := a.ops.Devices.All(r.Context())
	if err != nil {
		a.fail(w, err)
		return
	}
	out := make([]deviceView, 0, len(all))
	for _, d := range all {
		if (assignment == "Assigned" && d.User == "") || (assignment == "Unassigned" && d.User != "") {
			continue
		}
		out = append(out, viewOfDevice(d))
	}
	web.WriteJSON(w, http.StatusOK, out)
}

// importHardware takes a seed file and adds its tokens as unassigned devices: all of them, or
// none. The body is the file itself (text/csv, or application/pskc+xml without encryption), or a
// JSON envelope {"pskc": "<file>", "psk": "<hex>"} (or {"csv": "<file>"}): the pre-shared key
// travels in the body, since Caddy's admin endpoint logs every request's headers and URI.
func (a *Admin) importHardware(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-PSKC-Key") != "" {
		web.Refuse(w, auth.CodeInvalidInput, `X-PSKC-Key: Caddy's admin endpoint logs request headers, so this key is in its log now: `+
			`send the key inside the body, {"pskc": "<file>", "psk": "<hex>"} (caddy mfa hardware import --psk does), and treat this one as exposed`)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		a.refuseBody(w, err)
		return
	}
	seeds, err := parseSeedUpload(r.Header.Get("Content-Type"), body)
	clear(body)
	if err != nil {
		a.fail(w, err)
		return
	}
	serials, err := a.ops.ImportHardware(r.Context(), seeds)
	if err != nil {
		a.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, struct {
		Imported int      `json:"imported"`
		Serials  []string `json:"serials"`
	}{len(serials), serials})
}

func (a *Admin) refuseBody(w http.ResponseWriter, err error) {
	if web.IsTooLarge(err) {
		web.Refuse(w, auth.CodeEntityTooLarge, "The seed file is larger than the 8 MiB an import takes; split it.")
		return
	}
	web.Refuse(w, auth.CodeInvalidInput, "The seed file could not be read.")
}

// seedEnvelope carries a seed file and its pre-shared key in a JSON body.
type seedEnvelope struct {
	PSKC string `json:"pskc"`
	CSV  string `json:"csv"`
	PSK  string `json:"psk"` // hex, AES-128: only for an encrypted PSKC file
}

// parseSeedUpload reads the seeds of an upload, whichever form it takes.
func parseSeedUpload(contentType string, body []byte) ([]factors.HardwareSeed, error) {
	media, _, _ := mime.ParseMediaType(contentType)
	switch media {
	case "text/csv":
		return factors.ParseSeedsCSV(bytes.NewReader(body))
	case "application/pskc+xml", "application/xml", "text/xml":
		return factors.ParseSeedsPSKC(body, nil)
	case "application/json":
		return parseSeedEnvelope(body)
	}
	return nil, auth.NewError(auth.CodeInvalidInput, `Content-Type: want text/csv, application/pskc+xml, or application/json ({"pskc": "<file>", "psk": "<hex>"})`)
}

func parseSeedEnvelope(body []byte) ([]factors.HardwareSeed, error) {
	var env seedEnvelope
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil || dec.More() {
		return nil, auth.NewError(auth.CodeInvalidInput, `The body is not one JSON object {"pskc": "<file>", "psk": "<hex>"} or {"csv": "<file>"}`)
	}
	switch {
	case (env.PSKC == "") == (env.CSV == ""):
		return nil, auth.NewError(auth.CodeInvalidInput, "pskc, csv: give exactly one seed file")
	case env.CSV != "" && env.PSK != "":
		return nil, auth.NewError(auth.CodeInvalidInput, "psk: only an encrypted PSKC file has a pre-shared key")
	case env.CSV != "":
		return factors.ParseSeedsCSV(strings.NewReader(env.CSV))
	}
	var psk []byte
	if env.PSK != "" {
		var err error
		if psk, err = hex.DecodeString(strings.TrimSpace(env.PSK)); err != nil {
			return nil, auth.NewError(auth.CodeInvalidInput, "psk: not hexadecimal")
		}
	}
	defer clear(psk)
	return factors.ParseSeedsPSKC([]byte(env.PSKC), psk)
}

func (a *Admin) deleteDevice(w http.ResponseWriter, r *http.Request) {
	serial := r.PathValue("serial")
	if err := a.ops.DeleteDevice(r.Context(), serial); err != nil {
		a.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, struct {
		Deleted string `json:"deleted"`
	}{serial})
}

// createVirtual is CreateVirtualMFADevice by an operator, for a user who will load the seed.
func (a *Admin) createVirtual(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("user")
	var req struct {
		Name string `json:"name"`
	}
	if e := web.DecodeJSON(w, r, &req); e != nil {
		web.WriteError(w, e)
		return
	}
	nv, err := a.ops.CreateVirtualFor(r.Context(), user, req.Name)
	var dev *web.VirtualDevice
	if err == nil {
		dev, err = web.NewVirtualDevice(a.ops.Issuer, user, nv)
	}
	if err != nil {
		a.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, dev)
}

type twoCodes struct {
	Code1 string `json:"code1"`
	Code2 string `json:"code2"`
}

// userCodes runs an operator's two-code change (enable, resync) of a user's device.
func (a *Admin) userCodes(w http.ResponseWriter, r *http.Request, change func(ctx context.Context, user, serial, c1, c2 string) (*factors.Device, error)) {
	user, serial := r.PathValue("user"), r.PathValue("serial")
	if _, err := a.ops.Users.Get(r.Context(), user); err != nil {
		a.fail(w, err)
		return
	}
	var req twoCodes
	if e := web.DecodeJSON(w, r, &req); e != nil {
		web.WriteError(w, e)
		return
	}
	dev, err := change(r.Context(), user, serial, req.Code1, req.Code2)
	if err != nil {
		a.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, viewOfDevice(dev))
}

func (a *Admin) enable(w http.ResponseWriter, r *http.Request) { a.userCodes(w, r, a.ops.EnableFor) }

func (a *Admin) resync(w http.ResponseWriter, r *http.Request) { a.userCodes(w, r, a.ops.Resync) }

func (a *Admin) deactivate(w http.ResponseWriter, r *http.Request) {
	user, serial := r.PathValue("user"), r.PathValue("serial")
	if err := a.ops.DeactivateFor(r.Context(), user, serial); err != nil {
		a.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, struct {
		Deactivated string `json:"deactivated"`
	}{serial})
}

func (a *Admin) reset(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("user")
	if err := a.ops.Reset(r.Context(), user); err != nil {
		a.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, struct {
		Reset string `json:"reset"`
	}{user})
}

// deviceView is a device as the admin API shows it: with the user it is assigned to.
type deviceView struct {
	User string `json:"user"`
	web.DeviceView
}

func viewOfDevice(d *factors.Device) deviceView {
	return deviceView{User: d.User, DeviceView: web.ViewOfDevice(d)}
}

func (a *Admin) userDevices(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("user")
	if _, err := a.ops.Users.Get(r.Context(), name); err != nil {
		a.fail(w, err)
		return
	}
	ds, err := a.ops.Devices.ForUser(r.Context(), name)
	if err != nil {
		a.fail(w, err)
		return
	}
	out := make([]deviceView, 0, len(ds))
	for _, d := range ds {
		out = append(out, viewOfDevice(d))
	}
	web.WriteJSON(w, http.StatusOK, out)
}

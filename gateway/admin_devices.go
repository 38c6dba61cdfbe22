package gateway

import (
	"bytes"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/factors"
)

// MaxImportBody bounds a seed file upload (POST /mfa/devices/hardware), the admin API's one
// large body: 8 MiB as sent, envelope included. Every other admin call takes maxBodySize.
const MaxImportBody = 8 << 20

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
		writeError(w, apiErr(CodeValidationError, "assignment: want Assigned, Unassigned or Any"))
		return
	}
	all, err := a.svc.Devices.All(r.Context())
	if err != nil {
		a.svc.fail(w, err)
		return
	}
	out := make([]adminDeviceView, 0, len(all))
	for _, d := range all {
		if (assignment == "Assigned" && d.User == "") || (assignment == "Unassigned" && d.User != "") {
			continue
		}
		out = append(out, adminDeviceView{User: d.User, deviceView: viewOf(d)})
	}
	writeJSON(w, http.StatusOK, out)
}

// importHardware takes a seed file and adds its tokens as unassigned devices: all of them, or
// none. The body is the file itself (text/csv, or application/pskc+xml without encryption), or a
// JSON envelope {"pskc": "<file>", "psk": "<hex>"} (or {"csv": "<file>"}): the pre-shared key
// travels in the body, since Caddy's admin endpoint logs every request's headers and URI.
func (a *Admin) importHardware(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-PSKC-Key") != "" {
		writeError(w, apiErr(CodeInvalidInput, `X-PSKC-Key: Caddy's admin endpoint logs request headers, so this key is in its log now: `+
			`send the key inside the body, {"pskc": "<file>", "psk": "<hex>"} (caddy mfa hardware import --psk does), and treat this one as exposed`))
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
		a.svc.fail(w, err)
		return
	}
	serials, err := a.svc.Devices.ImportHardware(r.Context(), seeds)
	for i := range seeds {
		clear(seeds[i].Seed)
	}
	if err != nil {
		a.svc.fail(w, err)
		return
	}
	a.svc.audit("hardware_imported", zap.Int("tokens", len(serials)))
	writeJSON(w, http.StatusOK, struct {
		Imported int      `json:"imported"`
		Serials  []string `json:"serials"`
	}{len(serials), serials})
}

func (a *Admin) refuseBody(w http.ResponseWriter, err error) {
	if isTooLarge(err) {
		writeError(w, apiErr(CodeEntityTooLarge, "The seed file is larger than the 8 MiB an import takes; split it."))
		return
	}
	writeError(w, apiErr(CodeInvalidInput, "The seed file could not be read."))
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
	return nil, apiErr(CodeInvalidInput, `Content-Type: want text/csv, application/pskc+xml, or application/json ({"pskc": "<file>", "psk": "<hex>"})`)
}

func parseSeedEnvelope(body []byte) ([]factors.HardwareSeed, error) {
	var env seedEnvelope
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil || dec.More() {
		return nil, apiErr(CodeInvalidInput, `The body is not one JSON object {"pskc": "<file>", "psk": "<hex>"} or {"csv": "<file>"}`)
	}
	switch {
	case (env.PSKC == "") == (env.CSV == ""):
		return nil, apiErr(CodeInvalidInput, "pskc, csv: give exactly one seed file")
	case env.CSV != "" && env.PSK != "":
		return nil, apiErr(CodeInvalidInput, "psk: only an encrypted PSKC file has a pre-shared key")
	case env.CSV != "":
		return factors.ParseSeedsCSV(strings.NewReader(env.CSV))
	}
	var psk []byte
	if env.PSK != "" {
		var err error
		if psk, err = hex.DecodeString(strings.TrimSpace(env.PSK)); err != nil {
			return nil, apiErr(CodeInvalidInput, "psk: not hexadecimal")
		}
	}
	defer clear(psk)
	return factors.ParseSeedsPSKC([]byte(env.PSKC), psk)
}

func (a *Admin) deleteDevice(w http.ResponseWriter, r *http.Request) {
	serial := r.PathValue("serial")
	if err := a.svc.Devices.Delete(r.Context(), serial); err != nil {
		a.svc.fail(w, err)
		return
	}
	a.svc.audit("device_deleted", zap.String("serial", serial))
	writeJSON(w, http.StatusOK, struct {
		Deleted string `json:"deleted"`
	}{serial})
}

// createVirtual is CreateVirtualMFADevice by an operator, for a user who will load the seed.
func (a *Admin) createVirtual(w http.ResponseWriter, r *http.Request) {
	user, ok := a.pathUser(w, r)
	if !ok {
		return
	}
	var req createVirtualRequest
	if e := decodeJSON(w, r, &req); e != nil {
		writeError(w, e)
		return
	}
	nv, err := a.svc.Devices.CreateVirtual(r.Context(), user, req.Name)
	if err != nil {
		a.svc.fail(w, err)
		return
	}
	a.svc.audit("device_created", zap.String("user", user), zap.String("serial", nv.Device.Serial), zap.String("type", nv.Device.Type))
	resp, err := virtualResponse(a.svc.Issuer, user, nv)
	if err != nil {
		a.svc.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (a *Admin) userCodes(w http.ResponseWriter, r *http.Request, change func(user, serial, c1, c2 string) (*factors.Device, error)) {
	user, ok := a.pathUser(w, r)
	if !ok {
		return
	}
	serial := r.PathValue("serial")
	var req twoCodes
	if e := decodeJSON(w, r, &req); e != nil {
		writeError(w, e)
		return
	}
	if req.Code1 == req.Code2 {
		writeError(w, apiErr(CodeInvalidAuthCode, msgBadDeviceCode))
		return
	}
	dev, err := change(user, serial, req.Code1, req.Code2)
	if err != nil {
		a.svc.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, adminDeviceView{User: dev.User, deviceView: viewOf(dev)})
}

func (a *Admin) enable(w http.ResponseWriter, r *http.Request) {
	a.userCodes(w, r, func(user, serial, c1, c2 string) (*factors.Device, error) {
		return a.svc.enableFor(r.Context(), user, serial, c1, c2)
	})
}

func (a *Admin) resync(w http.ResponseWriter, r *http.Request) {
	a.userCodes(w, r, func(user, serial, c1, c2 string) (*factors.Device, error) {
		return a.svc.resync(r.Context(), user, serial, c1, c2)
	})
}

func (a *Admin) deactivate(w http.ResponseWriter, r *http.Request) {
	user, serial := r.PathValue("user"), r.PathValue("serial")
	if err := a.svc.deactivate(r.Context(), user, serial); err != nil {
		a.svc.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Deactivated string `json:"deactivated"`
	}{serial})
}

func (a *Admin) reset(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("user")
	if err := a.svc.reset(r.Context(), user); err != nil {
		a.svc.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Reset string `json:"reset"`
	}{user})
}

// report is the credential report: one CSV row a user.
func (a *Admin) report(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	users, err := a.svc.Users.List(ctx)
	if err != nil {
		a.svc.fail(w, err)
		return
	}
	rows := [][]string{{"user", "groups", "created", "password_enabled", "mfa_active", "devices", "device_types", "last_mfa_use", "access_keys", "locked_until"}}
	for _, u := range users {
		ds, err := a.svc.Devices.ForUser(ctx, u.Name)
		if err != nil {
			a.svc.fail(w, err)
			return
		}
		ks, err := a.svc.AccessKeys.ForUser(ctx, u.Name)
		if err != nil {
			a.svc.fail(w, err)
			return
		}
		locked, err := a.svc.Lockout.LockedFor(ctx, u.Name)
		if err != nil {
			a.svc.fail(w, err)
			return
		}
		active, types, last := false, []string{}, time.Time{}
		for _, d := range ds {
			if !d.Enabled {
				continue
			}
			active = true
			if !slices.Contains(types, d.Type) {
				types = append(types, d.Type)
			}
			if d.LastUsed.After(last) {
				last = d.LastUsed
			}
		}
		lockedUntil := time.Time{}
		if locked > 0 {
			lockedUntil = a.svc.Now().Add(locked)
		}
		rows = append(rows, []string{u.Name, strings.Join(u.Groups, ";"), u.Created.Format(time.RFC3339),
			boolWord(u.PasswordHash != ""), boolWord(active), strconv.Itoa(len(ds)), orNA(strings.Join(types, ";")),
			timeOrNA(last), strconv.Itoa(len(ks)), timeOrNA(lockedUntil)})
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="credential-report.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.WriteAll(rows)
}

func boolWord(b bool) string { return strings.ToUpper(strconv.FormatBool(b)) }

func orNA(s string) string {
	if s == "" {
		return "N/A"
	}
	return s
}

func timeOrNA(t time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	return t.UTC().Format(time.RFC3339)
}

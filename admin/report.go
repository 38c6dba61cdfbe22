package admin

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// report is the credential report: one CSV row a user.
func (a *Admin) report(w http.ResponseWriter, r *http.Request) {
	rows, err := a.ops.Report(r.Context())
	if err != nil {
		a.fail(w, err)
		return
	}
	out := [][]string{{"user", "groups", "created", "password_enabled", "mfa_active", "devices", "device_types", "last_mfa_use", "access_keys", "locked_until"}}
	for _, row := range rows {
		u := row.User
		out = append(out, []string{u.Name, strings.Join(u.Groups, ";"), u.Created.Format(time.RFC3339),
			boolWord(u.PasswordHash != ""), boolWord(row.MFAActive), strconv.Itoa(row.Devices), orNA(strings.Join(row.DeviceTypes, ";")),
			timeOrNA(row.LastMFAUse), strconv.Itoa(row.AccessKeys), timeOrNA(row.LockedUntil)})
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="credential-report.csv"`)
	_ = csv.NewWriter(w).WriteAll(out)
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

package admin_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddy-mfa/caddy-mfa/admin"
	"github.com/caddy-mfa/caddy-mfa/internal/housetest"
)

func adminSendRaw(a *admin.Admin, path, contentType string, body io.Reader, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", path, body)
	req.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	a.ServeHTTP(w, req)
	return w
}

// TestAdminBodyLimits: seed files get admin.MaxImportBody, every other admin call web.MaxBodySize, both
// answered 413 past it, announced or not; multipart bodies are refused.
func TestAdminBodyLimits(t *testing.T) {
	e := newEnv(t)
	a := admin.New(e.Ops)
	csv := "serial,secret\n" + strings.Repeat("TOOLONG00,JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n", admin.MaxImportBody/40)
	for _, chunked := range []bool{false, true} {
		var body io.Reader = strings.NewReader(csv)
		if chunked {
			body = housetest.Hidden{Reader: body}
		}
		w := adminSendRaw(a, "/mfa/devices/hardware", "text/csv", body)
		if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), "8 MiB") {
			t.Errorf("a seed file over 8 MiB, chunked %v: %d %.200s", chunked, w.Code, w.Body)
		}
		big := `{"name": "` + strings.Repeat("x", 70<<10) + `"}`
		body = strings.NewReader(big)
		if chunked {
			body = housetest.Hidden{Reader: body}
		}
		if w := adminSendRaw(a, "/mfa/users", "application/json", body); w.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("70 KiB to create a user, chunked %v: %d %s", chunked, w.Code, w.Body)
		}
	}
	mp, size, ct := housetest.HugeMultipart(1 << 20)
	req := httptest.NewRequest("POST", "/mfa/devices/hardware", io.LimitReader(mp, size))
	req.Header.Set("Content-Type", ct)
	w := httptest.NewRecorder()
	a.ServeHTTP(w, req)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "multipart") {
		t.Errorf("a multipart upload: %d %s", w.Code, w.Body)
	}
	if all, _ := e.Ops.Devices.All(t.Context()); len(all) != 0 {
		t.Fatalf("refused uploads left %d devices", len(all))
	}
	// A seed file above the site's limit and within the import's goes in.
	var ok strings.Builder
	ok.WriteString("serial,secret,name\n")
	for i := range 500 {
		fmt.Fprintf(&ok, "BIGFILE%03d,JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP,%s\n", i, strings.Repeat("n", 100))
	}
	if w := adminSendRaw(a, "/mfa/devices/hardware", "text/csv", strings.NewReader(ok.String())); w.Code != http.StatusOK {
		t.Fatalf("a %d KiB seed file: %d %.300s", ok.Len()>>10, w.Code, w.Body)
	}
}

package housetest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// AdminCall sends one call to the operators' API a, and returns its status, its JSON body as a
// map, and the raw body.
func AdminCall(t *testing.T, a http.Handler, method, path string, body any) (int, map[string]any, []byte) {
	t.Helper()
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	w := httptest.NewRecorder()
	a.ServeHTTP(w, httptest.NewRequest(method, path, bytes.NewReader(raw)))
	var m map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &m)
	return w.Code, m, w.Body.Bytes()
}

// ErrCode is the code of an error body read as a map.
func ErrCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// BasicAuth is the Authorization header of an access key.
func BasicAuth(id, secret string) string {
	req := httptest.NewRequest("GET", "/", nil)
	req.SetBasicAuth(id, secret)
	return req.Header.Get("Authorization")
}

// Basic is that header as a name and value for Client.Do.
func Basic(id, secret string) []string { return []string{"Authorization", BasicAuth(id, secret)} }

// Zeros is an endless body that costs no memory to send.
type Zeros struct{}

func (Zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// HugeMultipart is a multipart/form-data body with one file of size bytes: above 32 MiB, Go's
// ParseMultipartForm (behind FormValue) writes it to the temp folder.
func HugeMultipart(size int64) (io.Reader, int64, string) {
	const boundary = "attackerboundary"
	head := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"return\"; filename=\"x.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
	tail := "\r\n--" + boundary + "--\r\n"
	body := io.MultiReader(strings.NewReader(head), io.LimitReader(Zeros{}, size), strings.NewReader(tail))
	return body, int64(len(head)) + size + int64(len(tail)), "multipart/form-data; boundary=" + boundary
}

// Hidden hides a body's length, so the client sends it chunked and only reading finds its size.
type Hidden struct{ io.Reader }

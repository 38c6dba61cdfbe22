package sim

import (
	"errors"
	"strings"
	"testing"

	"github.com/caddy-mfa/caddy-mfa/policy"
)

func mustSet(t *testing.T, doc string) *policy.Set {
	t.Helper()
	d, err := policy.Parse("p.json", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	s, err := policy.Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const (
	readsOpen = `{"Statement": [{"Sid": "Reads", "Effect": "Allow", "Action": "GET", "Condition": {"Null": {"user:Id": "false"}}}]}`
	readsMFA  = `{"Statement": [{"Sid": "ReadsMFA", "Effect": "Allow", "Action": "GET", "Condition": {"Bool": {"mfa:Present": "true"}}},
		{"Sid": "NoOutsiders", "Effect": "Deny", "Condition": {"NotIpAddress": {"req:SourceIp": "10.0.0.0/8"}}}]}`
)

// logOf builds an access log of one line per request: method, uri, client_ip and the mfa_* fields.
func logOf(lines ...string) string {
	var b strings.Builder
	for _, l := range lines {
		method, rest, _ := strings.Cut(l, " ")
		uri, rest, _ := strings.Cut(rest, " ")
		ip, fields, _ := strings.Cut(rest, ",")
		if fields != "" {
			fields = "," + fields
		}
		b.WriteString(`{"level":"info","ts":1796198601.5,"logger":"http.log.access","msg":"handled request","request":{"remote_ip":"192.0.2.9","client_ip":"` +
			ip + `","proto":"HTTP/1.1","method":"` + method + `","host":"app.example.com","uri":"` + uri + `","headers":{"Cookie":["REDACTED"]}},"status":200` + fields + "}\n")
	}
	return b.String()
}

// TestReplayGroupsChanges: requests whose decision changes group by method, path pattern,
// old -> new and statements, with counts; unchanged and ungated requests do not show.
func TestReplayGroupsChanges(t *testing.T) {
	const alice = `,"mfa_auth_type":"session","mfa_user":"alice","mfa_present":false,"mfa_decision":"allowed"`
	const aliceMFA = `,"mfa_auth_type":"session","mfa_user":"alice","mfa_present":true,"mfa_age":30,"mfa_method":"virtual","mfa_decision":"allowed"`
	log := logOf(
		"GET /orders/1 10.0.0.1"+alice,
		"GET /orders/2?x=1 10.0.0.2"+alice,
		"GET /orders/3f2504e0-4f89-11d3-9a0c-0305e82c3301 10.0.0.3"+alice,
		"GET /orders/1 10.0.0.1"+aliceMFA,
		"GET /orders/1 203.0.113.5"+aliceMFA,
		"GET /.mfa/api/me 10.0.0.1",
		"GET /orders/%2e%2e/1 10.0.0.1"+`,"mfa_auth_type":"anonymous","mfa_decision":"implicitDeny"`,
	)
	d, err := Replay(strings.NewReader(log+"\n"), mustSet(t, readsOpen), mustSet(t, readsMFA))
	if err != nil {
		t.Fatal(err)
	}
	if d.Lines != 8 || d.Replayed != 6 || d.Unexplained != 0 || len(d.Changes) != 2 {
		t.Fatalf("%+v", d)
	}
	want := []Change{
		{Method: "GET", Path: "/orders/*", Old: "allowed", New: "implicitDeny", OldStatement: "p.json#Reads", Count: 3},
		{Method: "GET", Path: "/orders/*", Old: "allowed", New: "explicitDeny", OldStatement: "p.json#Reads", NewStatement: "p.json#NoOutsiders", Count: 1},
	}
	for i := range want {
		if d.Changes[i] != want[i] {
			t.Errorf("change %d: %+v, want %+v", i, d.Changes[i], want[i])
		}
	}
	if s := d.Changes[0].String(); s != "     3  GET /orders/*  allowed -> implicitDeny  (p.json#Reads -> no statement)" {
		t.Errorf("line: %q", s)
	}
}

// TestReplayCountsUnexplained: a logged decision the old policy does not reproduce is counted.
func TestReplayCountsUnexplained(t *testing.T) {
	log := logOf("GET /x 10.0.0.1" + `,"mfa_auth_type":"session","mfa_user":"a","mfa_present":false,"mfa_decision":"explicitDeny"`)
	d, err := Replay(strings.NewReader(log), mustSet(t, readsOpen), mustSet(t, readsOpen))
	if err != nil || d.Unexplained != 1 || len(d.Changes) != 0 {
		t.Fatalf("%+v %v", d, err)
	}
}

// TestReplayReadsSecureBehindAProxy: a line without Caddy's "tls" field was HTTPS when the gate
// logged mfa_secure (a trusted proxy ended TLS), and the replay decides it so.
func TestReplayReadsSecureBehindAProxy(t *testing.T) {
	const httpsOnly = `{"Statement": [{"Sid": "HTTPS", "Effect": "Allow", "Action": "GET", "Condition": {"Bool": {"req:Secure": "true"}}}]}`
	const anon = `,"mfa_auth_type":"anonymous","mfa_decision":`
	log := logOf("GET /a 10.0.0.1"+`,"mfa_secure":true`+anon+`"allowed"`, "GET /b 10.0.0.1"+anon+`"implicitDeny"`)
	d, err := Replay(strings.NewReader(log), mustSet(t, httpsOnly), mustSet(t, httpsOnly))
	if err != nil || d.Replayed != 2 || d.Unexplained != 0 || len(d.Changes) != 0 {
		t.Fatalf("%+v %v", d, err)
	}
}

// TestReplayRefusesBadLogs: a log without the gate's fields, not JSON, or with a field that
// cannot be read is refused, naming the line.
func TestReplayRefusesBadLogs(t *testing.T) {
	for name, tc := range map[string]struct{ log, want string }{
		"no mfa fields": {logOf("GET /x 10.0.0.1", "POST /y 10.0.0.1"), "no line carries the mfa_* fields"},
		"empty":         {"", "no line carries the mfa_* fields"},
		"common log":    {`127.0.0.1 - - [02/Dec/2026:08:00:00 +0000] "GET / HTTP/1.1" 200 2` + "\n", "line 1: not a JSON log entry"},
		"bad client ip": {logOf("GET /x 10.0.0" + `,"mfa_auth_type":"anonymous","mfa_decision":"implicitDeny"`), "line 1: request.client_ip"},
		"bad uri":       {logOf("GET x 10.0.0.1" + `,"mfa_auth_type":"anonymous","mfa_decision":"implicitDeny"`), "line 1: request.path"},
		"bad time":      {strings.Replace(logOf("GET /x 10.0.0.1"+`,"mfa_auth_type":"anonymous","mfa_decision":"implicitDeny"`), "1796198601.5", `"yesterday"`, 1), "line 1: ts"},
		"line too long": {logOf("GET /" + strings.Repeat("a", maxLogLine) + " 10.0.0.1"), "line 1: bufio.Scanner: token too long"},
		"second line":   {logOf("GET /x 10.0.0.1") + "{\n", "line 2: not a JSON log entry"},
	} {
		_, err := Replay(strings.NewReader(tc.log), mustSet(t, readsOpen), mustSet(t, readsMFA))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
		if name == "no mfa fields" && !errors.Is(err, ErrNoMFAFields) {
			t.Errorf("%s: %v is not ErrNoMFAFields", name, err)
		}
	}
}

// TestReplayReadsTimeFormats: epoch seconds and RFC 3339 both set req:Time and mfa:Age's base.
func TestReplayReadsTimeFormats(t *testing.T) {
	set := mustSet(t, `{"Statement": {"Effect": "Allow", "Condition": {"DateGreaterThan": {"req:Time": "2026-12-01T00:00:00Z"}, "NumericLessThan": {"mfa:Age": "60"}}}}`)
	deny := mustSet(t, `{"Statement": {"Effect": "Deny"}}`)
	const fields = `,"mfa_auth_type":"token","mfa_user":"a","mfa_present":true,"mfa_age":30,"mfa_method":"virtual","mfa_decision":"allowed"`
	for _, ts := range []string{"1796198601.5", `"2026-12-02T08:00:00Z"`, `"2026-12-02T08:00:00.123+01:00"`} {
		log := strings.Replace(logOf("GET /x 10.0.0.1"+fields), "1796198601.5", ts, 1)
		d, err := Replay(strings.NewReader(log), set, deny)
		if err != nil || d.Unexplained != 0 || len(d.Changes) != 1 {
			t.Errorf("ts %s: %+v %v", ts, d, err)
		}
	}
}

func TestPathPattern(t *testing.T) {
	for in, want := range map[string]string{
		"/":                        "/",
		"/api/orders":              "/api/orders",
		"/api/orders/42":           "/api/orders/*",
		"/api/users/7/orders/1001": "/api/users/*/orders/*",
		"/files/3F2504E0-4F89-11D3-9A0C-0305E82C3301": "/files/*",
		"/blobs/deadbeefcafe1234":                     "/blobs/*",
		"/blobs/deadbeefcafe":                         "/blobs/deadbeefcafe",
		"/v2/items":                                   "/v2/items",
		"/api/orders/42/":                             "/api/orders/*/",
		"/static/app.3f2504e0.js":                     "/static/app.3f2504e0.js",
	} {
		if got := PathPattern(in); got != want {
			t.Errorf("PathPattern(%q) = %q, want %q", in, got, want)
		}
	}
}

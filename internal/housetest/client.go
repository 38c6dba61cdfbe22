package housetest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"

	"github.com/caddy-mfa/caddy-mfa/web"
)

// Client is one browser or API client, with its own cookies and CSRF token.
type Client struct {
	E    *Env
	HTTP *http.Client
	CSRF string
	// Header is sent with every request (a browser's User-Agent, say), before Do's own headers.
	Header http.Header
}

// Client is a new client of the env's server, which follows no redirect.
func (e *Env) Client() *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{E: e, HTTP: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// Response is an answer with its body read.
type Response struct {
	*http.Response
	Body []byte
}

// JSON reads the body into v.
func (r *Response) JSON(v any) {
	if err := json.Unmarshal(r.Body, v); err != nil {
		panic(err)
	}
}

// ErrorCode is the code of SPEC's error body; "" when there is none.
func (r *Response) ErrorCode() string {
	var b web.ErrorBody
	_ = json.Unmarshal(r.Body, &b)
	return b.Error.Code
}

// Request is the request Do sends: body as a string, url.Values (a form) or JSON of anything
// else, with the client's CSRF token and then headers (name, value, ...).
func (c *Client) Request(method, path string, body any, headers ...string) *http.Request {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case url.Values:
		rd = strings.NewReader(b.Encode())
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, c.E.Server.URL+path, rd)
	switch body.(type) {
	case url.Values:
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case nil:
	default:
		req.Header.Set("Content-Type", "application/json")
	}
	for name, values := range c.Header {
		req.Header[name] = values
	}
	if c.CSRF != "" {
		req.Header.Set("X-CSRF-Token", c.CSRF)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return req
}

// Send sends req and reads the answer.
func (c *Client) Send(req *http.Request) (*Response, error) {
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return &Response{Response: resp, Body: raw}, nil
}

// Do sends a request (see Request) and fails the test when it cannot.
func (c *Client) Do(method, path string, body any, headers ...string) *Response {
	c.E.T.Helper()
	r, err := c.Send(c.Request(method, path, body, headers...))
	if err != nil {
		c.E.T.Fatal(err)
	}
	return r
}

// Login signs in through the API and keeps the session's CSRF token.
func (c *Client) Login(user, password string) *Response {
	c.E.T.Helper()
	r := c.Do("POST", "/.mfa/api/login", map[string]string{"username": user, "password": password})
	if r.StatusCode == http.StatusOK {
		var lr struct {
			CSRFToken string `json:"csrf_token"`
		}
		r.JSON(&lr)
		c.CSRF = lr.CSRFToken
	}
	return r
}

// TwoCodes is the body of enable and resync.
type TwoCodes struct {
	Code1 string `json:"code1"`
	Code2 string `json:"code2"`
}

// Enrol creates and enables a virtual device for the signed-in client, returning its secret.
func (c *Client) Enrol(name string) (serial, secret string) {
	c.E.T.Helper()
	r := c.Do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": name})
	if r.StatusCode != http.StatusOK {
		c.E.T.Fatalf("create virtual device: %d %s", r.StatusCode, r.Body)
	}
	var cv web.VirtualDevice
	r.JSON(&cv)
	r = c.Do("POST", "/.mfa/api/devices/"+cv.Serial+"/enable", TwoCodes{Code1: c.E.Code(cv.Secret, -1), Code2: c.E.Code(cv.Secret, 0)})
	if r.StatusCode != http.StatusOK {
		c.E.T.Fatalf("enable: %d %s", r.StatusCode, r.Body)
	}
	var out struct {
		CSRFToken string `json:"csrf_token"`
	}
	r.JSON(&out)
	c.CSRF = out.CSRFToken
	return cv.Serial, cv.Secret
}

// MustURL parses s.
func MustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// Pair is the two codes of enable and resync.
func Pair(code1, code2 string) TwoCodes { return TwoCodes{Code1: code1, Code2: code2} }

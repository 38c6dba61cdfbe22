package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// The client side of RFC 8628: ask the site for codes, show them, poll until the user
// answers in a browser.

// deviceClient signs in to one site (its id from siteID: origin and prefix).
type deviceClient struct {
	site     string
	http     *http.Client
	out      io.Writer // where the person reads the code
	terminal bool      // out is a terminal: draw a QR code too
	sleep    func(ctx context.Context, d time.Duration) error
	now      func() time.Time
}

func newDeviceClient(site string, out io.Writer, terminal bool) *deviceClient {
	return &deviceClient{site: site, http: &http.Client{Timeout: 30 * time.Second}, out: out, terminal: terminal,
		sleep: sleepCtx, now: time.Now}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

type deviceCodes struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

// tokenAnswer is the token endpoint's answer: a token, or RFC 6749's error.
type tokenAnswer struct {
	sessionToken
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// login runs the whole flow and returns the token, not yet cached.
func (d *deviceClient) login(ctx context.Context, clientName string, duration time.Duration) (*cachedToken, error) {
	body := map[string]any{"client_name": clientName}
	if duration > 0 {
		body["duration_seconds"] = int64(duration / time.Second)
	}
	var codes deviceCodes
	if status, raw, err := d.post("/api/device/authorize", body); err != nil {
		return nil, err
	} else if status != http.StatusOK {
		return nil, fmt.Errorf("asking %s for a code: %s", d.site, errorMessage(raw, http.StatusText(status)))
	} else if err := json.Unmarshal(raw, &codes); err != nil || codes.DeviceCode == "" {
		return nil, fmt.Errorf("asking %s for a code: the answer is not a device authorization", d.site)
	}
	d.show(&codes)
	tok, err := d.poll(ctx, &codes)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(d.out, "Signed in to %s until %s.\n", d.site, tok.Expiration.Local().Format(time.DateTime))
	return &cachedToken{Site: d.site, SessionToken: tok.SessionToken, Expiration: tok.Expiration, MFAAuthenticated: tok.MFAAuthenticated}, nil
}

// show tells the person where to go and what to type.
func (d *deviceClient) show(c *deviceCodes) {
	fmt.Fprintf(d.out, "To sign in, open %s in a browser and enter the code\n\n    %s\n\nor open %s\n", c.VerificationURI, c.UserCode, c.VerificationURIComplete)
	if d.terminal {
		if qr, err := terminalQR(c.VerificationURIComplete); err == nil {
			fmt.Fprintf(d.out, "\nor scan it:\n\n%s", qr)
		}
	}
	fmt.Fprintf(d.out, "\nWaiting for approval (the code expires in %d minutes)...\n", (c.ExpiresIn+59)/60)
}

// poll asks at the interval, 5 s more after each slow_down (RFC 8628 section 3.5), until the
// grant is answered or its codes expire.
func (d *deviceClient) poll(ctx context.Context, c *deviceCodes) (*sessionToken, error) {
	interval := max(time.Duration(c.Interval)*time.Second, time.Second)
	deadline := d.now().Add(time.Duration(c.ExpiresIn) * time.Second)
	for d.now().Before(deadline) {
		if err := d.sleep(ctx, interval); err != nil {
			return nil, err
		}
		status, raw, err := d.post("/api/device/token", map[string]string{"device_code": c.DeviceCode})
		if err != nil {
			return nil, err
		}
		var a tokenAnswer
		if json.Unmarshal(raw, &a) != nil {
			return nil, fmt.Errorf("polling %s: %s", d.site, http.StatusText(status))
		}
		switch {
		case status == http.StatusOK && a.SessionToken != "":
			return &a.sessionToken, nil
		case a.Error == "authorization_pending":
		case a.Error == "slow_down":
			interval += 5 * time.Second
		case a.Error == "access_denied":
			return nil, errors.New("the request was denied in the browser")
		case a.Error == "expired_token":
			return nil, errors.New("the code expired before it was approved; run the command again")
		default:
			return nil, fmt.Errorf("polling %s: %s", d.site, cmpOr(a.Description, errorMessage(raw, http.StatusText(status))))
		}
	}
	return nil, errors.New("the code expired before it was approved; run the command again")
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// post sends body as JSON to the site's path and reads the answer.
func (d *deviceClient) post(path string, body any) (int, []byte, error) {
	raw, _ := json.Marshal(body)
	resp, err := d.http.Post(d.site+path, "application/json", bytes.NewReader(raw))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, answer, err
}

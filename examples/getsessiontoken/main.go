// Command getsessiontoken is AWS's MFA sample code for caddy-mfa: an API consumer that holds a
// long-term access key calls a protected route, is challenged for MFA, trades the key and a code
// from its MFA device for a session token (GetSessionToken), and calls again with the token.
//
// It needs an access key and an enabled virtual device of the demo user: run
// examples/mfa-session.sh against the demo first (go run ./cmd/caddy run --config
// Caddyfile.example); it sets both up (or reuses them) and prints the lines to run, such as
//
//	export MFA_ACCESS_KEY_ID=MKIA... MFA_SECRET_ACCESS_KEY=...
//	go run ./examples/getsessiontoken -url http://localhost:8080 -serial caddy-mfa:demo:sample -code $(oathtool --totp -b SEED)
//
// with the time from which they work: a device accepts only codes of steps after the last one it
// accepted, and the script has just used one (InvalidAuthenticationCode before then). It asks for
// the code on standard input unless -code gives it.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	site := flag.String("url", "http://localhost:8080", "the site")
	path := flag.String("path", "/", "the protected path to call")
	serial := flag.String("serial", "", "the MFA device's serial number")
	code := flag.String("code", "", "the device's current code (asked for when empty)")
	flag.Parse()
	if err := run(*site, *path, *serial, *code); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// run walks AWS's sample through its three calls, each in a function of its own so that the
// sample reads as the three steps it documents.
func run(site, path, serial, code string) error {
	id, secret := os.Getenv("MFA_ACCESS_KEY_ID"), os.Getenv("MFA_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return errors.New("set MFA_ACCESS_KEY_ID and MFA_SECRET_ACCESS_KEY")
	}
	client := &http.Client{Timeout: 30 * time.Second}
	if err := callWithoutMFA(client, site+path, id, secret); err != nil {
		return err
	}
	token, err := getSessionToken(client, site, id, secret, serial, code)
	if err != nil {
		return err
	}
	return callWithToken(client, site+path, token)
}

// callWithoutMFA is step 1: with the long-term key alone, the route demands MFA.
func callWithoutMFA(client *http.Client, url, id, secret string) error {
	req, _ := http.NewRequest("GET", url, nil)
	req.SetBasicAuth(id, secret)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	fmt.Printf("without MFA: %s (%s)\n", resp.Status, resp.Header.Get("WWW-Authenticate"))
	if resp.StatusCode != http.StatusUnauthorized {
		return fmt.Errorf("expected 401, got %s", resp.Status)
	}
	return nil
}

// getSessionToken is step 2: GetSessionToken with the device's serial and code, which it asks
// for on standard input when code is empty.
func getSessionToken(client *http.Client, site, id, secret, serial, code string) (string, error) {
	if code == "" {
		fmt.Print("Enter the MFA code: ")
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		code = strings.TrimSpace(line)
	}
	body, _ := json.Marshal(map[string]any{"serial": serial, "code": code, "duration_seconds": 3600})
	req, _ := http.NewRequest("POST", site+"/.mfa/api/session-token", bytes.NewReader(body))
	req.SetBasicAuth(id, secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	var tok struct {
		SessionToken string    `json:"session_token"`
		Expiration   time.Time `json:"expiration"`
		Error        *struct{ Code, Message string }
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil {
		return "", err
	}
	if tok.Error != nil {
		return "", fmt.Errorf("GetSessionToken: %s: %s", tok.Error.Code, tok.Error.Message)
	}
	fmt.Printf("session token until %s\n", tok.Expiration.Format(time.RFC3339))
	return tok.SessionToken, nil
}

// callWithToken is step 3: the same call with the session token.
func callWithToken(client *http.Client, url, token string) error {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	fmt.Printf("with MFA: %s\n", resp.Status)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("expected 200, got %s", resp.Status)
	}
	return nil
}

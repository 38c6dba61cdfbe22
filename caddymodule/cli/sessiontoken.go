package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// `caddy mfa get-session-token`: the API consumer's own command, which speaks to the site, not to
// the admin API.

func getSessionTokenCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "get-session-token --url SITE [--serial SERIAL --code CODE] [--duration SECONDS]",
		Short: "Trades an access key (and an MFA code) for a session token, printed as export lines",
		Long: `Trades a long-term access key, and optionally an MFA device's serial and code, for a
short-lived session token (STS GetSessionToken), and prints shell export lines:

  eval "$(caddy mfa get-session-token --url https://app.example.com --serial SERIAL --code 123456)"
  curl -H "Authorization: Bearer $MFA_SESSION_TOKEN" https://app.example.com/api/...

The access key comes from --access-key-id/--secret-access-key or, better (flags show in process
lists), from MFA_ACCESS_KEY_ID and MFA_SECRET_ACCESS_KEY.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			authz, err := accessKeyAuthorization(c)
			if err != nil {
				return err
			}
			body, err := tokenRequestBody(c)
			if err != nil {
				return err
			}
			tok, err := requestSessionToken(siteAPI(c, "/api/session-token"), authz, body)
			if err != nil {
				return err
			}
			printExports(c, tok)
			return nil
		},
	}
	tokenFlags(c, "lifetime in seconds (default: the site's)", "a session policy file (JSON) that narrows the token")
	return c
}

// tokenFlags are the flags of the commands that ask a site for a token: the site, the caller's
// access key, a code, the lifetime and a session policy.
func tokenFlags(c *cobra.Command, duration, policy string) {
	c.Flags().String("url", "", "the site, e.g. https://app.example.com (required)")
	c.Flags().String("prefix", "/.mfa", "the gateway's prefix on that site")
	c.Flags().String("access-key-id", "", "access key id (default $MFA_ACCESS_KEY_ID)")
	c.Flags().String("secret-access-key", "", "secret access key (default $MFA_SECRET_ACCESS_KEY)")
	c.Flags().String("serial", "", "the MFA device's serial number")
	c.Flags().String("code", "", "the device's current code")
	c.Flags().Int64("duration", 0, duration)
	c.Flags().String("policy", "", policy)
	_ = c.MarkFlagRequired("url")
}

// siteAPI is the URL of the site's API call path (under its prefix).
func siteAPI(c *cobra.Command, path string) string {
	return strings.TrimRight(flagValue(c, "url"), "/") + flagValue(c, "prefix") + path
}

// printExports prints a token as the shell export lines eval takes; a role's token also names
// its role and role session.
func printExports(c *cobra.Command, tok *sessionToken) {
	fmt.Fprintf(c.OutOrStdout(), "export MFA_SESSION_TOKEN=%s\nexport MFA_SESSION_EXPIRATION=%s\nexport MFA_AUTHENTICATED=%t\n",
		tok.SessionToken, tok.Expiration.Format(time.RFC3339), tok.MFAAuthenticated)
	if tok.Role != "" {
		fmt.Fprintf(c.OutOrStdout(), "export MFA_ROLE=%s\nexport MFA_ROLE_SESSION_NAME=%s\n", tok.Role, tok.RoleSessionName)
	}
}

// accessKeyAuthorization is the Authorization header of the access key the flags or the
// environment give.
func accessKeyAuthorization(c *cobra.Command) (string, error) {
	id, secret := flagValue(c, "access-key-id"), flagValue(c, "secret-access-key")
	if id == "" {
		id = os.Getenv("MFA_ACCESS_KEY_ID")
	}
	if secret == "" {
		secret = os.Getenv("MFA_SECRET_ACCESS_KEY")
	}
	if id == "" || secret == "" {
		return "", errors.New("no access key: give --access-key-id and --secret-access-key, or set MFA_ACCESS_KEY_ID and MFA_SECRET_ACCESS_KEY")
	}
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret)), nil
}

// tokenRequestBody is the body both token commands send: serial, code, duration and policy.
func tokenRequestBody(c *cobra.Command) (map[string]any, error) {
	body := map[string]any{}
	if s := flagValue(c, "serial"); s != "" {
		body["serial"] = s
	}
	if s := flagValue(c, "code"); s != "" {
		body["code"] = s
	}
	if d, _ := c.Flags().GetInt64("duration"); d > 0 {
		body["duration_seconds"] = d
	}
	if file := flagValue(c, "policy"); file != "" {
		raw, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--policy: %w", err)
		}
		if !json.Valid(raw) {
			return nil, fmt.Errorf("--policy: %s is not JSON", file)
		}
		body["policy"] = json.RawMessage(raw)
	}
	return body, nil
}

type sessionToken struct {
	SessionToken     string    `json:"session_token"`
	Expiration       time.Time `json:"expiration"`
	MFAAuthenticated bool      `json:"mfa_authenticated"`
	Role             string    `json:"role"`
	RoleSessionName  string    `json:"role_session_name"`
}

// requestSessionToken posts body to a token endpoint of the site with the Authorization
// header authz, and reads the token.
func requestSessionToken(site, authz string, body map[string]any) (*sessionToken, error) {
	raw, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, site, bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", authz)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New(errorMessage(answer, resp.Status))
	}
	var tok sessionToken
	if err := json.Unmarshal(answer, &tok); err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	return &tok, nil
}

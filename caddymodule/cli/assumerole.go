package cli

import (
	"errors"
	"os"

	"github.com/spf13/cobra"
)

// `caddy mfa assume-role`: the API consumer's STS AssumeRole, beside get-session-token.

func assumeRoleCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "assume-role --url SITE --role ROLE [--session-name NAME] [--serial SERIAL --code CODE] [--duration SECONDS] [--policy FILE]",
		Short: "Trades an access key or a session token (and an MFA code) for a role's token, printed as export lines",
		Long: `Assumes a role the site declares (STS AssumeRole) and prints shell export lines:

  eval "$(caddy mfa assume-role --url https://app.example.com --role deployer --serial SERIAL --code 123456)"
  curl -X POST -H "Authorization: Bearer $MFA_SESSION_TOKEN" https://app.example.com/deploy/...

The caller is a session token (--session-token, or MFA_SESSION_TOKEN as get-session-token
exports it) or else an access key (--access-key-id/--secret-access-key, or MFA_ACCESS_KEY_ID
and MFA_SECRET_ACCESS_KEY). A role token cannot assume another role.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			authz, err := callerAuthorization(c)
			if err != nil {
				return err
			}
			body, err := tokenRequestBody(c)
			if err != nil {
				return err
			}
			body["role"] = flagValue(c, "role")
			if s := flagValue(c, "session-name"); s != "" {
				body["session_name"] = s
			}
			tok, err := requestSessionToken(siteAPI(c, "/api/assume-role"), authz, body)
			if err != nil {
				return err
			}
			printExports(c, tok)
			return nil
		},
	}
	tokenFlags(c, "lifetime in seconds (default: an hour, or the role's max_duration when shorter)",
		"a session policy file (JSON) that narrows the token further")
	c.Flags().String("role", "", "the role to assume (required)")
	c.Flags().String("session-name", "", "a name for this role session, for the audit log (default: your user name)")
	c.Flags().String("session-token", "", "a session token to call with (default $MFA_SESSION_TOKEN)")
	_ = c.MarkFlagRequired("role")
	return c
}

// callerAuthorization is a session token's Authorization header when one is given, else an
// access key's.
func callerAuthorization(c *cobra.Command) (string, error) {
	tok := flagValue(c, "session-token")
	if tok == "" {
		tok = os.Getenv("MFA_SESSION_TOKEN")
	}
	if tok != "" {
		return "Bearer " + tok, nil
	}
	authz, err := accessKeyAuthorization(c)
	if err != nil {
		return "", errors.New("no credential: give --session-token (or set MFA_SESSION_TOKEN), or an access key (MFA_ACCESS_KEY_ID and MFA_SECRET_ACCESS_KEY)")
	}
	return authz, nil
}

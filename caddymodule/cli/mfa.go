// Package cli is the `caddy mfa` command: the operators' calls to a running Caddy's admin API
// (users, devices, keys, reset, policy simulate and stats, hardware import), the policy checks
// that run on files (lint, test, diff), and an API consumer's get-session-token. It speaks HTTP
// and JSON to the server and judges files with policy and policy/sim, so it shares no state
// with the module it drives; caddymodule imports it to register the command.
//
// It must never print or log a secret it was not asked for, nor put one into a URI or header
// (Caddy's admin endpoint logs both).
package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/caddy-mfa/caddy-mfa/policy"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "mfa",
		Usage: "<command> [flags]",
		Short: "Manages caddy-mfa users, keys and policies through the admin API",
		Long: `
Operators' commands for caddy-mfa. They speak to a running Caddy's admin API (--address,
default ` + caddy.DefaultAdminListen + `), except 'policy lint', 'policy diff' and 'policy test'
with policy files, which read files, and 'get-session-token', 'assume-role', 'login', 'token',
'exec' and 'logout', which an API consumer runs against a site.`,
		CobraFunc: Build,
	})
}

// Build adds the mfa subcommands and their flags to cmd.
func Build(cmd *cobra.Command) {
	cmd.PersistentFlags().String("address", caddy.DefaultAdminListen, "address of Caddy's admin API")

	user := &cobra.Command{Use: "user", Short: "Manages users"}
	user.AddCommand(
		&cobra.Command{Use: "list", Short: "Lists users", Args: cobra.NoArgs, RunE: func(c *cobra.Command, _ []string) error {
			return adminCall(c, "GET", "/mfa/users", nil)
		}},
		userAddCommand(),
		userDeleteCommand(),
	)
	accessKey := &cobra.Command{Use: "access-key", Short: "Manages access keys"}
	accessKey.AddCommand(&cobra.Command{
		Use: "create --user USER", Short: "Creates an access key for a user (the secret is shown once)", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return adminCall(c, "POST", "/mfa/users/"+url.PathEscape(flagValue(c, "user"))+"/access-keys", nil)
		},
	})
	accessKey.Commands()[0].Flags().String("user", "", "the user (required)")
	_ = accessKey.Commands()[0].MarkFlagRequired("user")

	revoke := &cobra.Command{
		Use: "revoke-sessions --user USER", Short: "Voids every session and token of a user", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return adminCall(c, "POST", "/mfa/users/"+url.PathEscape(flagValue(c, "user"))+"/revoke-sessions", nil)
		},
	}
	revoke.Flags().String("user", "", "the user (required)")
	_ = revoke.MarkFlagRequired("user")

	pol := &cobra.Command{Use: "policy", Short: "Checks policy documents"}
	pol.AddCommand(policyLintCommand(), policySimulateCommand(), policyTestCommand(), policyStatsCommand(), policyDiffCommand())

	cmd.AddCommand(user, accessKey, revoke, pol, getSessionTokenCommand(), assumeRoleCommand(), resealCommand())
	cmd.AddCommand(loginCommand(), tokenCommand(), execCommand(), logoutCommand())
	cmd.AddCommand(devicesCommand(), deviceCommand(), hardwareCommand(), resetCommand(), &cobra.Command{
		Use: "report", Short: "Prints the credential report (CSV)", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return adminCall(c, "GET", "/mfa/report", nil) },
	})
}

func devicesCommand() *cobra.Command {
	c := &cobra.Command{
		Use: "devices [--user USER] [--assignment Assigned|Unassigned|Any]", Short: "Lists MFA devices", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if u := flagValue(c, "user"); u != "" {
				return adminCall(c, "GET", "/mfa/users/"+url.PathEscape(u)+"/devices", nil)
			}
			return adminCall(c, "GET", "/mfa/devices?assignment="+url.QueryEscape(flagValue(c, "assignment")), nil)
		},
	}
	c.Flags().String("user", "", "only this user's devices (ListMFADevices)")
	c.Flags().String("assignment", "Any", "Assigned, Unassigned or Any (ListVirtualMFADevices)")
	return c
}

func deviceCommand() *cobra.Command {
	device := &cobra.Command{Use: "device", Short: "Creates, enables, resyncs, deactivates and deletes MFA devices"}
	userSerial := func(c *cobra.Command) string {
		return "/mfa/users/" + url.PathEscape(flagValue(c, "user")) + "/devices/" + url.PathEscape(flagValue(c, "serial"))
	}
	withCodes := func(verb, short string) *cobra.Command {
		c := &cobra.Command{
			Use: verb + " --user USER --serial SERIAL --code1 CODE --code2 NEXT", Short: short, Args: cobra.NoArgs,
			RunE: func(c *cobra.Command, _ []string) error {
				return adminCall(c, "POST", userSerial(c)+"/"+verb, map[string]string{"code1": flagValue(c, "code1"), "code2": flagValue(c, "code2")})
			},
		}
		for _, f := range []string{"user", "serial", "code1", "code2"} {
			c.Flags().String(f, "", "")
			_ = c.MarkFlagRequired(f)
		}
		return c
	}
	create := &cobra.Command{
		Use: "create-virtual --user USER --name NAME", Short: "Creates a virtual device for a user (prints its secret once)", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return adminCall(c, "POST", "/mfa/users/"+url.PathEscape(flagValue(c, "user"))+"/devices/virtual", map[string]string{"name": flagValue(c, "name")})
		},
	}
	deactivate := &cobra.Command{
		Use: "deactivate --user USER --serial SERIAL", Short: "Takes a device from its user and revokes their sessions", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return adminCall(c, "POST", userSerial(c)+"/deactivate", nil)
		},
	}
	del := &cobra.Command{
		Use: "delete --serial SERIAL", Short: "Deletes an unassigned device", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return adminCall(c, "DELETE", "/mfa/devices/"+url.PathEscape(flagValue(c, "serial")), nil)
		},
	}
	for c, flags := range map[*cobra.Command][]string{create: {"user", "name"}, deactivate: {"user", "serial"}, del: {"serial"}} {
		for _, f := range flags {
			c.Flags().String(f, "", "")
			_ = c.MarkFlagRequired(f)
		}
	}
	device.AddCommand(create, withCodes("enable", "Assigns and enables a device with two consecutive codes"),
		withCodes("resync", "Resynchronises a device with two consecutive codes"), deactivate, del)
	return device
}

func resetCommand() *cobra.Command {
	c := &cobra.Command{
		Use: "reset --user USER", Short: "Lost device: deactivates every device, voids recovery codes, revokes sessions", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return adminCall(c, "POST", "/mfa/users/"+url.PathEscape(flagValue(c, "user"))+"/reset", nil)
		},
	}
	c.Flags().String("user", "", "the user (required)")
	_ = c.MarkFlagRequired("user")
	return c
}

func flagValue(c *cobra.Command, name string) string {
	v, _ := c.Flags().GetString(name)
	return v
}

func userAddCommand() *cobra.Command {
	c := &cobra.Command{
		Use: "add NAME [--group G]... [--password-stdin]", Short: "Adds a user", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			groups, _ := c.Flags().GetStringSlice("group")
			body := map[string]any{"name": args[0], "groups": groups}
			if stdin, _ := c.Flags().GetBool("password-stdin"); stdin {
				pw, err := io.ReadAll(io.LimitReader(os.Stdin, 1024))
				if err != nil {
					return err
				}
				body["password"] = strings.TrimRight(string(pw), "\r\n")
			}
			return adminCall(c, "POST", "/mfa/users", body)
		},
	}
	c.Flags().StringSlice("group", nil, "a group of the user (repeat or comma-separate)")
	c.Flags().Bool("password-stdin", false, "read the user's password from standard input")
	return c
}

func userDeleteCommand() *cobra.Command {
	c := &cobra.Command{
		Use: "delete NAME [--force]", Short: "Deletes a user (with --force, also their devices and keys)", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			uri := "/mfa/users/" + url.PathEscape(args[0])
			if force, _ := c.Flags().GetBool("force"); force {
				uri += "?force=true"
			}
			return adminCall(c, "DELETE", uri, nil)
		},
	}
	c.Flags().Bool("force", false, "delete the user's devices and access keys too")
	return c
}

func policyLintCommand() *cobra.Command {
	c := &cobra.Command{
		Use: "lint [--trust] FILE...", Short: "Validates policy documents and flags known traps", Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, files []string) error {
			lint := policy.Lint
			if trust, _ := c.Flags().GetBool("trust"); trust {
				lint = policy.LintTrust
			}
			traps := 0
			for _, file := range files {
				raw, err := os.ReadFile(file)
				if err != nil {
					return err
				}
				d, err := policy.Parse(file, raw)
				if err != nil {
					return err
				}
				for _, f := range lint(d) {
					fmt.Fprintln(c.OutOrStdout(), f.String())
					traps++
				}
			}
			if traps > 0 {
				return fmt.Errorf("%d finding(s)", traps)
			}
			fmt.Fprintln(c.OutOrStdout(), "no findings")
			return nil
		},
	}
	c.Flags().Bool("trust", false, "the files are roles' trust policies: also flag any Allow that admits callers without a factor")
	return c
}

func policySimulateCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "simulate [--policy FILE]... --path PATH [--method M] [--host H] [--source-ip IP] [--context KEY=VALUE]...",
		Short: "Asks the running gateway how it would decide a request",
		Long: `Asks the running gateway how it would decide a request. Without --policy it uses the
policies of the route the request would reach. Context keys left out are absent, as for a
long-term access key; user:Groups takes a comma-separated list. Example:

  caddy mfa policy simulate --policy api.json --method POST --path /api/x \
      --context user:Id=alice --context mfa:Present=true --context mfa:Age=1200`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			files, _ := c.Flags().GetStringArray("policy")
			pairs, _ := c.Flags().GetStringArray("context")
			body := map[string]any{"request": map[string]string{
				"method": flagValue(c, "method"), "host": flagValue(c, "host"), "path": flagValue(c, "path"), "source_ip": flagValue(c, "source-ip"),
			}}
			var docs []json.RawMessage
			for _, f := range files {
				raw, err := os.ReadFile(f)
				if err != nil {
					return err
				}
				docs = append(docs, raw)
			}
			if len(docs) > 0 {
				body["policies"] = docs
			}
			ctx := map[string]any{}
			for _, p := range pairs {
				k, v, ok := strings.Cut(p, "=")
				if !ok {
					return fmt.Errorf("--context %q: want KEY=VALUE", p)
				}
				ctx[k] = contextValue(k, v)
			}
			body["context"] = ctx
			return adminCall(c, "POST", "/mfa/policy/simulate", body)
		},
	}
	c.Flags().StringArray("policy", nil, "a policy document file (repeatable)")
	c.Flags().String("method", "GET", "the request's HTTP method")
	c.Flags().String("host", "", "the request's host (with :port to pick a server)")
	c.Flags().String("path", "", "the request's path (required)")
	c.Flags().String("source-ip", "", "the client's IP address")
	c.Flags().StringArray("context", nil, "a condition key and its value, KEY=VALUE (repeatable)")
	_ = c.MarkFlagRequired("path")
	return c
}

// contextValue types a --context value as the simulator takes it.
func contextValue(key, v string) any {
	switch key {
	case "user:Groups":
		return strings.Split(v, ",")
	case "mfa:Age":
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	}
	return v
}

// adminCall sends one JSON request to the admin API and prints the answer; a refusal is an error.
func adminCall(c *cobra.Command, method, uri string, body any) error {
	headers, rd, err := jsonBody(body)
	if err != nil {
		return err
	}
	return adminSend(c, method, uri, headers, rd)
}

// jsonBody is body as a JSON request body and its headers; nil: no body.
func jsonBody(body any) (http.Header, io.Reader, error) {
	headers := http.Header{}
	if body == nil {
		return headers, nil, nil
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, nil, err
	}
	headers.Set("Content-Type", "application/json")
	return headers, bytes.NewReader(raw), nil
}

func adminSend(c *cobra.Command, method, uri string, headers http.Header, body io.Reader) error {
	resp, err := adminRequest(c, method, uri, headers, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return printAnswer(c, resp)
}

// adminRequest sends one request to the admin API at --address.
func adminRequest(c *cobra.Command, method, uri string, headers http.Header, body io.Reader) (*http.Response, error) {
	addr, _ := c.Flags().GetString("address")
	resp, err := caddycmd.AdminAPIRequest(addr, method, uri, headers, body)
	if err != nil {
		// Caddy's client turns refusals into errors that quote the body: show the message.
		if i := strings.IndexByte(err.Error(), '{'); i >= 0 {
			return nil, errors.New(errorMessage([]byte(err.Error()[i:]), err.Error()))
		}
		return nil, err
	}
	return resp, nil
}

func printAnswer(c *cobra.Command, resp *http.Response) error {
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return errors.New(errorMessage(raw, resp.Status))
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, raw, "", "  ") == nil {
		raw = pretty.Bytes()
	}
	_, err = fmt.Fprintln(c.OutOrStdout(), strings.TrimSpace(string(raw)))
	return err
}

// errorMessage reads the gateway's error body ({"error": {"code","message"}}) or Caddy's own.
func errorMessage(raw []byte, status string) string {
	var ours struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if json.Unmarshal(raw, &ours) == nil && ours.Error.Code != "" {
		return ours.Error.Code + ": " + ours.Error.Message
	}
	var caddys struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(raw, &caddys) == nil && caddys.Error != "" {
		return caddys.Error
	}
	return status
}

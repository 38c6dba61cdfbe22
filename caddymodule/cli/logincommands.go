package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
)

// `caddy mfa login | token | exec | logout`: an API consumer signs in through a browser with
// any factor (the site's device authorization) and keeps the session token until it expires.

func siteFlags(c *cobra.Command, withLogin bool) {
	c.Flags().String("url", "", "the site, e.g. https://app.example.com (required)")
	c.Flags().String("prefix", "/.mfa", "the gateway's prefix on that site")
	if withLogin {
		c.Flags().Duration("duration", 0, "the token's lifetime, e.g. 1h (default: the site's)")
		c.Flags().String("client-name", "", "how the approval page names this program (default: caddy mfa on HOSTNAME)")
	}
	_ = c.MarkFlagRequired("url")
}

func loginCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "login --url SITE [--duration 1h]",
		Short: "Signs in through a browser with any factor and keeps the session token",
		Long: `Asks the site for a code, shows it (with a link, and a QR code in a terminal), and waits
while you approve it in a browser where you are signed in, with a factor from the last 5
minutes (an authenticator code, a security key or a passkey). The session token is kept in
$XDG_CACHE_HOME/caddy-mfa/ (default ~/.cache/caddy-mfa/), readable by you alone, one file per
site, until it expires; 'caddy mfa token' prints it and 'caddy mfa exec' hands it to a command.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			out := c.OutOrStdout()
			_, err := signIn(c, out, isTerminal(out))
			return err
		},
	}
	siteFlags(c, true)
	return c
}

func tokenCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "token --url SITE",
		Short: "Prints the site's session token, signing in first when none is kept",
		Long: `Prints the kept session token of the site when it has at least a minute left; otherwise
signs in as 'caddy mfa login' does (the code goes to standard error) and prints the new one.
An expired token is never printed.

  curl -H "Authorization: Bearer $(caddy mfa token --url https://app.example.com)" https://app.example.com/api/...`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			tok, err := validToken(c)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), tok.SessionToken)
			return nil
		},
	}
	siteFlags(c, true)
	return c
}

func logoutCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "logout --url SITE",
		Short: "Forgets the site's kept session token",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			site, err := siteID(flagValue(c, "url"), flagValue(c, "prefix"))
			if err != nil {
				return err
			}
			removed, err := forgetToken(site)
			if err != nil {
				return err
			}
			if removed {
				fmt.Fprintf(c.OutOrStdout(), "Forgot the session token of %s. (A copy handed out before stays valid until it expires.)\n", site)
			} else {
				fmt.Fprintf(c.OutOrStdout(), "No session token of %s was kept.\n", site)
			}
			return nil
		},
	}
	siteFlags(c, false)
	return c
}

// validToken is the site's kept token when it has expiryMargin left, or a new one.
func validToken(c *cobra.Command) (*cachedToken, error) {
	site, err := siteID(flagValue(c, "url"), flagValue(c, "prefix"))
	if err != nil {
		return nil, err
	}
	if tok, err := loadToken(site); err != nil {
		return nil, err
	} else if tok != nil && tok.usableAt(time.Now()) {
		return tok, nil
	}
	errOut := c.ErrOrStderr()
	return signIn(c, errOut, isTerminal(errOut))
}

// signIn runs the device flow for the command's site and keeps the token.
func signIn(c *cobra.Command, out io.Writer, terminal bool) (*cachedToken, error) {
	site, err := siteID(flagValue(c, "url"), flagValue(c, "prefix"))
	if err != nil {
		return nil, err
	}
	duration, _ := c.Flags().GetDuration("duration")
	if duration < 0 || duration%time.Second != 0 {
		return nil, fmt.Errorf("--duration %v: a whole number of seconds, e.g. 1h or 90m", duration)
	}
	name := flagValue(c, "client-name")
	if name == "" {
		host, _ := os.Hostname()
		name = clip("caddy mfa on "+host, 64)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tok, err := newDeviceClient(site, out, terminal).login(ctx, name, duration)
	if err != nil {
		return nil, err
	}
	return tok, saveToken(tok)
}

func clip(s string, n int) string {
	for len(s) > n || !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// isTerminal says whether w is a character device (a terminal), not a pipe or a file.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func execCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "exec --url SITE -- COMMAND [ARGS...]",
		Short: "Runs a command with the site's session token in MFA_SESSION_TOKEN",
		Long: `Runs COMMAND with MFA_SESSION_TOKEN set to the site's kept session token (signing in first
when none has a minute left), and exits with the command's status.

  caddy mfa exec --url https://app.example.com -- sh -c 'curl -H "Authorization: Bearer $MFA_SESSION_TOKEN" https://app.example.com/api/...'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			tok, err := validToken(c)
			if err != nil {
				return err
			}
			status, err := runWithToken(args, tok.SessionToken)
			if err != nil {
				return err
			}
			if status != 0 {
				exitWith(status)
			}
			return nil
		},
	}
	siteFlags(c, true)
	return c
}

// exitWith ends the process with the command's status (Caddy's own runner knows only 0 and 1).
var exitWith = os.Exit

// runWithToken runs args with the token in its environment and returns its exit status. The
// terminal's Ctrl-C reaches the command itself; this process waits for it to end.
func runWithToken(args []string, token string) (int, error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "MFA_SESSION_TOKEN="+token)
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	if err := cmd.Start(); err != nil {
		signal.Stop(signals)
		return 0, fmt.Errorf("running %s: %w", args[0], err)
	}
	go func() {
		for s := range signals {
			if s == syscall.SIGTERM {
				_ = cmd.Process.Signal(s)
			}
		}
	}()
	err := cmd.Wait()
	signal.Stop(signals)
	close(signals)
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return exit.ExitCode(), nil
	}
	return 0, err
}

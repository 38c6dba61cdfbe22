package cli

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/caddy-mfa/caddy-mfa/policy/sim"
)

func policyDiffCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "diff OLD.json NEW.json --log ACCESS.log [--json]",
		Short: "Replays an access log through two policies and prints the requests whose decision changes",
		Long: `Replays the requests of a Caddy JSON access log (format json, with the mfa_* fields the
gate adds) through the OLD and the NEW policy, and prints the requests whose decision changes,
grouped by method, path pattern (ids collapsed to *), old -> new decision and the deciding
statements, with counts. Exit status: 0 nothing changes, 1 some decision changes, 2 a file is
bad or the log carries no mfa_* fields.`,
		Args: cobra.ExactArgs(2),
		RunE: withStatus(runPolicyDiff),
	}
	c.Flags().String("log", "", "Caddy's JSON access log (required)")
	c.Flags().Bool("json", false, "print the result as JSON")
	_ = c.MarkFlagRequired("log")
	return c
}

func runPolicyDiff(c *cobra.Command, files []string) (int, error) {
	old, err := compileFiles(files[:1])
	if err != nil {
		return statusBroken, err
	}
	updated, err := compileFiles(files[1:])
	if err != nil {
		return statusBroken, err
	}
	logFile := flagValue(c, "log")
	f, err := os.Open(logFile)
	if err != nil {
		return statusBroken, err
	}
	defer f.Close()
	d, err := sim.Replay(f, old, updated)
	if err != nil {
		return statusBroken, fmt.Errorf("%s: %w", logFile, err)
	}
	out := c.OutOrStdout()
	if asJSON, _ := c.Flags().GetBool("json"); asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(d); err != nil {
			return statusBroken, err
		}
	} else {
		changed := 0
		for _, ch := range d.Changes {
			fmt.Fprintln(out, ch.String())
			changed += ch.Count
		}
		fmt.Fprintf(out, "%d of %d replayed requests change decision\n", changed, d.Replayed)
		if d.Unexplained > 0 {
			fmt.Fprintf(out, "note: %s decides %d logged requests otherwise than the log says (not the policy that ran, or another gate on the route decided)\n", files[0], d.Unexplained)
		}
	}
	if len(d.Changes) > 0 {
		return statusFinding, fmt.Errorf("%d request groups change decision", len(d.Changes))
	}
	return 0, nil
}

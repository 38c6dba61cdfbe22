package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

type statementStats struct {
	Since      time.Time `json:"since"`
	Statements []struct {
		Policy  string `json:"policy"`
		Sid     string `json:"sid"`
		Effect  string `json:"effect"`
		Matches uint64 `json:"matches"`
	} `json:"statements"`
}

func policyStatsCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "stats [--all]",
		Short: "Prints the statements of the running policies that decided no request since the config loaded",
		Long: `Prints, from the running gateway (--address), the policy statements that decided no request
since the config was loaded: one line each, policy file, Sid (#N, its place, when it has none)
and effect. A statement decides a request when it is the first matching Deny, or the first
matching Allow with no Deny matching. With --all, every statement and its count.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var st statementStats
			if err := adminDecode(c, "GET", "/mfa/policy/stats", nil, &st); err != nil {
				return err
			}
			all, _ := c.Flags().GetBool("all")
			out, dead := c.OutOrStdout(), 0
			for _, s := range st.Statements {
				if all {
					fmt.Fprintf(out, "%s\t%s\t%s\t%d\n", s.Policy, s.Sid, s.Effect, s.Matches)
				} else if s.Matches == 0 {
					fmt.Fprintf(out, "%s\t%s\t%s\n", s.Policy, s.Sid, s.Effect)
				}
				if s.Matches == 0 {
					dead++
				}
			}
			fmt.Fprintf(out, "%d of %d statements decided no request since %s\n", dead, len(st.Statements), st.Since.Format(time.RFC3339))
			return nil
		},
	}
	c.Flags().Bool("all", false, "print every statement with its count")
	return c
}

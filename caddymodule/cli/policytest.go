package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/policy/sim"
)

// Exit statuses of the commands CI runs: 0 all is well, 1 a finding (a case disagrees, a
// decision changes), 2 the command could not do its work (a bad file, an unreachable API).
const (
	statusFinding = 1
	statusBroken  = 2
)

// statusRun is a command body that chooses its exit status.
type statusRun func(c *cobra.Command, args []string) (int, error)

// withStatus turns a statusRun into cobra's RunE; a status above 1 reaches the process's exit
// code through Caddy's own carrier for it (which hides the error, so it is printed here).
func withStatus(run statusRun) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, args []string) error {
		status, err := run(c, args)
		if status > statusFinding {
			// Said here as cobra says an error, not as a JSON log line: a person reads it in CI.
			fmt.Fprintln(c.ErrOrStderr(), "Error:", err)
			return caddycmd.WrapCommandFuncForCobra(func(caddycmd.Flags) (int, error) { return status, nil })(c, args)
		}
		return err
	}
}

func policyTestCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "test [POLICY.json...] --cases CASES.json [--junit FILE]",
		Short: "Runs policy test cases: on policy files here, or on a live site's routes with no files",
		Long: `Runs a list of cases against policy documents and prints one line per case: its name,
the decision it expects, the decision it got and the statement that decided. With policy files
it needs no running Caddy; with none it asks the admin API (--address) how the live site's
routes decide each case. Exit status: 0 every case agrees, 1 a case disagrees, 2 a file is bad
or the admin API could not answer.`,
		RunE: withStatus(runPolicyTest),
	}
	c.Flags().String("cases", "", "the case file, a JSON list (required)")
	c.Flags().String("junit", "", "also write a JUnit XML report to this file")
	_ = c.MarkFlagRequired("cases")
	return c
}

func runPolicyTest(c *cobra.Command, files []string) (int, error) {
	casesFile := flagValue(c, "cases")
	raw, err := os.ReadFile(casesFile)
	if err != nil {
		return statusBroken, err
	}
	cases, err := sim.ParseCases(casesFile, raw)
	if err != nil {
		return statusBroken, err
	}
	if len(files) > 0 && c.Flags().Changed("address") {
		return statusBroken, errors.New("give policy files, or --address for the live site's routes, not both")
	}
	decide := remoteDecider(c)
	if len(files) > 0 {
		set, err := compileFiles(files)
		if err != nil {
			return statusBroken, err
		}
		decide = localDecider(set)
	}
	verdicts := make([]sim.Verdict, 0, len(cases))
	failed := 0
	for _, tc := range cases {
		got, err := decide(tc)
		if err != nil {
			return statusBroken, fmt.Errorf("case %q: %w", tc.Name, err)
		}
		v := sim.Judge(tc, got)
		if !v.Pass {
			failed++
		}
		verdicts = append(verdicts, v)
		fmt.Fprintln(c.OutOrStdout(), v.String())
	}
	if junit := flagValue(c, "junit"); junit != "" {
		if err := writeJUnit(junit, casesFile, verdicts); err != nil {
			return statusBroken, err
		}
	}
	fmt.Fprintf(c.OutOrStdout(), "%d cases, %d failed\n", len(cases), failed)
	if failed > 0 {
		return statusFinding, fmt.Errorf("%d of %d cases disagree", failed, len(cases))
	}
	return 0, nil
}

// compileFiles reads and compiles policy documents into one set, as a handler's files are.
func compileFiles(files []string) (*policy.Set, error) {
	docs := make([]*policy.Document, 0, len(files))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		d, err := policy.Parse(f, raw)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d)
	}
	return policy.Compile(docs...)
}

type decider func(sim.Case) (sim.Outcome, error)

func localDecider(set *policy.Set) decider {
	now := time.Now()
	return func(tc sim.Case) (sim.Outcome, error) {
		v, err := sim.Run(tc, []*policy.Set{set}, now)
		return v.Got, err
	}
}

// remoteDecider asks the running gateway's simulator, which finds the route's policies.
func remoteDecider(c *cobra.Command) decider {
	return func(tc sim.Case) (sim.Outcome, error) {
		var got sim.Outcome
		body := map[string]any{"request": tc.Request, "context": tc.Context}
		err := adminDecode(c, "POST", "/mfa/policy/simulate", body, &got)
		return got, err
	}
}

func writeJUnit(file, suite string, verdicts []sim.Verdict) error {
	var buf bytes.Buffer
	if err := sim.WriteJUnit(&buf, suite, verdicts); err != nil {
		return err
	}
	return os.WriteFile(file, buf.Bytes(), 0o644)
}

// adminDecode sends one JSON request to the admin API and decodes the answer into out.
func adminDecode(c *cobra.Command, method, uri string, body, out any) error {
	headers, rd, err := jsonBody(body)
	if err != nil {
		return err
	}
	resp, err := adminRequest(c, method, uri, headers, rd)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return errors.New(errorMessage(raw, resp.Status))
	}
	return json.Unmarshal(raw, out)
}

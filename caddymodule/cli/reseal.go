package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

func resealCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "reseal",
		Short: "Seals every secret at rest under the first encryption key, so older keys can go",
		Long: `Seals every secret at rest (TOTP seeds, recovery code salts, access key hashes) under
the first key of encryption_key, through the running node's admin API. Each record is
rewritten by a compare-and-swap, so other nodes may serve and write meanwhile; a run that
stops half-way is finished by running it again (records already under the first key are
skipped). When it reports "complete": true, remove the older keys from encryption_key.
It exits non-zero while the store is not resealed whole.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			addr, _ := c.Flags().GetString("address")
			resp, err := caddycmd.AdminAPIRequest(addr, "POST", "/mfa/reseal", nil, nil)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
			if err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), string(raw))
			var report struct {
				Complete bool     `json:"complete"`
				Unopened []string `json:"unopened"`
			}
			if err := json.Unmarshal(raw, &report); err != nil {
				return fmt.Errorf("reading the answer: %w", err)
			}
			if !report.Complete {
				return errors.New("not resealed whole: keep every key until a run reports complete (records in unopened open with no key given: delete or re-create them)")
			}
			return nil
		},
	}
}

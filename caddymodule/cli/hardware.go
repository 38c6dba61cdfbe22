package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

func hardwareCommand() *cobra.Command {
	hw := &cobra.Command{Use: "hardware", Short: "Manages hardware OATH tokens"}
	imp := &cobra.Command{
		Use: "import FILE [--psk HEX]", Short: "Imports token seeds (CSV, or PSKC with .xml/.pskc/.pskcxml) as unassigned devices", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			raw, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			headers, body, err := seedUpload(args[0], raw, flagValue(c, "psk"))
			if err != nil {
				return err
			}
			return adminSend(c, "POST", "/mfa/devices/hardware", headers, bytes.NewReader(body))
		},
	}
	imp.Flags().String("psk", "", "the PSKC file's pre-shared AES-128 key, hex (sent inside the request body, which no log records)")
	hw.AddCommand(imp)
	return hw
}

// seedUpload is the request body of an import: the file itself, or with a pre-shared key a
// JSON envelope holding both. The key never goes into a header or the URI: Caddy's admin
// endpoint logs those.
func seedUpload(file string, raw []byte, psk string) (http.Header, []byte, error) {
	headers := http.Header{}
	csv := strings.HasSuffix(strings.ToLower(file), ".csv")
	switch {
	case psk != "" && csv:
		return nil, nil, errors.New("--psk: only an encrypted PSKC file has a pre-shared key")
	case csv:
		headers.Set("Content-Type", "text/csv")
		return headers, raw, nil
	case psk == "":
		headers.Set("Content-Type", "application/pskc+xml")
		return headers, raw, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // XML stays readable, and within the size limit
	if err := enc.Encode(map[string]string{"pskc": string(raw), "psk": psk}); err != nil {
		return nil, nil, err
	}
	headers.Set("Content-Type", "application/json")
	return headers, buf.Bytes(), nil
}

package cli

import (
	"strings"

	"github.com/boombuler/barcode/qr"
)

// terminalQR draws text as a QR code of half-block characters, two module rows a line, white
// on black whatever the terminal's colours, with a quiet zone of two modules.
func terminalQR(text string) (string, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return "", err
	}
	const quiet = 2
	size := code.Bounds().Dx()
	light := func(x, y int) bool {
		x, y = x-quiet, y-quiet
		if x < 0 || y < 0 || x >= size || y >= size {
			return true
		}
		r, _, _, _ := code.At(x, y).RGBA()
		return r != 0
	}
	var b strings.Builder
	full := size + 2*quiet
	for y := 0; y < full; y += 2 {
		b.WriteString("\x1b[97;40m")
		for x := range full {
			top, bottom := light(x, y), y+1 < full && light(x, y+1)
			switch {
			case top && bottom:
				b.WriteString("█")
			case top:
				b.WriteString("▀")
			case bottom:
				b.WriteString("▄")
			default:
				b.WriteByte(' ')
			}
		}
		b.WriteString("\x1b[0m\n")
	}
	return b.String(), nil
}

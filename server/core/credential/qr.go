package credential

import (
	"fmt"
	"strings"

	"rsc.io/qr"
)

// qrQuietZone is the light border around the code, in modules. The QR standard asks for 4;
// 2 is what terminal renderers use and what phone scanners read, and keeps the code small.
const qrQuietZone = 2

// TerminalQR renders text (an otpauth URL) as a QR code for a terminal, two modules per
// character cell using the half-block characters, with explicit ANSI colours (white on black)
// so that the code reads the same on dark and light terminal themes. Error correction is
// level M. Each line ends in a reset and a newline.
func TerminalQR(text string) (string, error) {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return "", fmt.Errorf("credential: encoding QR code: %w", err)
	}
	light := func(x, y int) bool {
		x, y = x-qrQuietZone, y-qrQuietZone
		if x < 0 || y < 0 || x >= code.Size || y >= code.Size {
			return true
		}
		return !code.Black(x, y)
	}
	n := code.Size + 2*qrQuietZone
	var b strings.Builder
	for y := 0; y < n; y += 2 {
		b.WriteString(qrLineStart)
		for x := range n {
			top, bottom := light(x, y), y+1 < n && light(x, y+1)
			switch {
			case top && bottom:
				b.WriteString("█")
			case top:
				b.WriteString("▀")
			case bottom:
				b.WriteString("▄")
			default:
				b.WriteString(" ")
			}
		}
		b.WriteString(qrLineEnd)
	}
	return b.String(), nil
}

const (
	qrLineStart = "\x1b[97;40m" // bright white foreground (light modules) on black (dark ones)
	qrLineEnd   = "\x1b[0m\n"
)

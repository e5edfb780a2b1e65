package credential

import (
	"strings"
	"testing"

	"rsc.io/qr"
)

// TestTerminalQRDrawsTheCode reads the rendering back, two modules per character, and compares
// every module with the encoder's bitmap, the quiet zone included.
func TestTerminalQRDrawsTheCode(t *testing.T) {
	text := TOTPURL("alice", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
	out, err := TerminalQR(text)
	if err != nil {
		t.Fatal(err)
	}
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		t.Fatal(err)
	}
	n := code.Size + 2*qrQuietZone
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != (n+1)/2 {
		t.Fatalf("%d lines, want %d for a %d-module code", len(lines), (n+1)/2, code.Size)
	}
	for row, l := range lines {
		if !strings.HasPrefix(l, qrLineStart) || !strings.HasSuffix(l, "\x1b[0m") {
			t.Fatalf("line %d lacks its colour codes: %q", row, l)
		}
		cells := []rune(strings.TrimSuffix(strings.TrimPrefix(l, qrLineStart), "\x1b[0m"))
		if len(cells) != n {
			t.Fatalf("line %d has %d cells, want %d", row, len(cells), n)
		}
		for x, c := range cells {
			for half, y := range []int{2 * row, 2*row + 1} {
				if y >= n {
					continue
				}
				wantLight := true
				if cx, cy := x-qrQuietZone, y-qrQuietZone; cx >= 0 && cy >= 0 && cx < code.Size && cy < code.Size {
					wantLight = !code.Black(cx, cy)
				}
				gotLight := c == '█' || (half == 0 && c == '▀') || (half == 1 && c == '▄')
				if gotLight != wantLight {
					t.Fatalf("module (%d,%d): drawn light=%v, want %v", x, y, gotLight, wantLight)
				}
			}
		}
	}
	if _, err := TerminalQR(strings.Repeat("x", 5000)); err == nil {
		t.Error("text too long for a QR code was rendered")
	}
}

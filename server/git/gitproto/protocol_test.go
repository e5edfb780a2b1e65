package gitproto

import (
	"strings"
	"testing"
)

func TestParseGitProtocol(t *testing.T) {
	ok := []string{"", "version=2", "version=1", "version=2:object-format=sha1", "version=2:object-format=sha256:session-id=ab.c_d-1", "bare-key"}
	for _, h := range ok {
		got, err := ParseGitProtocol(h)
		if err != nil || got != h {
			t.Errorf("ParseGitProtocol(%q) = %q, %v; want it unchanged", h, got, err)
		}
	}
	bad := []string{
		"version=2\nX=1", "version=2 ", " version=2", "version=2;rm", "version=", "=2", "Version=2",
		"version=2::x", ":version=2", "version=2:", "1version=2", "version=$(id)", "version=2\x00",
		"version=a=b", "k=" + strings.Repeat("v", MaxProtocolLen),
		strings.Repeat("a:", MaxProtocolItems) + "a",
	}
	for _, h := range bad {
		if got, err := ParseGitProtocol(h); err == nil {
			t.Errorf("ParseGitProtocol(%q) = %q, want an error", h, got)
		}
	}
}

func FuzzParseGitProtocol(f *testing.F) {
	for _, s := range []string{"", "version=2", "version=2:object-format=sha1", "a=b=c", "x:y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		got, err := ParseGitProtocol(h)
		if err != nil {
			return
		}
		if got != h || len(got) > MaxProtocolLen {
			t.Fatalf("accepted %q as %q", h, got)
		}
		for i := 0; i < len(got); i++ {
			c := got[i]
			if !isNameByte(c) && c != ':' && c != '=' {
				t.Fatalf("accepted %q with byte %q", h, c)
			}
		}
	})
}

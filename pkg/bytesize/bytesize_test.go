package bytesize

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "1048576": 1 << 20, "2GiB": 2 << 30, " 500 MiB ": 500 << 20, "128MiB": 128 << 20,
		"3KB": 3000, "1TiB": 1 << 40, "7B": 7,
	} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1.5GiB", "2 GB extra", "GiB", "99999999999TiB", "1e9"} {
		if _, err := Parse(in); err == nil || !strings.Contains(err.Error(), "such as 2GiB") {
			t.Errorf("Parse(%q): %v, want an error showing the accepted forms", in, err)
		}
	}
}

func TestFormat(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 3 << 19: "1.5 MiB", 2 << 30: "2.0 GiB"} {
		if got := Format(n); got != want {
			t.Errorf("Format(%d) = %q, want %q", n, got, want)
		}
	}
}

// FuzzParse: Parse never panics, and every size it accepts is non-negative and reads back the
// same when written in bytes.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"2GiB", "500MiB", "1048576", "0", "-1", "1.5GiB", "9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("Parse(%q) = %d", s, n)
		}
		if again, err := Parse(Format(n)); err == nil && n < 1024 && again != n {
			t.Fatalf("Parse(Format(%d)) = %d", n, again)
		}
	})
}

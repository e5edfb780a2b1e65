package console

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestPayloadText checks a payload shown on a delivery's page: JSON indented, anything else
// as it is, and a long one cut at the limit on a character's boundary, still valid UTF-8.
func TestPayloadText(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		limit      int
		want       string
		cut        bool
	}{
		{"json", `{"a":[1,2]}`, 100, "{\n  \"a\": [\n    1,\n    2\n  ]\n}", false},
		{"not json", "plain <b>text</b>", 100, "plain <b>text</b>", false},
		{"cut", strings.Repeat("x", 10), 4, "xxxx", true},
		{"cut inside a character", "ab\u00e9cd", 3, "ab", true},
		{"invalid UTF-8", "a\xffb", 100, "a\uFFFDb", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, cut := payloadText([]byte(tc.body), tc.limit)
			if got != tc.want || cut != tc.cut || !utf8.ValidString(got) {
				t.Fatalf("payloadText(%q, %d) = %q, %v; want %q, %v", tc.body, tc.limit, got, cut, tc.want, tc.cut)
			}
		})
	}
}

package appspec

import (
	"fmt"
	"strings"
)

// EncodeCleanup renders a cleanup record (InstallPlan.Cleanup) as the
// group's cleanup file: one path per line, in creation order.
func EncodeCleanup(paths []string) []byte {
	var b strings.Builder
	for _, p := range paths {
		b.WriteString(p)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// ParseCleanup reads a cleanup file written by EncodeCleanup. Blank lines
// are skipped; a path with a NUL byte or a carriage return is an error, as
// EncodeCleanup never writes one.
func ParseCleanup(data []byte) ([]string, error) {
	var out []string
	for i, line := range strings.Split(string(data), "\n") {
		if line == "" {
			continue
		}
		if strings.ContainsAny(line, "\x00\r") {
			return nil, fmt.Errorf("parse cleanup record: line %d holds a control character", i+1)
		}
		out = append(out, line)
	}
	return out, nil
}

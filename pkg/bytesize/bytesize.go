// Package bytesize reads and writes byte sizes the way Slipway's flags, configuration and
// messages spell them: "2GiB", "500MiB", "1048576", and "1.5 GiB" for people.
package bytesize

import (
	"fmt"
	"strconv"
	"strings"
)

var units = []struct {
	suffix string
	mult   int64
}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}}

// Parse reads a byte size: a whole number of bytes, or one with a unit (KiB, MiB, GiB, TiB, or
// KB, MB, GB, TB in powers of 1000), spaces allowed around it. Zero is a size; negative numbers,
// fractions and sizes over 4 EiB are errors that show the accepted forms.
func Parse(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size such as 2GiB, 500MiB or 1048576", s)
	}
	return n * mult, nil
}

// Format writes n for people in powers of 1024 with one decimal: "512 B", "1.5 MiB", "2.0 GiB".
func Format(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

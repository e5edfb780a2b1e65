package codeowners

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkOwnership matches the bounds' worst case: MaxRules rules of mixed patterns against
// 5,000 changed paths (review's maxOwnedPaths), most matching none but the first line, so
// each path walks every rule. It reports the time per changed path.
func BenchmarkOwnership(b *testing.B) {
	var file strings.Builder
	file.WriteString("* @default\n")
	for i := 1; i < MaxRules; i++ {
		switch i % 4 {
		case 0:
			fmt.Fprintf(&file, "/services/svc%d/ @team/s%d\n", i, i)
		case 1:
			fmt.Fprintf(&file, "*.ext%d @u%d\n", i, i)
		case 2:
			fmt.Fprintf(&file, "**/gen%d/**/*.pb.go @org/gen\n", i)
		default:
			fmt.Fprintf(&file, "docs/area%d/* @org/writers\n", i)
		}
	}
	f := Parse([]byte(file.String()))
	if len(f.Rules) != MaxRules || len(f.Diagnostics) != 0 {
		b.Fatalf("%d rules, %v", len(f.Rules), f.Diagnostics)
	}
	paths := make([]string, 5000)
	for i := range paths {
		paths[i] = fmt.Sprintf("cmd/tool%d/internal/pkg/file%d.go", i%50, i)
	}
	b.ResetTimer()
	for range b.N {
		for _, p := range paths {
			if r := f.Match(p); r == nil || r.Line != 1 {
				b.Fatalf("%s matched %+v", p, r)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(paths)), "ns/path")
}

package appspec

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/ from the current output")

// TestGolden runs Load on every testdata/golden/*.yml and compares the
// rendered diagnostics with the .golden file next to it, so that every
// wording change is a reviewed diff. Run with -update to rewrite them.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "golden", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) == 0 {
		t.Fatal("no golden inputs found")
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".yml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			_, diags := Load(filepath.Base(in), data)
			got := diags.String()
			if got == "" {
				got = "ok\n"
			}
			golden := strings.TrimSuffix(in, ".yml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden (run go test -run TestGolden -update to create it): %v", err)
			}
			if got != string(want) {
				t.Errorf("diagnostics differ from %s (rerun with -update if intended)\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

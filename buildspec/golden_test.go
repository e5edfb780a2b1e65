package buildspec

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/ from the current output")

// corpus lists the buildspecs of testdata/valid and testdata/invalid: the
// corpus of issue 20, one file per rule of docs/BUILDSPEC.md.
func corpus(t testing.TB, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no buildspecs in testdata/%s", dir)
	}
	return files
}

// TestGolden runs Load on every buildspec of the corpus and compares the
// rendered diagnostics with the .golden file next to it, so that every
// wording change is a reviewed diff. Run with -update to rewrite them.
func TestGolden(t *testing.T) {
	for _, dir := range []string{"valid", "invalid"} {
		for _, in := range corpus(t, dir) {
			name := dir + "/" + strings.TrimSuffix(filepath.Base(in), ".yml")
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
}

// TestCorpusValidity checks that every file of testdata/valid loads without
// errors and every file of testdata/invalid has at least one.
func TestCorpusValidity(t *testing.T) {
	for _, dir := range []string{"valid", "invalid"} {
		for _, in := range corpus(t, dir) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			_, diags := Load(in, data)
			if dir == "valid" && diags.HasErrors() {
				t.Errorf("%s has errors:\n%s", in, diags.Errors())
			}
			if dir == "invalid" && !diags.HasErrors() {
				t.Errorf("%s has no errors:\n%s", in, diags)
			}
		}
	}
}

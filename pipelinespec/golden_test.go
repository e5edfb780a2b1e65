package pipelinespec

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/ from the current output")

// corpus lists the definitions (.yml and .json) of testdata/valid or testdata/invalid.
func corpus(t testing.TB, dir string) []string {
	t.Helper()
	var files []string
	for _, ext := range []string{"*.yml", "*.json"} {
		m, err := filepath.Glob(filepath.Join("testdata", dir, ext))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatalf("no definitions in testdata/%s", dir)
	}
	return files
}

// TestGolden parses every definition of the corpus and compares its rendered diagnostics
// with the .golden file next to it, so that every message and position is a reviewed diff.
// Run with -update to rewrite them.
func TestGolden(t *testing.T) {
	for _, dir := range []string{"valid", "invalid"} {
		for _, in := range corpus(t, dir) {
			t.Run(dir+"/"+filepath.Base(in), func(t *testing.T) {
				data, err := os.ReadFile(in)
				if err != nil {
					t.Fatal(err)
				}
				_, diags := Parse(filepath.Base(in), data)
				got := diags.String()
				if got == "" {
					got = "ok\n"
				}
				golden := strings.TrimSuffix(in, filepath.Ext(in)) + ".golden"
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

// TestCorpusValidity checks that every definition of testdata/valid parses without errors
// into a pipeline, and every one of testdata/invalid has errors and no pipeline.
func TestCorpusValidity(t *testing.T) {
	for _, dir := range []string{"valid", "invalid"} {
		for _, in := range corpus(t, dir) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			p, diags := Parse(in, data)
			if dir == "valid" && (diags.HasErrors() || p == nil) {
				t.Errorf("%s has errors:\n%s", in, diags.Errors())
			}
			if dir == "invalid" && (!diags.HasErrors() || p != nil) {
				t.Errorf("%s has no errors:\n%s", in, diags)
			}
		}
	}
}

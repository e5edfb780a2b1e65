package builder

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/builder/report"
	"github.com/slipwayhq/slipway/buildspec"
)

// TestCollectReportsStaysInside checks that a report file that is a link
// out of the source is not read, while one inside is.
func TestCollectReportsStaysInside(t *testing.T) {
	root := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret.xml")
	if err := os.WriteFile(outside, []byte(`<testsuite><testcase name="outside"/></testsuite>`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "r"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "r", "in.xml"), []byte(`<testsuite><testcase name="inside"/></testsuite>`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "r", "out.xml")); err != nil {
		t.Fatal(err)
	}
	var logs []string
	reps := CollectReports(root, []buildspec.Report{{Group: "g", Files: []string{"r/*.xml"}, FileFormat: "JUNITXML"}},
		func(f string, a ...any) { logs = append(logs, f) })
	if len(reps) != 1 || reps[0].Status != report.ReportSucceeded || reps[0].Total != 1 || reps[0].Cases[0].Name != "inside" {
		t.Fatalf("reports %+v", reps)
	}
	if !strings.Contains(strings.Join(logs, "\n"), "points outside the source") {
		t.Errorf("the link skipped is not logged: %v", logs)
	}
}

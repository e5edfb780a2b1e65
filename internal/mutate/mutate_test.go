package mutate

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const calcGo = `package calc

// Max returns the larger of a and b.
func Max(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// Abs returns the absolute value of a; no test checks it.
func Abs(a int) int {
	if a < 0 {
		return -a
	}
	return a
}
`

const calcTest = `package calc

import "testing"

func TestMax(t *testing.T) {
	if Max(1, 2) != 2 || Max(3, 2) != 3 {
		t.Fatal("Max is wrong")
	}
}
`

// calcTree writes a tiny module under git: Max is tested, Abs is not.
func calcTree(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	for name, body := range map[string]string{"go.mod": "module example.com/calc\n\ngo 1.22\n", "calc.go": calcGo, "calc_test.go": calcTest} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	return dir
}

// TestRunReportsCaughtSurvivedAndBroken: a bug a test sees is caught (named by the failing
// test), a bug no test sees survives, a mutation that does not compile is broken, and the tree
// itself is never written.
func TestRunReportsCaughtSurvivedAndBroken(t *testing.T) {
	dir := calcTree(t)
	ms := []Mutation{
		{Name: "Max returns the smaller", File: "calc.go", Find: "if a > b {", Replace: "if a < b {", Packages: []string{"./..."}},
		{Name: "Abs keeps -1", File: "calc.go", Find: "if a < 0 {", Replace: "if a < -1 {", Packages: []string{"./..."}},
		{Name: "Abs returns a string", File: "calc.go", Find: "func Abs(a int) int {", Replace: "func Abs(a int) string {", Packages: []string{"./..."}},
	}
	rep, err := Run(context.Background(), dir, ms[:2], Options{Jobs: 2, Timeout: time.Minute, Baseline: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Suites != 1 {
		t.Errorf("the baseline ran %d test runs, want 1 (both mutations share theirs)", rep.Suites)
	}
	broken, err := Run(context.Background(), dir, ms[2:], Options{})
	if err != nil {
		t.Fatal(err)
	}
	rs := append(rep.Results, broken.Results...)
	want := []Outcome{Caught, Survived, Broken}
	for i, r := range rs {
		if r.Outcome != want[i] {
			t.Errorf("%s: %s, want %s; output:\n%s", r.Mutation.Name, r.Outcome, want[i], r.Output)
		}
	}
	if len(rs[0].By) != 1 || rs[0].By[0] != "TestMax" {
		t.Errorf("caught by %q, want TestMax", rs[0].By)
	}
	if s := Summarize(rs); s.OK() || s.Caught != 1 || s.Survived != 1 || s.Broken != 1 {
		t.Errorf("summary %+v", s)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "calc.go")); string(b) != calcGo {
		t.Error("Run wrote the tree it was given")
	}
	var out strings.Builder
	WriteTable(&out, Report{Results: rs}, time.Second)
	for _, s := range []string{"caught", "SURVIVED", "BROKEN", "TestMax", "3 mutations: 1 caught, 1 survived, 1 broken"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("the table lacks %q:\n%s", s, out.String())
		}
	}
}

// TestBaselineFailureStopsTheRun: when the tests fail without any mutation, no mutation is
// reported (each would look caught); the error says which test run fails.
func TestBaselineFailureStopsTheRun(t *testing.T) {
	dir := calcTree(t)
	broken := strings.Replace(calcGo, "return a\n\t}\n\treturn b", "return b\n\t}\n\treturn a", 1)
	if err := os.WriteFile(filepath.Join(dir, "calc.go"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	m := Mutation{Name: "Abs keeps -1", File: "calc.go", Find: "if a < 0 {", Replace: "if a < -1 {", Packages: []string{"./..."}}
	rep, err := Run(context.Background(), dir, []Mutation{m}, Options{Baseline: true})
	if err == nil || !strings.Contains(err.Error(), "without any mutation, go test ./... fails") || len(rep.Results) != 0 {
		t.Fatalf("%d results, %v; want the baseline's failure and none", len(rep.Results), err)
	}
}

// TestRunFilterMatchingNothingIsBroken: a mutation whose -run matches no test is broken (no
// test could catch it), not survived, and a baseline with such a run stops.
func TestRunFilterMatchingNothingIsBroken(t *testing.T) {
	dir := calcTree(t)
	m := Mutation{Name: "Max returns the smaller", File: "calc.go", Find: "if a > b {", Replace: "if a < b {", Packages: []string{"./..."}, Run: "^TestNothing$"}
	rep, err := Run(context.Background(), dir, []Mutation{m}, Options{})
	if err != nil || len(rep.Results) != 1 || rep.Results[0].Outcome != Broken {
		t.Fatalf("%+v, %v; want one broken result", rep.Results, err)
	}
	if _, err := Run(context.Background(), dir, []Mutation{m}, Options{Baseline: true}); err == nil || !strings.Contains(err.Error(), "runs no test") {
		t.Fatalf("baseline: %v; want it to refuse a run matching no test", err)
	}
}

// TestStaleMutationStopsTheRun: a mutation whose text is gone from its file, or occurs twice,
// stops the check before any test runs, naming it.
func TestStaleMutationStopsTheRun(t *testing.T) {
	dir := calcTree(t)
	for find, want := range map[string]string{"if a >= b {": "is stale", "return a\n": "contains \"return a\\n\" 2 times"} {
		m := Mutation{Name: "moved", File: "calc.go", Find: find, Replace: "x", Packages: []string{"./..."}}
		_, err := Run(context.Background(), dir, []Mutation{m}, Options{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("find %q: %v, want %q", find, err, want)
		}
	}
}

// TestLoadRefusesBadEntries: every entry needs a name of its own, a path inside the tree, a find
// that differs from its replacement, and packages; unknown keys are refused.
func TestLoadRefusesBadEntries(t *testing.T) {
	for body, want := range map[string]string{
		"- {name: a, file: x.go, find: a, replace: b, packages: [./]}\n- {name: a, file: x.go, find: c, replace: d, packages: [./]}": "used twice",
		"- {name: a, file: ../x.go, find: a, replace: b, packages: [./]}":                                                            "inside the tree",
		"- {name: a, file: x.go, find: a, replace: a, packages: [./]}":                                                               "differ",
		"- {name: a, file: x.go, find: a, replace: b}":                                                                               "no packages",
		"- {name: a, file: x.go, find: a, replace: b, packages: [./], tests: [x]}":                                                   "field tests not found",
		"- {name: a, file: x.go, find: a, replace: b, packages: [./], run: '('}":                                                     "run:",
	} {
		p := filepath.Join(t.TempDir(), "m.yml")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
}

// TestProjectListApplies: every mutation in the project's list still applies to the code, so a
// change that moves a mutated line fails here, in the default test run, rather than in the next
// mutation check.
func TestProjectListApplies(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := Load(filepath.Join(root, "scripts", "mutate", "mutations.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 20 {
		t.Errorf("the list has %d mutations; it keeps at least 20", len(ms))
	}
	if err := Check(root, ms); err != nil {
		t.Fatal(err)
	}
}

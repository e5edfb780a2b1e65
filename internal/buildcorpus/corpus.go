// Package buildcorpus reads the buildspec corpus of buildspec/testdata
// for tests: the files, and what each valid one says its run must give in
// its "# expect ...:" header lines (docs/BUILDSPEC.md, The corpus). Both
// the runner's tests and `slipway build local`'s run the corpus with it.
package buildcorpus

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/slipwayhq/slipway/builder/report"
)

// Expectation is what a corpus buildspec says of its own run.
type Expectation struct {
	Status string
	// Phases are NAME=STATUS of exactly the phases that ran, in order; nil
	// when not said.
	Phases []string
	// Output and NoOutput are words the commands' output must have and
	// must not have.
	Output, NoOutput []string
	// Exported are the exported variables; nil when not said.
	Exported map[string]string
	// Artifacts are the primary artifact's files, sorted; nil when not
	// said.
	Artifacts []string
	// Secondary maps a secondary artifact's identifier to its files.
	Secondary map[string][]string
	// Symlinks are files of the artifact that must be symbolic links.
	Symlinks []string
	// ArtifactName is the artifact's expanded name; "" when not said.
	ArtifactName string
	// Env are the variables the build is given (--env), secrets included.
	Env map[string]string
	// Reports maps a report group to what its report must be; every
	// report group of a buildspec that has one of these lines is checked.
	Reports map[string]ReportExpectation
	// Needs are what the commands need beyond a POSIX sh and busybox's
	// applets ("# needs: bash"): executors whose image lacks one skip the
	// file. "root" is a buildspec whose run-as switches users: the process
	// executor does only when it runs as root on Linux and skips the file
	// otherwise (Docker switches to the image's users).
	Needs []string
}

// ReportExpectation is one "# expect report GROUP: STATUS [NAME=N]..."
// line: the report's status, and counts by case status or "total".
type ReportExpectation struct {
	Status string
	Counts map[string]int
}

// NeedsBash says whether the file's commands need bash.
func (e Expectation) NeedsBash() bool { return e.needs("bash") }

// NeedsRoot says whether the file's run-as switches users ("# needs:
// root"), which the process executor does only as root on Linux.
func (e Expectation) NeedsRoot() bool { return e.needs("root") }

func (e Expectation) needs(what string) bool {
	for _, n := range e.Needs {
		if n == what {
			return true
		}
	}
	return false
}

// CanSwitchUsers says whether this process's process executor can run
// commands as another user (root on Linux): where it cannot, files that
// NeedsRoot are skipped.
func CanSwitchUsers() bool { return runtime.GOOS == "linux" && os.Geteuid() == 0 }

// Dir is the corpus directory: buildspec/testdata of this repository.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "buildspec", "testdata")
}

// Valid lists the valid buildspecs of the corpus.
func Valid() ([]string, error) {
	files, err := filepath.Glob(filepath.Join(Dir(), "valid", "*.yml"))
	if err == nil && len(files) == 0 {
		err = errors.New("no buildspec in the corpus")
	}
	return files, err
}

// Invalid lists the invalid buildspecs of the corpus.
func Invalid() ([]string, error) {
	files, err := filepath.Glob(filepath.Join(Dir(), "invalid", "*.yml"))
	if err == nil && len(files) == 0 {
		err = errors.New("no buildspec in the corpus")
	}
	return files, err
}

// Read reads the header of a corpus buildspec.
func Read(data []byte) (Expectation, error) {
	e := Expectation{Env: map[string]string{}, Secondary: map[string][]string{}, Reports: map[string]ReportExpectation{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "# ") {
			continue
		}
		key, val, ok := strings.Cut(strings.TrimPrefix(line, "# "), ": ")
		if !ok {
			continue
		}
		words := strings.Fields(val)
		pairs := func() map[string]string {
			m := map[string]string{}
			for _, w := range words {
				k, v, _ := strings.Cut(w, "=")
				m[k] = v
			}
			return m
		}
		switch {
		case key == "expect status":
			e.Status = val
		case key == "expect phases":
			e.Phases = words
		case key == "expect output":
			e.Output = words
		case key == "expect no output":
			e.NoOutput = words
		case key == "expect exported":
			e.Exported = pairs()
		case key == "expect artifacts":
			e.Artifacts = words
			sort.Strings(e.Artifacts)
		case strings.HasPrefix(key, "expect secondary "):
			e.Secondary[strings.TrimPrefix(key, "expect secondary ")] = words
		case key == "expect symlink":
			e.Symlinks = words
		case key == "expect artifact name":
			e.ArtifactName = val
		case strings.HasPrefix(key, "expect report "):
			if len(words) == 0 {
				return e, fmt.Errorf("%q needs a status", key)
			}
			r := ReportExpectation{Status: words[0], Counts: map[string]int{}}
			for k, v := range pairs() {
				if k == words[0] {
					continue
				}
				n, err := strconv.Atoi(v)
				if err != nil {
					return e, fmt.Errorf("%q: %s=%s is not a count", key, k, v)
				}
				r.Counts[k] = n
			}
			e.Reports[strings.TrimPrefix(key, "expect report ")] = r
		case key == "env":
			e.Env = pairs()
		case key == "needs":
			e.Needs = words
		case strings.HasPrefix(key, "expect"):
			return e, fmt.Errorf("unknown header %q", key)
		}
	}
	if e.Status == "" {
		return e, errors.New("the buildspec has no '# expect status:' line")
	}
	return e, nil
}

// CommandOutput is a build log without the runner's own lines.
func CommandOutput(log string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if !strings.HasPrefix(l, "[Container] ") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// CheckReports compares the reports of a run with the expectations and
// returns what differs: a report group expected but missing, or one whose
// status or counts are not the expected ones. When reports are expected,
// every report of the run must be.
func CheckReports(want map[string]ReportExpectation, got []report.Report) []string {
	if len(want) == 0 {
		return nil
	}
	var problems []string
	seen := map[string]bool{}
	for _, r := range got {
		seen[r.Name] = true
		w, ok := want[r.Name]
		if !ok {
			problems = append(problems, fmt.Sprintf("report %s (%s) is not expected", r.Name, r.Summary()))
			continue
		}
		if r.Status != w.Status {
			problems = append(problems, fmt.Sprintf("report %s is %s, want %s", r.Name, r.Summary(), w.Status))
		}
		for k, n := range w.Counts {
			have := r.Counts[k]
			if k == "total" {
				have = r.Total
			}
			if have != n {
				problems = append(problems, fmt.Sprintf("report %s has %s=%d, want %d (%s)", r.Name, k, have, n, r.Summary()))
			}
		}
	}
	for name := range want {
		if !seen[name] {
			problems = append(problems, fmt.Sprintf("report %s is missing", name))
		}
	}
	sort.Strings(problems)
	return problems
}

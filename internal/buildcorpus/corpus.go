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
	"path/filepath"
	"runtime"
	"sort"
	"strings"
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
	// Needs are what the commands need beyond a POSIX sh and busybox's
	// applets ("# needs: bash"): executors whose image lacks one skip the
	// file.
	Needs []string
}

// NeedsBash says whether the file's commands need bash.
func (e Expectation) NeedsBash() bool {
	for _, n := range e.Needs {
		if n == "bash" {
			return true
		}
	}
	return false
}

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
	e := Expectation{Env: map[string]string{}, Secondary: map[string][]string{}}
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

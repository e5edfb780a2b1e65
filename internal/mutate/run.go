package mutate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Outcome is what the tests made of one mutation.
type Outcome string

// The outcomes. Only Caught is good: Survived means no test noticed the bug, Broken that the
// mutation is wrong, not the tests: the mutated tree did not build, or its run filter matches no
// test of a package (so nothing could have caught it).
const (
	Caught   Outcome = "caught"
	Survived Outcome = "SURVIVED"
	Broken   Outcome = "BROKEN"
)

// Result is one mutation's outcome.
type Result struct {
	Mutation Mutation
	Outcome  Outcome
	// By names the tests that failed (or "timeout", "panic" when the test binary died first).
	By       []string
	Duration time.Duration
	// Output is go test's output, kept for survivors and broken mutations.
	Output string
}

// Options tune a run.
type Options struct {
	// Jobs is how many mutations are tested at once, each in its own scratch copy (default 1).
	Jobs int
	// Timeout bounds each go test run (its -timeout); a test binary that runs out counts as
	// caught, since a hang is a failure a user would see.
	Timeout time.Duration
	// Go is the go command (default "go").
	Go string
	// Baseline runs each distinct test run of the list unmutated first (see Run).
	Baseline bool
	// Progress, when set, gets a line as each mutation finishes.
	Progress io.Writer
}

// Report is a run's outcome: one result per mutation, in the list's order, and the baseline.
type Report struct {
	Results []Result
	// Suites is how many distinct test runs (packages and -run) the baseline ran unmutated, and
	// Baseline how long they took: the reference for the mutations' time.
	Suites   int
	Baseline time.Duration
}

// Run copies the tree at root (the files git tracks, as they are in the working tree) into
// scratch directories, one per job. With opt.Baseline it first runs every distinct test run of
// ms unmutated, and stops if any fails (a failure there would make every mutation look caught).
// Then it tests every mutation, each in one copy, putting the file back after. The tree at root
// is never written.
func Run(ctx context.Context, root string, ms []Mutation, opt Options) (Report, error) {
	if err := Check(root, ms); err != nil {
		return Report{}, err
	}
	if opt.Jobs < 1 {
		opt.Jobs = 1
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 5 * time.Minute
	}
	if opt.Go == "" {
		opt.Go = "go"
	}
	files, err := trackedFiles(ctx, root)
	if err != nil {
		return Report{}, err
	}
	scratches := make([]string, opt.Jobs)
	for i := range scratches {
		if scratches[i], err = os.MkdirTemp("", "slipway-mutate-"); err != nil {
			return Report{}, err
		}
		defer func() { _ = os.RemoveAll(scratches[i]) }()
		if err := copyFiles(root, scratches[i], files); err != nil {
			return Report{}, err
		}
	}
	var rep Report
	if opt.Baseline {
		var suites []suite
		seen := map[string]bool{}
		for _, m := range ms {
			if s := suiteOf(m); !seen[s.String()] {
				seen[s.String()] = true
				suites = append(suites, s)
			}
		}
		start := time.Now()
		err := pool(ctx, scratches, len(suites), func(dir string, i int) error {
			out, passed, err := goTest(ctx, dir, suites[i], opt)
			switch {
			case err != nil:
			case !passed:
				err = fmt.Errorf("without any mutation, go test %s fails; fix that before checking the checks:\n%s", suites[i], out)
			case ranNothing(out):
				err = fmt.Errorf("go test %s runs no test in some package, so no mutation of it can be caught; fix its packages or run:\n%s", suites[i], out)
			}
			return err
		})
		if err != nil {
			return Report{}, err
		}
		rep.Suites, rep.Baseline = len(suites), time.Since(start)
		if opt.Progress != nil {
			fmt.Fprintf(opt.Progress, "baseline: %d test runs pass unmutated in %.1fs\n", rep.Suites, rep.Baseline.Seconds())
		}
	}
	rep.Results = make([]Result, len(ms))
	var mu sync.Mutex
	err = pool(ctx, scratches, len(ms), func(dir string, i int) error {
		r, err := test(ctx, dir, ms[i], opt)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		rep.Results[i] = r
		if opt.Progress != nil {
			fmt.Fprintf(opt.Progress, "%-8s %5.1fs  %s\n", r.Outcome, r.Duration.Seconds(), r.Mutation.Name)
		}
		return nil
	})
	return rep, err
}

// pool calls fn for 0..n-1, one call at a time per scratch directory, and returns the first
// error (the calls already started finish; no new one starts after it, nor after ctx ends).
func pool(ctx context.Context, dirs []string, n int, fn func(dir string, i int) error) error {
	next := make(chan int)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	failed := func() bool { mu.Lock(); defer mu.Unlock(); return firstErr != nil }
	for _, dir := range dirs {
		wg.Go(func() {
			for i := range next {
				if err := fn(dir, i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := 0; i < n && ctx.Err() == nil && !failed(); i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// suite is one go test run: packages and -run.
type suite struct {
	packages []string
	run      string
}

func suiteOf(m Mutation) suite { return suite{packages: m.Packages, run: m.Run} }

func (s suite) String() string {
	out := strings.Join(s.packages, " ")
	if s.run != "" {
		out += " -run '" + s.run + "'"
	}
	return out
}

// goTest runs the suite's tests in dir and reports whether they passed, with their output. err
// is set only when go test could not be run at all (or ctx ended).
func goTest(ctx context.Context, dir string, s suite, opt Options) (string, bool, error) {
	args := []string{"test", "-count=1", "-failfast", "-timeout", opt.Timeout.String()}
	if s.run != "" {
		args = append(args, "-run", s.run)
	}
	args = append(args, s.packages...)
	cmd := exec.CommandContext(ctx, opt.Go, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		return out.String(), false, ctx.Err()
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), true, nil
	case errors.As(err, &exit):
		return out.String(), false, nil
	default:
		return out.String(), false, fmt.Errorf("go test %s: %w", s, err)
	}
}

// test applies m to the scratch tree, runs its tests, and puts the file back.
func test(ctx context.Context, scratch string, m Mutation, opt Options) (Result, error) {
	path := filepath.Join(scratch, m.File)
	orig, err := os.ReadFile(path)
	if err != nil {
		return Result{}, err
	}
	mutated, err := m.apply(scratch)
	if err != nil {
		return Result{}, err
	}
	if err := os.WriteFile(path, mutated, 0o644); err != nil {
		return Result{}, err
	}
	defer func() { _ = os.WriteFile(path, orig, 0o644) }()

	start := time.Now()
	out, passed, err := goTest(ctx, scratch, suiteOf(m), opt)
	r := Result{Mutation: m, Duration: time.Since(start)}
	switch {
	case err != nil:
		return r, fmt.Errorf("%q: %w", m.Name, err)
	case passed && ranNothing(out):
		// The run filter matches no test of a package: nothing could have caught it.
		r.Outcome, r.Output = Broken, out
	case passed:
		r.Outcome, r.Output = Survived, out
	default:
		r.Outcome, r.By = classify(out)
		if r.Outcome != Caught {
			r.Output = out
		}
	}
	return r, nil
}

// ranNothing reports whether a package of a passing go test ran no test ("[no tests to run]",
// "[no test files]").
func ranNothing(out string) bool {
	return strings.Contains(out, "[no tests to run]") || strings.Contains(out, "[no test files]")
}

var (
	failLine  = regexp.MustCompile(`(?m)^--- FAIL: (\S+)`)
	buildFail = regexp.MustCompile(`(?m)\[(build|setup) failed\]|^# \S+\n`)
)

// classify reads a failed go test's output: tests that failed mean caught; a tree that did not
// build means the mutation is broken; a binary that died (timeout, panic) is caught too.
func classify(out string) (Outcome, []string) {
	if buildFail.MatchString(out) && !failLine.MatchString(out) {
		return Broken, nil
	}
	var by []string
	for _, m := range failLine.FindAllStringSubmatch(out, -1) {
		by = append(by, m[1])
	}
	switch {
	case len(by) > 0:
	case strings.Contains(out, "panic: test timed out"):
		by = []string{"timeout"}
	case strings.Contains(out, "panic:"):
		by = []string{"panic"}
	default:
		by = []string{"go test failed"}
	}
	return Caught, by
}

// trackedFiles lists the files git tracks under root that exist in the working tree.
func trackedFiles(ctx context.Context, root string) ([]string, error) {
	out, err := exec.CommandContext(ctx, "git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		return nil, fmt.Errorf("git ls-files in %s: %w", root, err)
	}
	var files []string
	for f := range strings.SplitSeq(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		if fi, err := os.Lstat(filepath.Join(root, f)); err == nil && fi.Mode().IsRegular() {
			files = append(files, f)
		}
	}
	return files, nil
}

// copyFiles copies files (relative to from) into to, keeping their modes.
func copyFiles(from, to string, files []string) error {
	for _, f := range files {
		src := filepath.Join(from, f)
		fi, err := os.Stat(src)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, data, fi.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

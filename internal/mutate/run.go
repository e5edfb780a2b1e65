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
// mutated tree did not build (the mutation is wrong, not the tests).
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
	// Progress, when set, gets a line as each mutation finishes.
	Progress io.Writer
}

// Run copies the tree at root (the files git tracks, as they are in the working tree) into
// scratch directories and tests every mutation of ms there, one per copy at a time. The tree at
// root is never written. Results are in the order of ms.
func Run(ctx context.Context, root string, ms []Mutation, opt Options) ([]Result, error) {
	if err := Check(root, ms); err != nil {
		return nil, err
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
		return nil, err
	}
	results := make([]Result, len(ms))
	next := make(chan int)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range opt.Jobs {
		scratch, err := os.MkdirTemp("", "slipway-mutate-")
		if err != nil {
			return nil, err
		}
		defer func() { _ = os.RemoveAll(scratch) }()
		if err := copyFiles(root, scratch, files); err != nil {
			return nil, err
		}
		wg.Go(func() {
			for i := range next {
				r, err := test(ctx, scratch, ms[i], opt)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				results[i] = r
				if opt.Progress != nil && err == nil {
					fmt.Fprintf(opt.Progress, "%-8s %5.1fs  %s\n", r.Outcome, r.Duration.Seconds(), r.Mutation.Name)
				}
				mu.Unlock()
			}
		})
	}
	for i := range ms {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return results, firstErr
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

	args := []string{"test", "-count=1", "-failfast", "-timeout", opt.Timeout.String()}
	if m.Run != "" {
		args = append(args, "-run", m.Run)
	}
	args = append(args, m.Packages...)
	cmd := exec.CommandContext(ctx, opt.Go, args...)
	cmd.Dir = scratch
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	r := Result{Mutation: m, Duration: time.Since(start)}
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		r.Outcome, r.Output = Survived, out.String()
	case !errors.As(err, &exit):
		return r, fmt.Errorf("%q: go test: %w", m.Name, err)
	default:
		r.Outcome, r.By = classify(out.String())
		if r.Outcome != Caught {
			r.Output = out.String()
		}
	}
	return r, nil
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

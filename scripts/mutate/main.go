// Command mutate checks the checks: it puts each one-line bug of a list into a scratch copy of
// the tree, runs the tests that should notice it, and prints a table of what was caught. It exits
// 1 if any mutation survived or did not build, 2 on a bad list, a stale mutation, or a test that
// fails without any mutation (the baseline, run first).
//
//	go run ./scripts/mutate                  # every mutation in scripts/mutate/mutations.yml
//	go run ./scripts/mutate -only 'stop'     # those whose name matches
//	go run ./scripts/mutate -check           # only check that every mutation still applies
//	go run ./scripts/mutate -markdown        # the table as Markdown, for docs/RELIABILITY.md
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/internal/mutate"
)

func main() {
	list := flag.String("list", "", "the mutation list (default scripts/mutate/mutations.yml of the repository)")
	only := flag.String("only", "", "test only the mutations whose name matches this regular expression")
	jobs := flag.Int("j", min(2, runtime.NumCPU()), "mutations tested at once, each in its own scratch copy")
	timeout := flag.Duration("timeout", 5*time.Minute, "bound of each go test run (a test binary that runs out counts as caught)")
	check := flag.Bool("check", false, "only check that every mutation applies to the tree")
	baseline := flag.Bool("baseline", true, "first run every test run of the list unmutated, and stop if one fails")
	markdown := flag.Bool("markdown", false, "print the results as a Markdown table too")
	flag.Parse()
	os.Exit(run(*list, *only, *jobs, *timeout, *check, *baseline, *markdown))
}

func run(list, only string, jobs int, timeout time.Duration, check, baseline, markdown bool) int {
	root, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutate: run it inside the repository:", err)
		return 2
	}
	dir := strings.TrimSpace(string(root))
	if list == "" {
		list = filepath.Join(dir, "scripts", "mutate", "mutations.yml")
	}
	ms, err := mutate.Load(list)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
		return 2
	}
	if only != "" {
		re, err := regexp.Compile(only)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mutate: -only:", err)
			return 2
		}
		var sel []mutate.Mutation
		for _, m := range ms {
			if re.MatchString(m.Name) {
				sel = append(sel, m)
			}
		}
		ms = sel
		if len(ms) == 0 {
			fmt.Fprintf(os.Stderr, "mutate: no mutation's name matches %q\n", only)
			return 2
		}
	}
	if check {
		if err := mutate.Check(dir, ms); err != nil {
			fmt.Fprintln(os.Stderr, "mutate:", err)
			return 2
		}
		fmt.Printf("%d mutations apply\n", len(ms))
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	rep, err := mutate.Run(ctx, dir, ms, mutate.Options{Jobs: jobs, Timeout: timeout, Baseline: baseline, Progress: os.Stderr})
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "mutate: interrupted; the tree was not changed and the scratch copies are removed")
		return 130
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
		return 2
	}
	mutate.WriteTable(os.Stdout, rep, time.Since(start))
	if markdown {
		fmt.Println()
		mutate.WriteMarkdown(os.Stdout, rep.Results)
	}
	if !mutate.Summarize(rep.Results).OK() {
		return 1
	}
	return 0
}

package mutate

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Summary counts results by outcome.
type Summary struct {
	Caught, Survived, Broken int
}

// Summarize counts rs.
func Summarize(rs []Result) Summary {
	var s Summary
	for _, r := range rs {
		switch r.Outcome {
		case Caught:
			s.Caught++
		case Survived:
			s.Survived++
		case Broken:
			s.Broken++
		}
	}
	return s
}

// OK reports whether every mutation was caught.
func (s Summary) OK() bool { return s.Survived == 0 && s.Broken == 0 }

// WriteTable prints one line per result: outcome, time, the mutation, where, and what caught it;
// then go test's output of every survivor and broken mutation, the totals and the baseline.
func WriteTable(w io.Writer, rep Report, took time.Duration) {
	rs := rep.Results
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RESULT\tTIME\tMUTATION\tFILE\tCAUGHT BY")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%.1fs\t%s\t%s\t%s\n", r.Outcome, r.Duration.Seconds(), r.Mutation.Name, r.Mutation.File, by(r))
	}
	_ = tw.Flush()
	for _, r := range rs {
		if r.Outcome != Caught {
			fmt.Fprintf(w, "\n--- %s: %s (%s: %q → %q)\n%s", r.Outcome, r.Mutation.Name, r.Mutation.File, r.Mutation.Find, r.Mutation.Replace, r.Output)
		}
	}
	s := Summarize(rs)
	fmt.Fprintf(w, "\n%d mutations: %d caught, %d survived, %d broken, in %s", len(rs), s.Caught, s.Survived, s.Broken, took.Round(time.Second))
	if rep.Suites > 0 {
		fmt.Fprintf(w, " (of which the baseline, %d test runs unmutated: %s)", rep.Suites, rep.Baseline.Round(time.Second))
	}
	fmt.Fprintln(w)
}

// WriteMarkdown prints the results as a Markdown table (docs/RELIABILITY.md keeps one).
func WriteMarkdown(w io.Writer, rs []Result) {
	fmt.Fprintln(w, "| mutation | file | caught by |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, r := range rs {
		caught := by(r)
		if r.Outcome != Caught {
			caught = "**" + string(r.Outcome) + "**"
		}
		fmt.Fprintf(w, "| %s | `%s` | %s |\n", strings.ReplaceAll(r.Mutation.Name, "|", `\|`), r.Mutation.File, caught)
	}
}

// by names the tests that caught r, without their subtests when the parent failed too.
func by(r Result) string {
	if r.Outcome != Caught {
		return "-"
	}
	var out []string
	for _, name := range r.By {
		parent, _, sub := strings.Cut(name, "/")
		if sub && slices.Contains(r.By, parent) {
			continue
		}
		out = append(out, name)
	}
	return strings.Join(out, ", ")
}

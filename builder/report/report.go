// Package report reads test result files (JUnit XML, Cucumber JSON) into
// the model of CodeBuild's test reports: a report per report group with its
// status, the count of test cases by status, the duration and the test cases
// themselves. It is pure: no file is opened here, the caller passes readers.
//
// Everything a file can grow is bounded: the bytes read (MaxFileSize), the
// XML tokens and nesting, the test cases kept (MaxCases, failures first, as
// CodeBuild keeps 500), the length of a message and of a case's output.
// Counts and durations still cover every case read.
package report

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Formats parsed here (buildspec reports.*.file-format).
const (
	FormatJUnit    = "JUNITXML"
	FormatCucumber = "CUCUMBERJSON"
)

// Test case statuses, as CodeBuild's.
const (
	Succeeded = "SUCCEEDED"
	Failed    = "FAILED"
	Error     = "ERROR"
	Skipped   = "SKIPPED"
	Unknown   = "UNKNOWN"
)

// Report statuses. A report is SUCCEEDED when none of its cases failed or
// erred, FAILED when one did, and INCOMPLETE when it could not be made: no
// file matched, a file did not parse, or the format is not read yet.
const (
	ReportSucceeded  = Succeeded
	ReportFailed     = Failed
	ReportIncomplete = "INCOMPLETE"
)

// CaseStatuses lists the test case statuses in the order summaries show them.
var CaseStatuses = []string{Succeeded, Failed, Error, Skipped, Unknown}

// Bounds on what one report file can make this package hold.
const (
	// MaxFileSize is the largest report file read, in bytes.
	MaxFileSize = 32 << 20
	// MaxCases is the most test cases a report keeps (CodeBuild's 500);
	// failed and erred cases are kept first.
	MaxCases = 500
	// MaxMessage bounds a case's message, in bytes.
	MaxMessage = 4 << 10
	// MaxOutput bounds a case's output (system-out, system-err), in bytes.
	MaxOutput = 16 << 10
	// MaxTokens bounds the XML tokens of one file.
	MaxTokens = 4 << 20
	// MaxDepth bounds the nesting of elements of one file.
	MaxDepth = 256
	// MaxName bounds a case's name and prefix, in bytes.
	MaxName = 1 << 10
)

// Errors of the parsers, wrapped in a *ParseError.
var (
	ErrTooLarge    = errors.New("the file is larger than the 32 MiB a report file may be")
	ErrTooComplex  = errors.New("the file has more elements or deeper nesting than a report file may have")
	ErrNotReport   = errors.New("the file is not a test report of this format")
	ErrUnsupported = errors.New("this report format is not supported yet")
)

// ParseError says why a report file could not be read.
type ParseError struct {
	Format string
	// Offset is the byte offset where reading stopped, when known.
	Offset int64
	Err    error
}

func (e *ParseError) Error() string {
	if e.Offset > 0 {
		return fmt.Sprintf("%s: at byte %d: %v", e.Format, e.Offset, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Format, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Case is one test case.
type Case struct {
	Name string `json:"name"`
	// Prefix groups related cases: the class name of a JUnit case (its
	// suite's name without one), the feature of a Cucumber scenario.
	Prefix string `json:"prefix,omitempty"`
	// Suite is the innermost test suite (JUnit) or the feature (Cucumber).
	Suite      string `json:"suite,omitempty"`
	Status     string `json:"status"`
	DurationNS int64  `json:"duration_ns"`
	Message    string `json:"message,omitempty"`
	// Output is the case's system-out and system-err (JUnit); a report
	// keeps it for failed and erred cases only.
	Output string `json:"output,omitempty"`
	// File is the report file the case was read from, as in the report's
	// Files.
	File string `json:"file,omitempty"`
}

// Report is one report group's report of one build.
type Report struct {
	Name   string `json:"name"`
	Format string `json:"format"`
	Status string `json:"status"`
	// Message says why the report is INCOMPLETE.
	Message string `json:"message,omitempty"`
	// Total is the number of cases read; Counts splits it by status (every
	// status is present, with 0).
	Total      int            `json:"total"`
	Counts     map[string]int `json:"counts"`
	DurationNS int64          `json:"duration_ns"`
	// Files are the report files read, as the report group names them
	// (relative to its base directory, or base names with discard-paths).
	Files []string `json:"files"`
	// Cases are the cases kept (at most MaxCases, failures first), in the
	// order read; Truncated says some were left out.
	Cases     []Case `json:"cases"`
	Truncated bool   `json:"truncated,omitempty"`
}

// New starts an empty report.
func New(name, format string) *Report {
	r := &Report{Name: name, Format: format, Status: ReportSucceeded, Counts: map[string]int{}, Files: []string{}, Cases: []Case{}}
	for _, s := range CaseStatuses {
		r.Counts[s] = 0
	}
	return r
}

// Supported reports whether format is parsed by this package.
func Supported(format string) bool { return format == FormatJUnit || format == FormatCucumber }

// Add counts c and keeps it within MaxCases: when the report is full, a
// failed or erred case takes the place of the last kept case that did not
// fail. Only the output of failed and erred cases is kept.
func (r *Report) Add(c Case) {
	if !failing(c.Status) {
		c.Output = ""
	}
	r.Total++
	r.Counts[c.Status]++
	r.DurationNS = addDuration(r.DurationNS, c.DurationNS)
	if c.Status == Failed || c.Status == Error {
		if r.Status != ReportIncomplete {
			r.Status = ReportFailed
		}
	}
	if len(r.Cases) < MaxCases {
		r.Cases = append(r.Cases, c)
		return
	}
	r.Truncated = true
	if !failing(c.Status) {
		return
	}
	for i := len(r.Cases) - 1; i >= 0; i-- {
		if !failing(r.Cases[i].Status) {
			r.Cases = append(r.Cases[:i], r.Cases[i+1:]...)
			r.Cases = append(r.Cases, c)
			return
		}
	}
}

func failing(status string) bool { return status == Failed || status == Error }

// AddFile reads one file of the report's format; file is its name as the
// report shows it. A file that does not parse makes the report INCOMPLETE
// (its cases read before the error stay counted) and is returned.
func (r *Report) AddFile(file string, rd io.Reader) error {
	r.Files = append(r.Files, file)
	add := func(c Case) {
		c.File = file
		r.Add(c)
	}
	var err error
	switch r.Format {
	case FormatJUnit:
		err = ParseJUnit(rd, add)
	case FormatCucumber:
		err = ParseCucumber(rd, add)
	default:
		err = &ParseError{Format: r.Format, Err: ErrUnsupported}
	}
	if err != nil {
		r.Incomplete(fmt.Sprintf("%s: %v", file, err))
	}
	return err
}

// Incomplete marks the report INCOMPLETE; the first reason given is kept.
func (r *Report) Incomplete(reason string) {
	r.Status = ReportIncomplete
	if r.Message == "" {
		r.Message = reason
	}
}

// Summary is one line: the status and the counts that are not 0.
func (r *Report) Summary() string {
	var parts []string
	for _, s := range CaseStatuses {
		if n := r.Counts[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	others := make([]string, 0)
	for s, n := range r.Counts {
		if n > 0 && !contains(CaseStatuses, s) {
			others = append(others, fmt.Sprintf("%d %s", n, s))
		}
	}
	sort.Strings(others)
	parts = append(parts, others...)
	line := fmt.Sprintf("%s %d test cases", r.Status, r.Total)
	if len(parts) > 0 {
		line += " (" + strings.Join(parts, ", ") + ")"
	}
	line += ", " + time.Duration(r.DurationNS).Round(time.Millisecond).String()
	if r.Message != "" {
		line += ": " + r.Message
	}
	return line
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// fileSizeLimit is MaxFileSize; tests lower it.
var fileSizeLimit int64 = MaxFileSize

// limitedReader reads at most fileSizeLimit bytes and fails past them.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n > fileSizeLimit {
		return 0, ErrTooLarge
	}
	if int64(len(p)) > fileSizeLimit+1-l.n {
		p = p[:fileSizeLimit+1-l.n]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > fileSizeLimit {
		return n, ErrTooLarge
	}
	return n, err
}

// clip cuts s to max bytes on a rune boundary, saying so, and makes it
// valid UTF-8.
func clip(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= max {
		return s
	}
	const more = " …(truncated)"
	cut := max - len(more)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + more
}

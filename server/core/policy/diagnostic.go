package policy

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is what every parse and compile error matches with errors.Is.
var ErrInvalid = errors.New("invalid policy document")

// Diagnostic is one problem in a policy document: the path of the field at fault
// (`Statement[2].Effect`; empty for the document as a whole), the line it starts on in the
// source (0 when unknown, e.g. for a Document built in Go), and what is wrong and how to fix it.
type Diagnostic struct {
	Path    string
	Line    int
	Message string
}

func (d Diagnostic) String() string {
	var b strings.Builder
	if d.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", d.Line)
	}
	if d.Path != "" {
		b.WriteString(d.Path)
		b.WriteString(": ")
	}
	b.WriteString(d.Message)
	return b.String()
}

// Error is the error Parse and Compile return: every diagnostic found, in document order (at
// most 20, the last one then saying more were left out). It matches ErrInvalid.
type Error struct {
	Diagnostics []Diagnostic
}

// Error renders one diagnostic per line.
func (e *Error) Error() string {
	parts := make([]string, len(e.Diagnostics))
	for i, d := range e.Diagnostics {
		parts[i] = d.String()
	}
	return strings.Join(parts, "\n")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// diags collects diagnostics up to maxDiagnosticCount, then one summary; lines maps a field
// path to its source line.
type diags struct {
	list    []Diagnostic
	dropped int
	lines   map[string]int
}

func (ds *diags) add(path, format string, args ...any) {
	if len(ds.list) >= maxDiagnosticCount {
		ds.dropped++
		return
	}
	ds.list = append(ds.list, Diagnostic{Path: path, Line: ds.lines[path], Message: fmt.Sprintf(format, args...)})
}

func (ds *diags) err() error {
	if len(ds.list) == 0 {
		return nil
	}
	list := ds.list
	if ds.dropped > 0 {
		list = append(list, Diagnostic{Message: fmt.Sprintf("and %d more problems not shown", ds.dropped)})
	}
	return &Error{Diagnostics: list}
}

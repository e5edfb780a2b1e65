package pipelinespec

import (
	"fmt"
	"sort"
	"strings"
)

// Severities of a diagnostic: an error refuses the definition, a warning is shown and stored
// with it.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Diagnostic is one problem found in a definition, rendered "path:line:col: message" (the
// buildspec package's type and rendering). Line and Column are 1-based and point at the value
// at fault (or its key); Field is its path, e.g. "stages[1].actions[0].configuration.ProjectName".
type Diagnostic struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Field    string `json:"field,omitempty"`
	Severity string `json:"severity"` // "error" or "warning"
	Message  string `json:"message"`
}

// String renders the diagnostic as "path:line:col: message", with "warning: " before a
// warning's message; a diagnostic without a position renders as "path: message".
func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.File)
	if d.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", d.Line, d.Column)
	}
	b.WriteString(": ")
	if d.Severity == SeverityWarning {
		b.WriteString("warning: ")
	}
	b.WriteString(d.Message)
	return b.String()
}

// Diagnostics is a list of diagnostics in file, line, column order.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool { return len(ds.Errors()) > 0 }

// Errors returns only the errors.
func (ds Diagnostics) Errors() Diagnostics { return ds.only(SeverityError) }

// Warnings returns only the warnings.
func (ds Diagnostics) Warnings() Diagnostics { return ds.only(SeverityWarning) }

func (ds Diagnostics) only(sev string) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == sev {
			out = append(out, d)
		}
	}
	return out
}

// Strings renders each diagnostic as "path:line:col: message" ("warning: " before a warning's
// message).
func (ds Diagnostics) Strings() []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.String())
	}
	return out
}

// String renders one diagnostic per line, each ending in a newline.
func (ds Diagnostics) String() string {
	var b strings.Builder
	for _, s := range ds.Strings() {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	return b.String()
}

// sort orders diagnostics by line, column, then field and message, so that output is stable
// whatever order the checks ran in.
func (ds Diagnostics) sort() {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		if a.Field != b.Field {
			return a.Field < b.Field
		}
		return a.Message < b.Message
	})
}

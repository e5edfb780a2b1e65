package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
)

// Output formats accepted by --output.
const (
	formatTable = "table"
	formatJSON  = "json"
)

// printer writes a command's result in the chosen format. In json format commands print the API
// objects as they came (lists as one array over all pages); in table format they print aligned
// columns with a header row, or "Field  value" lines for a single object.
type printer struct {
	w      io.Writer
	format string
}

func (p *printer) json() bool { return p.format == formatJSON }

// JSON prints v as indented JSON.
func (p *printer) JSON(v any) error {
	enc := json.NewEncoder(p.w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// Table prints rows under headers, aligned.
func (p *printer) Table(headers []string, rows [][]string) error {
	tw := tabwriter.NewWriter(p.w, 0, 0, 3, ' ', 0)
	writeRow(tw, headers)
	for _, r := range rows {
		writeRow(tw, r)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// field is one line of a single object's table view.
type field struct{ name, value string }

// Fields prints one object as aligned "Name  value" lines.
func (p *printer) Fields(fields []field) error {
	tw := tabwriter.NewWriter(p.w, 0, 0, 2, ' ', 0)
	for _, f := range fields {
		writeRow(tw, []string{f.name, f.value})
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// Linef prints a line of text, for table format only: in json format a command either prints
// its object or nothing.
func (p *printer) Linef(format string, a ...any) error {
	if p.json() {
		return nil
	}
	if _, err := fmt.Fprintf(p.w, format+"\n", a...); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

func writeRow(w io.Writer, cells []string) {
	clean := make([]string, len(cells))
	for i, c := range cells {
		clean[i] = cell(c)
	}
	_, _ = fmt.Fprintln(w, strings.Join(clean, "\t"))
}

// cell makes s safe for one table cell: control characters (tabs, newlines, escapes) would
// break the alignment or the terminal, so they become spaces; an empty value becomes "-".
func cell(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

// formatTime renders a timestamp for tables; the zero time is "-".
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.RFC3339)
}

func yesNo(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// allPages calls fetch with each page token in turn, starting from "", and collects the items
// until a page comes back without a next token. A server that hands out the same token twice
// would loop forever; that is reported as an error instead.
func allPages[T any](ctx context.Context, fetch func(next string) ([]T, string, error)) ([]T, error) {
	items := []T{}
	seen := map[string]bool{}
	next := ""
	for {
		page, following, err := fetch(next)
		if err != nil {
			return nil, err
		}
		items = append(items, page...)
		if following == "" {
			return items, nil
		}
		if seen[following] {
			return nil, fmt.Errorf("list: the server returned page token %q twice", following)
		}
		seen[following] = true
		next = following
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// jsonLine prints v as one line of JSON (for streams).
func jsonLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

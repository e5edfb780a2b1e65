package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// Cucumber JSON, as cucumber-jvm, cucumber-js and cucumber-ruby write it:
// an array of features, each with elements (backgrounds and scenarios),
// each with steps (and before and after hooks) that have a result.
type cucumberFeature struct {
	URI      string            `json:"uri"`
	Name     string            `json:"name"`
	Elements []cucumberElement `json:"elements"`
}

type cucumberElement struct {
	Name    string         `json:"name"`
	Keyword string         `json:"keyword"`
	Type    string         `json:"type"`
	Before  []cucumberStep `json:"before"`
	Steps   []cucumberStep `json:"steps"`
	After   []cucumberStep `json:"after"`
}

type cucumberStep struct {
	Keyword string         `json:"keyword"`
	Name    string         `json:"name"`
	Result  cucumberResult `json:"result"`
}

type cucumberResult struct {
	Status string `json:"status"`
	// Duration is in nanoseconds (cucumber-jvm, cucumber-js 7); a float
	// in some writers.
	Duration     json.Number `json:"duration"`
	ErrorMessage string      `json:"error_message"`
}

// cucumberStatus maps a step result to a case status; the worst step of a
// scenario (by rank) is its status.
func cucumberStatus(s string) string {
	switch strings.ToLower(s) {
	case "passed":
		return Succeeded
	case "failed":
		return Failed
	case "ambiguous", "undefined":
		return Error
	case "skipped", "pending":
		return Skipped
	}
	return Unknown
}

var cucumberRank = map[string]int{Succeeded: 0, Skipped: 1, Unknown: 2, Error: 3, Failed: 4}

// ParseCucumber reads a Cucumber JSON file and calls add for each scenario,
// in file order. A scenario's status is its worst step or hook (failed →
// FAILED; ambiguous and undefined → ERROR; pending and skipped → SKIPPED; a
// status Cucumber does not define → UNKNOWN; all passed → SUCCEEDED), the
// steps of the background before it included; its duration the sum of its
// steps'; its message the first failing step and its error. Errors are
// *ParseError.
func ParseCucumber(r io.Reader, add func(Case)) error {
	lr := &limitedReader{r: r}
	data, err := io.ReadAll(bufio.NewReader(lr))
	if err != nil {
		return &ParseError{Format: FormatCucumber, Err: err}
	}
	if !bytes.HasPrefix(bytes.TrimSpace(data), []byte("[")) {
		return &ParseError{Format: FormatCucumber, Err: errNotArray}
	}
	var features []cucumberFeature
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(&features); err != nil {
		var se *json.SyntaxError
		off := int64(0)
		if errors.As(err, &se) {
			off = se.Offset
		}
		return &ParseError{Format: FormatCucumber, Offset: off, Err: err}
	}
	for _, f := range features {
		feature := f.Name
		if feature == "" {
			feature = f.URI
		}
		feature = clip(feature, MaxName)
		var background []cucumberStep
		for _, e := range f.Elements {
			if strings.EqualFold(e.Type, "background") || strings.EqualFold(strings.TrimSpace(e.Keyword), "background") {
				background = e.Steps
				continue
			}
			add(scenario(feature, e, background))
			background = nil // each scenario has its own background element before it
		}
	}
	return nil
}

var errNotArray = fmt.Errorf("%w: Cucumber JSON is an array of features", ErrNotReport)

func scenario(feature string, e cucumberElement, background []cucumberStep) Case {
	c := Case{Name: clip(e.Name, MaxName), Prefix: feature, Suite: feature, Status: Succeeded}
	steps := make([]cucumberStep, 0, len(e.Before)+len(background)+len(e.Steps)+len(e.After))
	steps = append(append(append(append(steps, e.Before...), background...), e.Steps...), e.After...)
	for _, s := range steps {
		c.DurationNS = addDuration(c.DurationNS, nanos(s.Result.Duration))
		st := cucumberStatus(s.Result.Status)
		if cucumberRank[st] <= cucumberRank[c.Status] {
			continue
		}
		c.Status = st
		if st == Failed || st == Error {
			msg := strings.TrimSpace(s.Keyword + s.Name)
			if msg == "" {
				msg = "a hook"
			}
			msg += " " + strings.ToLower(s.Result.Status)
			if s.Result.ErrorMessage != "" {
				msg += ": " + s.Result.ErrorMessage
			}
			c.Message = clip(msg, MaxMessage)
		}
	}
	if c.Status == Skipped || c.Status == Unknown {
		c.Message = ""
	}
	return c
}

func nanos(n json.Number) int64 {
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || f <= 0 {
		return 0
	}
	if f > math.MaxInt64/4 {
		return math.MaxInt64 / 4
	}
	return int64(f)
}

func addDuration(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

package pipelinespec

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/slipwayhq/slipway/internal/yamlwalk"
	"gopkg.in/yaml.v3"
)

// pos is where a value is in the file.
type pos struct{ line, col int }

// decoder walks a yaml.Node tree into a Pipeline, recording where every field is and the
// structural diagnostics (kinds, duplicate and unknown keys, bounds).
type decoder struct {
	yamlwalk.Walker
	file      string
	diags     Diagnostics
	positions map[string]pos
	// keyPositions are where the keys of the fields written as "key: value" are.
	keyPositions map[string]pos
	// reported marks the fields that already have an error, so that validation does not
	// report a second one about them.
	reported map[string]bool
	// ignored collects the AWS keys that mean nothing here, by key, for one warning each.
	ignored      map[string][]ignoredAt
	ignoredOrder []string
}

type ignoredAt struct {
	field string
	node  *yaml.Node // nil: the field's recorded position
}

// pair is one key/value of a mapping after merge keys are applied.
type pair = yamlwalk.Pair

// newDecoder starts decoding file, within yamlwalk's default limits on aliases, merge keys and
// work.
func newDecoder(file string) *decoder {
	d := &decoder{file: file, positions: map[string]pos{}, keyPositions: map[string]pos{}, reported: map[string]bool{}, ignored: map[string][]ignoredAt{}}
	d.Walker = yamlwalk.Walker{MaxNesting: MaxNesting, Errorf: d.errorf, Record: d.record,
		TooDeep: func(n *yaml.Node, field string) {
			d.errorf(n, field, "mappings and lists nest deeper than %d levels; a pipeline definition needs far fewer", MaxNesting)
		}}
	return d
}

// maxDiagnostics bounds what one file reports; the rest would only repeat the first ones.
const maxDiagnostics = 200

func (d *decoder) add(sev string, n *yaml.Node, field, format string, args ...any) {
	if sev == SeverityError {
		d.reported[field] = true
	}
	if len(d.diags) >= maxDiagnostics {
		if len(d.diags) == maxDiagnostics {
			d.diags = append(d.diags, Diagnostic{File: d.file, Line: 1, Column: 1, Severity: SeverityError,
				Message: fmt.Sprintf("more than %d problems; fix these and parse again", maxDiagnostics)})
		}
		return
	}
	diag := Diagnostic{File: d.file, Field: field, Severity: sev, Message: fmt.Sprintf(format, args...)}
	if n != nil && n.Line > 0 {
		diag.Line, diag.Column = n.Line, n.Column
	} else {
		p := d.pos(field)
		diag.Line, diag.Column = p.line, p.col
	}
	d.diags = append(d.diags, diag)
}

func (d *decoder) errorf(n *yaml.Node, field, format string, args ...any) {
	d.add(SeverityError, n, field, format, args...)
}

func (d *decoder) warnf(n *yaml.Node, field, format string, args ...any) {
	d.add(SeverityWarning, n, field, format, args...)
}

// pos answers where field is, or its nearest recorded parent (line 1, column 1 at worst).
func (d *decoder) pos(field string) pos {
	for {
		if p, ok := d.positions[field]; ok {
			return p
		}
		if field == "" {
			return pos{1, 1}
		}
		field = parentField(field)
	}
}

// parentField strips the last ".key" or "[i]" of a field path.
func parentField(field string) string {
	i := strings.LastIndexAny(field, ".[")
	if i < 0 {
		return ""
	}
	return field[:i]
}

// record remembers where field's value is (its key when the value has no position).
func (d *decoder) record(field string, val, key *yaml.Node) {
	n := val
	if n == nil || n.Line == 0 {
		n = key
	}
	if n != nil && n.Line > 0 {
		d.positions[field] = pos{n.Line, n.Column}
	}
	if key != nil && key.Line > 0 {
		d.keyPositions[field] = pos{key.Line, key.Column}
	}
}

// keyNode answers a node positioned at field's key (nil when unknown), for messages about
// the key rather than its value.
func (d *decoder) keyNode(field string) *yaml.Node {
	if p, ok := d.keyPositions[field]; ok {
		return &yaml.Node{Line: p.line, Column: p.col}
	}
	return nil
}

// ignore notes an AWS key that means nothing here; finish names each such key in one warning.
func (d *decoder) ignore(key, field string, node *yaml.Node) {
	if _, seen := d.ignored[key]; !seen {
		d.ignoredOrder = append(d.ignoredOrder, key)
	}
	d.ignored[key] = append(d.ignored[key], ignoredAt{field: field, node: node})
}

// finishIgnored emits one warning per ignored key, at its first place.
func (d *decoder) finishIgnored() {
	for _, key := range d.ignoredOrder {
		at := d.ignored[key]
		more := ""
		switch len(at) {
		case 1:
		case 2:
			more = " (here and in 1 more place)"
		default:
			more = fmt.Sprintf(" (here and in %d more places)", len(at)-1)
		}
		n := at[0].node
		if n == nil {
			n = d.keyNode(at[0].field)
		}
		d.warnf(n, at[0].field, "%s is an AWS key that means nothing in Slipway; it is ignored%s", quote(key), more)
	}
}

// mapping returns the pairs of n, which must be a mapping (null gives none). Keys in ignore
// are AWS's keys that mean nothing here (noted for one warning each); other keys outside known
// get a warning with a suggestion. known nil accepts every key. what names n in messages.
func (d *decoder) mapping(n *yaml.Node, field, what string, known, ignore []string) []pair {
	var out []pair
	for _, p := range d.Mapping(n, field, what) {
		f := yamlwalk.JoinField(field, p.Key)
		switch {
		case contains(ignore, p.Key):
			d.ignore(p.Key, f, p.KeyNode)
		case known != nil && !contains(known, p.Key):
			d.warnf(p.KeyNode, f, "unknown key %s in %s is ignored%s", quote(p.Key), what, didYouMean(p.Key, known))
		default:
			out = append(out, p)
		}
	}
	return out
}

// integer decodes a whole number (also written as a quoted number, as in AWS's JSON strings);
// ok is false, with an error reported, for anything else.
func (d *decoder) integer(p pair, field, what string) (int, bool) {
	d.record(field, p.Val, p.KeyNode)
	v, tag, ok := d.Scalar(p.Val, field, what)
	if !ok {
		return 0, false
	}
	if tag == "!!int" || tag == "!!str" {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			return n, true
		}
	}
	d.errorf(p.Val, field, "%s must be a whole number, not %s", what, quote(v))
	return 0, false
}

// syntaxError turns a yaml.v3 error into a positioned diagnostic.
func (d *decoder) syntaxError(err error, data []byte) {
	line, msg, tabs := yamlwalk.SyntaxError(err, data)
	hint := "fix the YAML or JSON syntax"
	if tabs {
		hint = "indent with spaces: YAML does not allow tabs"
	}
	d.diags = append(d.diags, Diagnostic{File: d.file, Line: line, Column: 1, Severity: SeverityError,
		Message: fmt.Sprintf("invalid YAML: %s; %s", msg, hint)})
}

// unmarshal parses YAML (JSON is YAML) into a node tree, turning a parser panic into an error
// so that no input can crash the caller.
func unmarshal(data []byte, root *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	return yaml.Unmarshal(data, root)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

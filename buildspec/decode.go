package buildspec

import (
	"fmt"
	"strconv"

	"github.com/slipwayhq/slipway/internal/yamlwalk"
	"gopkg.in/yaml.v3"
)

// MaxNesting is how deep mappings and lists may nest in a buildspec.
const MaxNesting = 64

// decoder walks a yaml.Node tree into a Spec, recording positions and
// structural diagnostics.
type decoder struct {
	yamlwalk.Walker
	spec  *Spec
	diags Diagnostics
	// commands and commandBytes count every command decoded, aliases
	// expanded, against MaxCommands and MaxCommandBytes.
	commands     int
	commandBytes int
	tooMany      bool
}

// newDecoder starts decoding into s, within yamlwalk's default limits on
// aliases, merge keys and work.
func newDecoder(s *Spec) *decoder {
	d := &decoder{spec: s}
	d.Walker = yamlwalk.Walker{MaxNesting: MaxNesting, Errorf: d.errorf, Record: d.record,
		TooDeep: func(n *yaml.Node, field string) {
			d.errorf(n, field, "mappings and lists nest deeper than %d levels; a buildspec needs far fewer", MaxNesting)
		}}
	return d
}

// pair is one key/value of a mapping after merge keys are applied.
type pair = yamlwalk.Pair

func (d *decoder) add(sev Severity, n *yaml.Node, field, format string, args ...any) {
	diag := Diagnostic{File: d.spec.Path, Field: field, Severity: sev, Message: fmt.Sprintf(format, args...)}
	if n != nil && n.Line > 0 {
		diag.Line, diag.Column = n.Line, n.Column
	} else {
		p := d.spec.pos(field)
		diag.Line, diag.Column = p.Line, p.Column
	}
	d.diags = append(d.diags, diag)
	if sev == SeverityError && field != "" {
		d.spec.reported[field] = true
	}
}

func (d *decoder) errorf(n *yaml.Node, field, format string, args ...any) {
	d.add(SeverityError, n, field, format, args...)
}

func (d *decoder) warnf(n *yaml.Node, field, format string, args ...any) {
	d.add(SeverityWarning, n, field, format, args...)
}

// record remembers where field's value is, and whether it is null.
func (d *decoder) record(field string, val, key *yaml.Node) {
	n := val
	if n == nil || n.Line == 0 {
		n = key
	}
	if n != nil {
		d.spec.Positions[field] = Pos{Line: n.Line, Column: n.Column}
	}
	if yamlwalk.IsNull(d.Resolve(val)) {
		d.spec.nulls[field] = true
	}
}

// mapping returns the pairs of n, which must be a mapping (null gives none).
// Keys outside known get a warning with a suggestion; what names n in the
// error when n is not a mapping.
func (d *decoder) mapping(n *yaml.Node, field, what string, known []string) []pair {
	var out []pair
	for _, p := range d.Mapping(n, field, what) {
		if known != nil && !contains(known, p.Key) {
			d.warnf(p.KeyNode, yamlwalk.JoinField(field, p.Key), "unknown key %s in %s is ignored%s", quote(p.Key), what, didYouMean(p.Key, known))
			continue
		}
		out = append(out, p)
	}
	return out
}

// duplicates reports every duplicate key of every mapping in the tree below
// n, once, where it is written: also in mappings that decoding never visits
// (the value of a key that a later duplicate replaces, an anchor defined
// under an unknown key). Aliases are not followed: the node they name is
// checked where it is defined. Repeated merge keys (<<) are left to collect.
//
// syntaxError turns a yaml.v3 error into a positioned diagnostic.
func (d *decoder) syntaxError(err error, data []byte) {
	line, msg, tabs := yamlwalk.SyntaxError(err, data)
	hint := "fix the YAML syntax"
	if tabs {
		hint = "indent with spaces: YAML does not allow tabs"
	}
	d.diags = append(d.diags, Diagnostic{File: d.spec.Path, Line: line, Column: 1, Severity: SeverityError,
		Message: fmt.Sprintf("invalid YAML: %s; %s", msg, hint)})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func quote(s string) string { return strconv.Quote(s) }

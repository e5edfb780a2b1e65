package buildspec

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Limits that keep hostile documents (alias bombs, self-merging anchors)
// from making Parse slow or recursive without bound.
const (
	maxSteps      = 200000
	maxMergeDepth = 16
	maxAliasChain = 64
	// MaxNesting is how deep mappings and lists may nest in a buildspec.
	MaxNesting = 64
)

// decoder walks a yaml.Node tree into a Spec, recording positions and
// structural diagnostics.
type decoder struct {
	spec     *Spec
	diags    Diagnostics
	steps    int
	complexd bool
	deep     bool // the nesting error was reported
	// commands and commandBytes count every command decoded, aliases
	// expanded, against MaxCommands and MaxCommandBytes.
	commands     int
	commandBytes int
	tooMany      bool
}

// pair is one key/value of a mapping after merge keys are applied.
type pair struct {
	key     string
	keyNode *yaml.Node
	val     *yaml.Node
}

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
	if isNull(d.resolve(val)) {
		d.spec.nulls[field] = true
	}
}

// budget counts work and reports once when the document is too complex.
func (d *decoder) budget(n *yaml.Node, cost int) bool {
	d.steps += cost
	if d.steps <= maxSteps {
		return true
	}
	if !d.complexd {
		d.complexd = true
		d.errorf(n, "", "the document expands to too many nodes through aliases and merge keys; write the values out instead of nesting aliases")
	}
	return false
}

// resolve follows aliases to the node they name; nil for a broken chain.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i >= maxAliasChain || !d.budget(n, 1) {
			return nil
		}
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func kindName(n *yaml.Node) string {
	if n == nil {
		return "broken alias"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "null"
		}
		return "scalar " + strconv.Quote(n.Value)
	case yaml.DocumentNode:
		return "document"
	}
	return "node"
}

func joinField(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func indexField(parent string, i int) string { return fmt.Sprintf("%s[%d]", parent, i) }

// mapping returns the pairs of n, which must be a mapping (null gives none).
// Keys outside known get a warning with a suggestion; what names n in the
// error when n is not a mapping.
func (d *decoder) mapping(n *yaml.Node, field, what string, known []string) []pair {
	r := d.resolve(n)
	if isNull(r) {
		return nil
	}
	if r.Kind != yaml.MappingNode {
		d.errorf(n, field, "%s must be a mapping (key: value lines), not a %s", what, kindName(r))
		return nil
	}
	var out []pair
	for _, p := range d.collect(r, field, 0) {
		if known != nil && !contains(known, p.key) {
			d.warnf(p.keyNode, joinField(field, p.key), "unknown key %s in %s is ignored%s", quote(p.key), what, didYouMean(p.key, known))
			continue
		}
		out = append(out, p)
	}
	return out
}

// collect lists the pairs of mapping n with merge keys (<<) applied: own keys
// win over merged ones and earlier merged mappings win over later ones.
// Among duplicate own keys the last one wins (duplicates reports them as
// errors, so such a spec never runs).
func (d *decoder) collect(n *yaml.Node, field string, depth int) []pair {
	if depth > maxMergeDepth {
		d.errorf(n, field, "merge keys (<<) nest deeper than %d levels; merge fewer mappings", maxMergeDepth)
		return nil
	}
	if !d.budget(n, len(n.Content)/2+1) {
		return nil
	}
	var own, merged []pair
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := d.resolve(n.Content[i]), n.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			d.errorf(n.Content[i], field, "a key must be a plain name, not a %s", kindName(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			merged = append(merged, d.merge(v, field, depth)...)
			continue
		}
		p := pair{key: k.Value, keyNode: n.Content[i], val: v}
		if j, dup := seen[k.Value]; dup {
			own[j] = p // reported by duplicates
			continue
		}
		seen[k.Value] = len(own)
		own = append(own, p)
	}
	for _, p := range merged {
		if _, ok := seen[p.key]; !ok {
			seen[p.key] = len(own)
			own = append(own, p)
		}
	}
	return own
}

// duplicates reports every duplicate key of every mapping in the tree below
// n, once, where it is written: also in mappings that decoding never visits
// (the value of a key that a later duplicate replaces, an anchor defined
// under an unknown key). Aliases are not followed: the node they name is
// checked where it is defined. Repeated merge keys (<<) are left to collect.
//
// It also reports, once, a tree that nests deeper than MaxNesting.
func (d *decoder) duplicates(n *yaml.Node, field string, depth int) {
	if n == nil {
		return
	}
	if depth > MaxNesting {
		if !d.deep {
			d.deep = true
			d.errorf(n, field, "mappings and lists nest deeper than %d levels; a buildspec needs far fewer", MaxNesting)
		}
		return
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			d.duplicates(c, field, depth)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			d.duplicates(c, indexField(field, i), depth+1)
		}
	case yaml.MappingNode:
		first := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
				d.duplicates(v, field, depth+1)
				continue
			}
			f := joinField(field, k.Value)
			if prev, dup := first[k.Value]; dup {
				d.errorf(k, f, "duplicate key %s (first at line %d); keep only one of them", quote(k.Value), prev.Line)
			} else {
				first[k.Value] = k
			}
			d.duplicates(v, f, depth+1)
		}
	}
}

func (d *decoder) merge(v *yaml.Node, field string, depth int) []pair {
	r := d.resolve(v)
	switch {
	case r != nil && r.Kind == yaml.MappingNode:
		return d.collect(r, field, depth+1)
	case r != nil && r.Kind == yaml.SequenceNode:
		var out []pair
		for _, el := range r.Content {
			m := d.resolve(el)
			if m == nil || m.Kind != yaml.MappingNode {
				d.errorf(el, field, "<< merges mappings only, not a %s; write <<: *anchor or <<: [*a, *b]", kindName(m))
				continue
			}
			out = append(out, d.collect(m, field, depth+1)...)
		}
		return out
	}
	d.errorf(v, field, "<< merges mappings only, not a %s; write <<: *anchor or <<: [*a, *b]", kindName(r))
	return nil
}

// sequence returns the items of n, which must be a list (null gives none).
func (d *decoder) sequence(n *yaml.Node, field, what, example string) []*yaml.Node {
	r := d.resolve(n)
	if isNull(r) {
		return nil
	}
	if r.Kind != yaml.SequenceNode {
		d.errorf(n, field, "%s must be a list, not a %s; write it as %s", what, kindName(r), example)
		return nil
	}
	if !d.budget(r, len(r.Content)) {
		return nil
	}
	return r.Content
}

// scalar returns the text and tag of scalar n; ok is false (and an error is
// reported) when n is a mapping or list. Null gives ("", "!!null", true).
func (d *decoder) scalar(n *yaml.Node, field, what string) (value, tag string, ok bool) {
	r := d.resolve(n)
	if isNull(r) {
		return "", "!!null", true
	}
	if r.Kind != yaml.ScalarNode {
		d.errorf(n, field, "%s must be a single value, not a %s", what, kindName(r))
		return "", "", false
	}
	return r.Value, r.ShortTag(), true
}

// str decodes a scalar field as a string and records its position.
func (d *decoder) str(p pair, field, what string) string {
	d.record(field, p.val, p.keyNode)
	v, _, _ := d.scalar(p.val, field, what)
	return v
}

// strList decodes a list of scalars.
func (d *decoder) strList(p pair, field, what, example string) []string {
	d.record(field, p.val, p.keyNode)
	var out []string
	for i, item := range d.sequence(p.val, field, what, example) {
		f := indexField(field, i)
		d.record(f, item, nil)
		v, _, _ := d.scalar(item, f, "each item of "+what)
		out = append(out, v) // kept even when wrong, so indices match the file
	}
	return out
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a yaml.v3 error into a positioned diagnostic.
func (d *decoder) syntaxError(err error, data []byte) {
	msg := err.Error()
	line := 1
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		if n, convErr := strconv.Atoi(m[1]); convErr == nil {
			line = n
		}
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	hint := "fix the YAML syntax"
	if strings.Contains(msg, "cannot start any token") && strings.Contains(string(data), "\t") {
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

package pipelinespec

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Limits that keep hostile documents (alias bombs, self-merging anchors, deep nesting) from
// making Parse slow or recursive without bound.
const (
	maxSteps      = 200000
	maxMergeDepth = 16
	maxAliasChain = 64
)

// pos is where a value is in the file.
type pos struct{ line, col int }

// decoder walks a yaml.Node tree into a Pipeline, recording where every field is and the
// structural diagnostics (kinds, duplicate and unknown keys, bounds).
type decoder struct {
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
	steps        int
	complexd     bool
	deep         bool
}

type ignoredAt struct {
	field string
	node  *yaml.Node // nil: the field's recorded position
}

// pair is one key/value of a mapping after merge keys are applied.
type pair struct {
	key     string
	keyNode *yaml.Node
	val     *yaml.Node
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, positions: map[string]pos{}, keyPositions: map[string]pos{}, reported: map[string]bool{}, ignored: map[string][]ignoredAt{}}
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

// resolve follows aliases to the node they name; nil for a broken or too long chain.
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

// mapping returns the pairs of n, which must be a mapping (null gives none). Keys in ignore
// are AWS's keys that mean nothing here (noted for one warning each); other keys outside known
// get a warning with a suggestion. known nil accepts every key. what names n in messages.
func (d *decoder) mapping(n *yaml.Node, field, what string, known, ignore []string) []pair {
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
		f := joinField(field, p.key)
		switch {
		case contains(ignore, p.key):
			d.ignore(p.key, f, p.keyNode)
		case known != nil && !contains(known, p.key):
			d.warnf(p.keyNode, f, "unknown key %s in %s is ignored%s", quote(p.key), what, didYouMean(p.key, known))
		default:
			out = append(out, p)
		}
	}
	return out
}

// collect lists the pairs of mapping n with merge keys (<<) applied: own keys win over merged
// ones, earlier merged mappings over later ones, and among duplicate own keys the last (the
// duplicates are errors anyway).
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
			own[j] = p
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

// duplicates reports every duplicate key of every mapping below n, once, where it is written,
// and, once, a tree nesting deeper than MaxNesting. Aliases are not followed: the node they
// name is checked where it is defined.
func (d *decoder) duplicates(n *yaml.Node, field string, depth int) {
	if n == nil {
		return
	}
	if depth > MaxNesting {
		if !d.deep {
			d.deep = true
			d.errorf(n, field, "mappings and lists nest deeper than %d levels; a pipeline definition needs far fewer", MaxNesting)
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

// scalar returns the text and tag of scalar n; ok is false (and an error reported) when n is
// a mapping or a list. Null gives ("", "!!null", true).
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

// str decodes a scalar field as its text (a number or a boolean as written) and records its
// position.
func (d *decoder) str(p pair, field, what string) string {
	d.record(field, p.val, p.keyNode)
	v, _, _ := d.scalar(p.val, field, what)
	return v
}

// integer decodes a whole number (also written as a quoted number, as in AWS's JSON strings);
// ok is false, with an error reported, for anything else.
func (d *decoder) integer(p pair, field, what string) (int, bool) {
	d.record(field, p.val, p.keyNode)
	v, tag, ok := d.scalar(p.val, field, what)
	if !ok {
		return 0, false
	}
	if tag == "!!int" || tag == "!!str" {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			return n, true
		}
	}
	d.errorf(p.val, field, "%s must be a whole number, not %s", what, quote(v))
	return 0, false
}

// strList decodes a list of scalars (items kept even when wrong, so indices match the file).
func (d *decoder) strList(p pair, field, what, example string) []string {
	d.record(field, p.val, p.keyNode)
	var out []string
	for i, item := range d.sequence(p.val, field, what, example) {
		f := indexField(field, i)
		d.record(f, item, nil)
		v, _, _ := d.scalar(item, f, "each item of "+what)
		out = append(out, v)
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
	hint := "fix the YAML or JSON syntax"
	if strings.Contains(msg, "cannot start any token") && strings.Contains(string(data), "\t") {
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

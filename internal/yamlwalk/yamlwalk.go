// Package yamlwalk holds the yaml.v3 node walking that the parsers of user
// files (appspec, buildspec, pipelinespec) share: following aliases within a
// work budget, reading mappings with merge keys (<<), lists and scalars, and
// finding duplicate keys. It reports problems through a callback and knows
// nothing of any parser's diagnostics, field names or positions.
//
// It imports only the standard library and gopkg.in/yaml.v3.
package yamlwalk

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Pair is one key/value of a mapping after merge keys are applied. KeyNode
// is the key as written (possibly an alias); Val is the value as written,
// not resolved.
type Pair struct {
	Key     string
	KeyNode *yaml.Node
	Val     *yaml.Node
}

// Default limits, which keep hostile documents (alias bombs, self-merging
// anchors) from making a parse slow or recursive without bound.
const (
	DefaultMaxSteps      = 200000
	DefaultMaxMergeDepth = 16
	DefaultMaxAliasChain = 64
)

// Walker walks the nodes of one document. Set Errorf (and the other
// callbacks the methods used need) before use; a zero limit means its
// default. A Walker counts work across all its calls and is not safe for
// concurrent use.
type Walker struct {
	// MaxSteps bounds the work (nodes visited, aliases expanded) of all
	// calls together; past it Budget reports once and everything stops.
	// 0 means DefaultMaxSteps.
	MaxSteps int
	// MaxMergeDepth bounds how deep merge keys (<<) may nest. 0 means
	// DefaultMaxMergeDepth.
	MaxMergeDepth int
	// MaxAliasChain bounds how many aliases Resolve follows in a row. 0
	// means DefaultMaxAliasChain.
	MaxAliasChain int
	// MaxNesting bounds how deep Duplicates descends into mappings and
	// lists; 0 means no bound. Past it TooDeep is called once.
	MaxNesting int

	// Errorf reports an error about field (a path such as "a.b[2]", "" for
	// the whole document) at node n. n is never nil. Required.
	Errorf func(n *yaml.Node, field, format string, args ...any)
	// TooDeep reports, once, a node nested deeper than MaxNesting. Required
	// when MaxNesting > 0.
	TooDeep func(n *yaml.Node, field string)
	// Record remembers where field's value val is written (key is its key,
	// nil for a list item), for Str and StrList. Required by them only.
	Record func(field string, val, key *yaml.Node)

	steps    int
	complexd bool
	deep     bool
}

// Budget adds cost to the work done and reports whether the document is
// still within MaxSteps. The first time it is not, it reports an error at n
// for the whole document; later calls only return false.
func (w *Walker) Budget(n *yaml.Node, cost int) bool {
	w.steps += cost
	if w.steps <= or(w.MaxSteps, DefaultMaxSteps) {
		return true
	}
	if !w.complexd {
		w.complexd = true
		w.Errorf(n, "", "the document expands to too many nodes through aliases and merge keys; write the values out instead of nesting aliases")
	}
	return false
}

// Resolve follows aliases to the node they name. It returns nil for a
// broken chain, a chain longer than MaxAliasChain, or when the budget is
// spent (each alias costs 1). A nil or non-alias n is returned as it is.
func (w *Walker) Resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i >= or(w.MaxAliasChain, DefaultMaxAliasChain) || !w.Budget(n, 1) {
			return nil
		}
		n = n.Alias
	}
	return n
}

// Mapping returns the pairs of n, which must be a mapping after aliases
// (null gives none), with merge keys applied as Collect does. When n is
// something else it reports an error naming it by what and returns nil.
// It does not check the keys: the caller filters unknown ones.
func (w *Walker) Mapping(n *yaml.Node, field, what string) []Pair {
	r := w.Resolve(n)
	if IsNull(r) {
		return nil
	}
	if r.Kind != yaml.MappingNode {
		w.Errorf(n, field, "%s must be a mapping (key: value lines), not a %s", what, KindName(r))
		return nil
	}
	return w.Collect(r, field)
}

// Collect lists the pairs of mapping node n (not an alias) with merge keys
// (<<) applied: own keys win over merged ones and earlier merged mappings
// win over later ones. Among duplicate own keys the last one wins, in the
// place of the first; Duplicates reports them. Keys that are not scalars
// and merges of anything but mappings are reported and skipped.
func (w *Walker) Collect(n *yaml.Node, field string) []Pair {
	return w.collect(n, field, 0)
}

func (w *Walker) collect(n *yaml.Node, field string, depth int) []Pair {
	if limit := or(w.MaxMergeDepth, DefaultMaxMergeDepth); depth > limit {
		w.Errorf(n, field, "merge keys (<<) nest deeper than %d levels; merge fewer mappings", limit)
		return nil
	}
	if !w.Budget(n, len(n.Content)/2+1) {
		return nil
	}
	var own, merged []Pair
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := w.Resolve(n.Content[i]), n.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			w.Errorf(n.Content[i], field, "a key must be a plain name, not a %s", KindName(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			merged = append(merged, w.merge(v, field, depth)...)
			continue
		}
		p := Pair{Key: k.Value, KeyNode: n.Content[i], Val: v}
		if j, dup := seen[k.Value]; dup {
			own[j] = p // reported by Duplicates
			continue
		}
		seen[k.Value] = len(own)
		own = append(own, p)
	}
	for _, p := range merged {
		if _, ok := seen[p.Key]; !ok {
			seen[p.Key] = len(own)
			own = append(own, p)
		}
	}
	return own
}

func (w *Walker) merge(v *yaml.Node, field string, depth int) []Pair {
	r := w.Resolve(v)
	switch {
	case r != nil && r.Kind == yaml.MappingNode:
		return w.collect(r, field, depth+1)
	case r != nil && r.Kind == yaml.SequenceNode:
		var out []Pair
		for _, el := range r.Content {
			m := w.Resolve(el)
			if m == nil || m.Kind != yaml.MappingNode {
				w.Errorf(el, field, "<< merges mappings only, not a %s; write <<: *anchor or <<: [*a, *b]", KindName(m))
				continue
			}
			out = append(out, w.collect(m, field, depth+1)...)
		}
		return out
	}
	w.Errorf(v, field, "<< merges mappings only, not a %s; write <<: *anchor or <<: [*a, *b]", KindName(r))
	return nil
}

// Duplicates reports every duplicate key of every mapping in the tree below
// n, once, where it is written: also in mappings that decoding never visits
// (the value of a key that a later duplicate replaces, an anchor defined
// under an unknown key). Aliases are not followed: the node they name is
// checked where it is defined. Repeated merge keys (<<) are left to
// Collect. With MaxNesting > 0 it stops below that depth and calls TooDeep
// once for the whole Walker.
func (w *Walker) Duplicates(n *yaml.Node, field string) {
	w.duplicates(n, field, 0)
}

// Deep reports whether Duplicates has found a tree nested deeper than
// MaxNesting (and called TooDeep).
func (w *Walker) Deep() bool { return w.deep }

func (w *Walker) duplicates(n *yaml.Node, field string, depth int) {
	if n == nil {
		return
	}
	if w.MaxNesting > 0 && depth > w.MaxNesting {
		if !w.deep {
			w.deep = true
			w.TooDeep(n, field)
		}
		return
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			w.duplicates(c, field, depth)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			w.duplicates(c, IndexField(field, i), depth+1)
		}
	case yaml.MappingNode:
		first := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
				w.duplicates(v, field, depth+1)
				continue
			}
			f := JoinField(field, k.Value)
			if prev, dup := first[k.Value]; dup {
				w.Errorf(k, f, "duplicate key %s (first at line %d); keep only one of them", strconv.Quote(k.Value), prev.Line)
			} else {
				first[k.Value] = k
			}
			w.duplicates(v, f, depth+1)
		}
	}
}

// Sequence returns the items of n, which must be a list after aliases (null
// gives none), as written (items are not resolved). When n is something
// else it reports an error naming it by what, with example as the way to
// write it, and returns nil. Each item costs 1 of the budget.
func (w *Walker) Sequence(n *yaml.Node, field, what, example string) []*yaml.Node {
	r := w.Resolve(n)
	if IsNull(r) {
		return nil
	}
	if r.Kind != yaml.SequenceNode {
		w.Errorf(n, field, "%s must be a list, not a %s; write it as %s", what, KindName(r), example)
		return nil
	}
	if !w.Budget(r, len(r.Content)) {
		return nil
	}
	return r.Content
}

// Scalar returns the text and short tag of scalar n after aliases; ok is
// false (and an error naming n by what is reported) when n is a mapping, a
// list or a broken alias. Null gives ("", "!!null", true).
func (w *Walker) Scalar(n *yaml.Node, field, what string) (value, tag string, ok bool) {
	r := w.Resolve(n)
	if IsNull(r) {
		return "", "!!null", true
	}
	if r.Kind != yaml.ScalarNode {
		w.Errorf(n, field, "%s must be a single value, not a %s", what, KindName(r))
		return "", "", false
	}
	return r.Value, r.ShortTag(), true
}

// or is limit, or def when limit is 0.
func or(limit, def int) int {
	if limit == 0 {
		return def
	}
	return limit
}

// IsNull reports whether n is nil, an empty node, or a null scalar. It does
// not follow aliases.
func IsNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// KindName names the kind of n for messages: "mapping", "list", "null",
// `scalar "text"`, "document", "node"; nil (what Resolve returns for a
// broken chain) is "broken alias".
func KindName(n *yaml.Node) string {
	if n == nil {
		return "broken alias"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		if IsNull(n) {
			return "null"
		}
		return "scalar " + strconv.Quote(n.Value)
	case yaml.DocumentNode:
		return "document"
	}
	return "node"
}

// JoinField is the path of key under parent: "parent.key", or key when
// parent is the document ("").
func JoinField(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// IndexField is the path of item i of the list at parent: "parent[i]".
func IndexField(parent string, i int) string { return fmt.Sprintf("%s[%d]", parent, i) }

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// SyntaxError splits a yaml.v3 parse error into the line it names (1 when
// it names none) and its message without the "yaml: " or "yaml: line N: "
// prefix. tabs is true when the error is about a character that cannot
// start a token and data contains a tab: indentation with tabs is the
// likely cause.
func SyntaxError(err error, data []byte) (line int, msg string, tabs bool) {
	msg = err.Error()
	line = 1
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		if n, convErr := strconv.Atoi(m[1]); convErr == nil {
			line = n
		}
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	tabs = strings.Contains(msg, "cannot start any token") && strings.Contains(string(data), "\t")
	return line, msg, tabs
}

// Str decodes p's value as the text of a scalar (a number or a boolean as
// written; "" for null or for a mapping or list, which is reported), after
// calling Record for field. Record must be set.
func (w *Walker) Str(p Pair, field, what string) string {
	w.Record(field, p.Val, p.KeyNode)
	v, _, _ := w.Scalar(p.Val, field, what)
	return v
}

// StrList decodes p's value as a list of scalars, calling Record for field
// and for each item ("field[i]"). An item that is not a scalar is reported
// and kept as "", so that indices match the file. Record must be set.
func (w *Walker) StrList(p Pair, field, what, example string) []string {
	w.Record(field, p.Val, p.KeyNode)
	var out []string
	for i, item := range w.Sequence(p.Val, field, what, example) {
		f := IndexField(field, i)
		w.Record(f, item, nil)
		v, _, _ := w.Scalar(item, f, "each item of "+what)
		out = append(out, v)
	}
	return out
}

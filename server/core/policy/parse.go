package policy

import (
	"fmt"
	"strconv"

	"github.com/slipwayhq/slipway/pkg/suggest"
)

// Parse reads a policy document: JSON when its first non-space byte is '{', YAML otherwise. It
// is strict: unknown keys (with a suggestion for a likely typo), wrong types, duplicate keys,
// YAML anchors and documents over the bounds (MaxDocumentBytes and the rest) are refused, and
// the document is checked as Compile checks it. Every error is an *Error whose diagnostics
// name the field at fault. Parse never panics, whatever the input.
func Parse(data []byte) (*Document, error) {
	if len(data) > MaxDocumentBytes {
		return nil, &Error{Diagnostics: []Diagnostic{{Message: fmt.Sprintf("the document is %d bytes; a policy may be at most %d (64 KiB): split it into several policies", len(data), MaxDocumentBytes)}}}
	}
	root, d := decode(data)
	if d != nil {
		return nil, &Error{Diagnostics: []Diagnostic{*d}}
	}
	ds := &diags{lines: map[string]int{}}
	doc := documentFrom(root, ds)
	if err := ds.err(); err != nil {
		return nil, err
	}
	check(doc, ds)
	if err := ds.err(); err != nil {
		return nil, err
	}
	return doc, nil
}

var (
	documentKeys  = []string{"Version", "Id", "Statement"}
	statementKeys = []string{"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)

// fields walks a map node's keys, refusing unknown ones with a suggestion, and records each
// field's line under its path.
func fields(n *node, path string, known []string, ds *diags, each func(key, fpath string, v *node)) {
	for i, k := range n.keys {
		fpath := join(path, clip(k))
		ds.lines[fpath] = n.kline[i]
		if !contains(known, k) {
			ds.add(fpath, "%s", unknownKey(k, known))
			continue
		}
		each(k, fpath, n.items[i])
	}
}

func unknownKey(k string, known []string) string {
	switch k {
	case "Principal", "NotPrincipal":
		return "an identity policy names no principal: it applies to whoever it is attached to; remove " + k
	}
	msg := fmt.Sprintf("unknown key %q", clip(k))
	if best, dist := suggest.Closest(k, known); dist >= 0 && dist <= 3 {
		msg += fmt.Sprintf("; did you mean %q?", best)
	} else {
		msg += "; the keys here are " + listOf(known)
	}
	return msg
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func listOf(list []string) string {
	s := ""
	for i, v := range list {
		if i > 0 {
			s += ", "
		}
		s += v
	}
	return s
}

// clip shortens a user's string for a message, so a hostile key cannot fill an error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func documentFrom(root *node, ds *diags) *Document {
	doc := &Document{}
	if root.kind != kindMap {
		ds.add("", "a policy is an object with Version and Statement, not %s", root.what())
		return doc
	}
	fields(root, "", documentKeys, ds, func(key, path string, v *node) {
		switch key {
		case "Version":
			doc.Version = scalarString(v, path, ds)
		case "Id":
			doc.ID = scalarString(v, path, ds)
		case "Statement":
			switch v.kind {
			case kindMap:
				ds.lines[index(path, 0)] = v.line
				doc.Statement = []Statement{statementFrom(v, index(path, 0), ds)}
			case kindList:
				if len(v.items) > MaxStatements {
					ds.add(path, "%d statements; a document may have at most %d: split it into several policies", len(v.items), MaxStatements)
					return
				}
				for i, item := range v.items {
					ipath := index(path, i)
					ds.lines[ipath] = item.line
					if item.kind != kindMap {
						ds.add(ipath, "a statement is an object with Effect, Action and Resource, not %s", item.what())
						continue
					}
					doc.Statement = append(doc.Statement, statementFrom(item, ipath, ds))
				}
			default:
				ds.add(path, "Statement is one statement object or a list of them, not %s", v.what())
			}
		}
	})
	return doc
}

func statementFrom(n *node, path string, ds *diags) Statement {
	var st Statement
	fields(n, path, statementKeys, ds, func(key, fpath string, v *node) {
		switch key {
		case "Sid":
			st.Sid = scalarString(v, fpath, ds)
		case "Effect":
			st.Effect = scalarString(v, fpath, ds)
		case "Action":
			st.Action = stringList(v, fpath, ds)
		case "NotAction":
			st.NotAction = stringList(v, fpath, ds)
		case "Resource":
			st.Resource = stringList(v, fpath, ds)
		case "NotResource":
			st.NotResource = stringList(v, fpath, ds)
		case "Condition":
			st.Condition = conditionsFrom(v, fpath, ds)
		}
	})
	return st
}

// conditionsFrom reads `{Operator: {Key: value | [values]}}` in document order.
func conditionsFrom(n *node, path string, ds *diags) []Condition {
	if n.kind != kindMap {
		ds.add(path, "Condition is an object of operators, e.g. {\"Bool\": {\"slipway:MultiFactorAuthPresent\": \"true\"}}, not %s", n.what())
		return nil
	}
	var out []Condition
	for i, op := range n.keys {
		opath := join(path, clip(op))
		ds.lines[opath] = n.kline[i]
		keys := n.items[i]
		if keys.kind != kindMap {
			ds.add(opath, "an operator holds an object of condition keys and values, not %s", keys.what())
			continue
		}
		if len(keys.keys) == 0 {
			ds.add(opath, "the operator names no condition key; add one or remove the operator")
		}
		for j, key := range keys.keys {
			kpath := join(opath, clip(key))
			ds.lines[kpath] = keys.kline[j]
			if len(out) >= MaxConditions {
				ds.add(path, "more than %d condition entries in one statement", MaxConditions)
				return out
			}
			out = append(out, Condition{Operator: op, Key: key, Values: valueList(keys.items[j], kpath, ds)})
		}
	}
	return out
}

// scalarString reads a string field; a number or boolean is refused, as AWS refuses it.
func scalarString(n *node, path string, ds *diags) string {
	if n.kind != kindScalar || !n.str {
		ds.add(path, "must be a string, not %s", n.what())
		return ""
	}
	return n.s
}

// stringList reads a string or a list of strings.
func stringList(n *node, path string, ds *diags) []string {
	switch n.kind {
	case kindScalar:
		return []string{scalarString(n, path, ds)}
	case kindList:
		if len(n.items) > MaxListValues {
			ds.add(path, "%d values; a list may hold at most %d", len(n.items), MaxListValues)
			return nil
		}
		out := make([]string, 0, len(n.items))
		for i, item := range n.items {
			ipath := index(path, i)
			ds.lines[ipath] = item.line
			out = append(out, scalarString(item, ipath, ds))
		}
		return out
	}
	ds.add(path, "must be a string or a list of strings, not %s", n.what())
	return nil
}

// valueList reads a condition's value or values: strings, numbers and booleans, as text.
func valueList(n *node, path string, ds *diags) []string {
	switch n.kind {
	case kindScalar:
		return []string{n.s}
	case kindList:
		if len(n.items) > MaxListValues {
			ds.add(path, "%d values; a list may hold at most %d", len(n.items), MaxListValues)
			return nil
		}
		out := make([]string, 0, len(n.items))
		for i, item := range n.items {
			if item.kind != kindScalar {
				ds.add(index(path, i), "a condition value is a string, number or boolean, not %s", item.what())
				continue
			}
			out = append(out, item.s)
		}
		return out
	}
	ds.add(path, "a condition value is a string, number or boolean or a list of them, not %s", n.what())
	return nil
}

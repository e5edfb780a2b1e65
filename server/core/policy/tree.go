package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// kind is the shape of a decoded value, the same for JSON and YAML.
type kind uint8

const (
	kindScalar kind = iota // a string, number or boolean; its text is node.s
	kindNull
	kindList
	kindMap
)

// maxDepth bounds nesting: a policy is never deeper than Condition → operator → key → list.
const maxDepth = 8

// node is one decoded value with the line it started on (0 when unknown). Maps keep their keys
// in document order; duplicate keys are refused while decoding.
type node struct {
	kind  kind
	s     string // a scalar's text
	str   bool   // the scalar was written as a string (quoted in JSON, !!str in YAML)
	line  int
	items []*node // list items, or map values in key order
	keys  []string
	kline []int // the line of each map key
	seen  map[string]struct{}
}

// has reports whether a map node already holds key; addKey records one. Large objects (only a
// hostile document has them) use a set so duplicate detection stays linear.
func (n *node) has(key string) bool {
	if n.seen != nil {
		_, ok := n.seen[key]
		return ok
	}
	for _, k := range n.keys {
		if k == key {
			return true
		}
	}
	return false
}

func (n *node) addKey(key string) {
	n.keys = append(n.keys, key)
	if n.seen == nil && len(n.keys) > 16 {
		n.seen = make(map[string]struct{}, 2*len(n.keys))
		for _, k := range n.keys {
			n.seen[k] = struct{}{}
		}
	} else if n.seen != nil {
		n.seen[key] = struct{}{}
	}
}

func (n *node) what() string {
	switch n.kind {
	case kindNull:
		return "null"
	case kindList:
		return "a list"
	case kindMap:
		return "an object"
	}
	if n.str {
		return "a string"
	}
	return fmt.Sprintf("the value %s", n.s)
}

// decode reads data as JSON when its first non-space byte is '{', otherwise as YAML, into a
// node tree. Errors are diagnostics at the document's root ("" path) with a line when known.
func decode(data []byte) (*node, *Diagnostic) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, &Diagnostic{Message: "the document is empty: write an object with Version and Statement"}
	}
	if trimmed[0] == '{' {
		return decodeJSON(data)
	}
	return decodeYAML(data)
}

// lines maps byte offsets to line numbers: newline offsets, searched in O(log n).
type lines []int64

func newLines(data []byte) lines {
	var l lines
	for i, c := range data {
		if c == '\n' {
			l = append(l, int64(i))
		}
	}
	return l
}

// at is the 1-based line of offset.
func (l lines) at(offset int64) int {
	i, _ := slices.BinarySearch(l, offset)
	return i + 1
}

func decodeJSON(data []byte) (*node, *Diagnostic) {
	lx := newLines(data)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, d := jsonValue(dec, lx, 0)
	if d != nil {
		return nil, d
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &Diagnostic{Line: lx.at(dec.InputOffset()), Message: "unexpected data after the document's closing brace: a policy is one JSON object"}
	}
	return n, nil
}

func jsonSyntax(lx lines, dec *json.Decoder, err error) *Diagnostic {
	line := lx.at(dec.InputOffset())
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line = lx.at(se.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &Diagnostic{Line: line, Message: "the JSON ends before the document is complete"}
	}
	return &Diagnostic{Line: line, Message: "invalid JSON: " + strings.TrimPrefix(err.Error(), "json: ")}
}

func jsonValue(dec *json.Decoder, lx lines, depth int) (*node, *Diagnostic) {
	line := lx.at(dec.InputOffset())
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonSyntax(lx, dec, err)
	}
	if depth > maxDepth {
		return nil, &Diagnostic{Line: line, Message: fmt.Sprintf("the document nests deeper than %d levels; a policy never does", maxDepth)}
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '[':
			n := &node{kind: kindList, line: line}
			for dec.More() {
				item, d := jsonValue(dec, lx, depth+1)
				if d != nil {
					return nil, d
				}
				n.items = append(n.items, item)
			}
			if _, err := dec.Token(); err != nil {
				return nil, jsonSyntax(lx, dec, err)
			}
			return n, nil
		case '{':
			n := &node{kind: kindMap, line: line}
			for dec.More() {
				kline := lx.at(dec.InputOffset())
				kt, err := dec.Token()
				if err != nil {
					return nil, jsonSyntax(lx, dec, err)
				}
				key, _ := kt.(string) // the decoder only yields string keys inside an object
				if n.has(key) {
					return nil, &Diagnostic{Line: kline, Message: fmt.Sprintf("key %q appears twice in one object", clip(key))}
				}
				v, d := jsonValue(dec, lx, depth+1)
				if d != nil {
					return nil, d
				}
				n.addKey(key)
				n.kline = append(n.kline, kline)
				n.items = append(n.items, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, jsonSyntax(lx, dec, err)
			}
			return n, nil
		}
		return nil, &Diagnostic{Line: line, Message: fmt.Sprintf("unexpected %q", t.String())}
	case string:
		return &node{kind: kindScalar, s: t, str: true, line: line}, nil
	case json.Number:
		return &node{kind: kindScalar, s: t.String(), line: line}, nil
	case bool:
		return &node{kind: kindScalar, s: fmt.Sprint(t), line: line}, nil
	case nil:
		return &node{kind: kindNull, line: line}, nil
	}
	return nil, &Diagnostic{Line: line, Message: fmt.Sprintf("unexpected JSON token %v", tok)}
}

func decodeYAML(data []byte) (n *node, d *Diagnostic) {
	// yaml.v3 has panicked on hostile input in the past; a policy parser must not.
	defer func() {
		if r := recover(); r != nil {
			n, d = nil, &Diagnostic{Message: fmt.Sprintf("invalid YAML: the parser failed (%v)", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Diagnostic{Message: "the document is empty: write an object with Version and Statement"}
		}
		return nil, &Diagnostic{Message: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &Diagnostic{Line: extra.Line, Message: "a policy is one YAML document; remove the second document (after ---)"}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, &Diagnostic{Message: "the document is empty: write an object with Version and Statement"}
	}
	return yamlValue(doc.Content[0], 0)
}

var yamlKeyTags = []string{"!!str", "!!int", "!!bool", "!!float", "!!timestamp"}

func yamlValue(y *yaml.Node, depth int) (*node, *Diagnostic) {
	if depth > maxDepth {
		return nil, &Diagnostic{Line: y.Line, Message: fmt.Sprintf("the document nests deeper than %d levels; a policy never does", maxDepth)}
	}
	if y.Anchor != "" {
		return nil, &Diagnostic{Line: y.Line, Message: "YAML anchors and aliases are not allowed in a policy; write the values out"}
	}
	switch y.Kind {
	case yaml.AliasNode:
		return nil, &Diagnostic{Line: y.Line, Message: "YAML anchors and aliases are not allowed in a policy; write the values out"}
	case yaml.ScalarNode:
		switch y.ShortTag() {
		case "!!null":
			return &node{kind: kindNull, line: y.Line}, nil
		case "!!str", "!!timestamp":
			// An unquoted 2012-10-17 is a YAML timestamp; its text is what the author meant.
			return &node{kind: kindScalar, s: y.Value, str: true, line: y.Line}, nil
		case "!!int", "!!float", "!!bool":
			return &node{kind: kindScalar, s: y.Value, line: y.Line}, nil
		}
		return nil, &Diagnostic{Line: y.Line, Message: fmt.Sprintf("YAML tag %s is not allowed in a policy", y.ShortTag())}
	case yaml.SequenceNode:
		n := &node{kind: kindList, line: y.Line}
		for _, c := range y.Content {
			item, d := yamlValue(c, depth+1)
			if d != nil {
				return nil, d
			}
			n.items = append(n.items, item)
		}
		return n, nil
	case yaml.MappingNode:
		n := &node{kind: kindMap, line: y.Line}
		for i := 0; i+1 < len(y.Content); i += 2 {
			k, v := y.Content[i], y.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.Anchor != "" || !contains(yamlKeyTags, k.ShortTag()) {
				return nil, &Diagnostic{Line: k.Line, Message: "a key must be a plain string"}
			}
			if n.has(k.Value) {
				return nil, &Diagnostic{Line: k.Line, Message: fmt.Sprintf("key %q appears twice in one object", clip(k.Value))}
			}
			val, d := yamlValue(v, depth+1)
			if d != nil {
				return nil, d
			}
			n.addKey(k.Value)
			n.kline = append(n.kline, k.Line)
			n.items = append(n.items, val)
		}
		return n, nil
	}
	return nil, &Diagnostic{Line: y.Line, Message: "unexpected YAML node"}
}

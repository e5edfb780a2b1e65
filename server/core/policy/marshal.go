package policy

import (
	"bytes"
	"encoding/json"
)

// MarshalJSON writes the statement in the policy language's own JSON: lists as lists, and
// Condition as {Operator: {Key: [values]}} with operators in order of first appearance. A
// document Parse accepted marshals to JSON that Parse reads back to an equal Document
// (FuzzParse checks it); a Document built in Go with one operator's entries apart comes back
// with them together, which means the same.
func (s Statement) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	field := func(name string, v any) error {
		if !first {
			b.WriteByte(',')
		}
		first = false
		k, _ := json.Marshal(name)
		b.Write(k)
		b.WriteByte(':')
		data, err := json.Marshal(v)
		b.Write(data)
		return err
	}
	var err error
	add := func(name string, v any, present bool) {
		if present && err == nil {
			err = field(name, v)
		}
	}
	add("Sid", s.Sid, s.Sid != "")
	add("Effect", s.Effect, true)
	add("Action", s.Action, s.Action != nil)
	add("NotAction", s.NotAction, s.NotAction != nil)
	add("Resource", s.Resource, s.Resource != nil)
	add("NotResource", s.NotResource, s.NotResource != nil)
	if len(s.Condition) > 0 && err == nil {
		if !first {
			b.WriteByte(',')
		}
		b.WriteString(`"Condition":{`)
		var ops []string
		for _, c := range s.Condition {
			if !contains(ops, c.Operator) {
				ops = append(ops, c.Operator)
			}
		}
		for i, op := range ops {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(op)
			b.Write(k)
			b.WriteString(":{")
			n := 0
			for _, c := range s.Condition {
				if c.Operator != op {
					continue
				}
				if n > 0 {
					b.WriteByte(',')
				}
				n++
				k, _ := json.Marshal(c.Key)
				b.Write(k)
				b.WriteByte(':')
				v, e := json.Marshal(c.Values)
				if e != nil {
					return nil, e
				}
				b.Write(v)
			}
			b.WriteByte('}')
		}
		b.WriteByte('}')
	}
	if err != nil {
		return nil, err
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

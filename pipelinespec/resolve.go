package pipelinespec

import (
	"fmt"
	"strings"
)

// VariablesNamespace is the namespace of the pipeline's variables: #{variables.NAME}.
const VariablesNamespace = "variables"

// Reference is one #{namespace.name} in a text.
type Reference struct {
	Namespace string
	Name      string
	// Start and End are the byte offsets of "#{" and just after "}".
	Start, End int
}

// String renders the reference as written.
func (r Reference) String() string { return "#{" + r.Namespace + "." + r.Name + "}" }

// References answers the references in s, in order. A "#{" that does not start a well-formed
// reference (a namespace of [A-Za-z0-9@_-], a dot, a name of [A-Za-z0-9@_.-], a "}") is an
// error quoting it; the references before it are answered.
func References(s string) ([]Reference, error) {
	var out []Reference
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], "#{")
		if j < 0 {
			break
		}
		start := i + j
		end := strings.IndexByte(s[start:], '}')
		if end < 0 {
			return out, fmt.Errorf("%s has no closing }; write #{namespace.name}", quote(excerpt(s[start:])))
		}
		end += start + 1
		body := s[start+2 : end-1]
		ns, name, ok := strings.Cut(body, ".")
		if !ok || !isName(ns, false) || !isName(name, true) {
			return out, fmt.Errorf("%s is not a reference; write #{namespace.name} (letters, digits, @, -, _; a dot between)", quote(s[start:end]))
		}
		out = append(out, Reference{Namespace: ns, Name: name, Start: start, End: end})
		i = end
	}
	return out, nil
}

// excerpt shortens an unterminated reference for a message.
func excerpt(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// isName reports whether s is a non-empty run of [A-Za-z0-9@_-] (and dots when dots).
func isName(s string, dots bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '@', c == '_', c == '-':
		case c == '.' && dots:
		default:
			return false
		}
	}
	return true
}

// Resolve replaces every #{namespace.name} in s with lookup's answer (namespace "variables" is
// the pipeline's variables). A reference lookup cannot answer is an error naming it, as is a
// malformed one; text without references is answered unchanged. Answers are not scanned
// again: a value holding "#{" stays as it is.
func Resolve(s string, lookup func(namespace, name string) (string, bool)) (string, error) {
	refs, err := References(s)
	if err != nil {
		return "", err
	}
	if len(refs) == 0 {
		return s, nil
	}
	var b strings.Builder
	last := 0
	for _, r := range refs {
		v, ok := lookup(r.Namespace, r.Name)
		if !ok {
			if r.Namespace == VariablesNamespace {
				return "", fmt.Errorf("%s: the pipeline has no variable %s", r, quote(r.Name))
			}
			return "", fmt.Errorf("%s: namespace %s has no variable %s", r, quote(r.Namespace), quote(r.Name))
		}
		b.WriteString(s[last:r.Start])
		b.WriteString(v)
		last = r.End
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

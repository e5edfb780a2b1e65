package service

import (
	"fmt"
	"strings"

	"github.com/slipwayhq/slipway/systemd"
)

// unitParams are the values systemd/slipway-agent.service may use. They are the subset of the
// keys github.com/kardianos/service passes to a custom SystemdScript, with the same names, so the
// library (on a real install) and renderUnit (for --root and tests) produce the same file.
type unitParams struct {
	Description string
	Path        string
	Name        string
	Arguments   []string
}

// renderAgentUnit renders Slipway's systemd unit for p.
func renderAgentUnit(p unitParams) (string, error) {
	return renderUnit(systemd.AgentUnit, p)
}

// renderUnit expands a template in the library's syntax, restricted to what the agent's unit
// needs: {{Key}}, {{Key | fn | fn}} with fn cmd or cmdEscape, and {{range Arguments}}…{{end}}
// with {{.}} (optionally piped) inside. Anything else is an error, so a template that this
// renderer and the library would read differently never reaches a host.
func renderUnit(tmpl string, p unitParams) (string, error) {
	var b strings.Builder
	rest := tmpl
	for {
		open := strings.Index(rest, "{{")
		if open < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		b.WriteString(rest[:open])
		action, after, err := cutAction(rest[open:])
		if err != nil {
			return "", err
		}
		rest = after
		if key, ok := strings.CutPrefix(action, "range "); ok {
			if strings.TrimSpace(key) != "Arguments" {
				return "", fmt.Errorf("unit template: range over %q: only Arguments is a list", key)
			}
			end := strings.Index(rest, "{{end}}")
			if end < 0 {
				return "", fmt.Errorf("unit template: range without {{end}}")
			}
			body := rest[:end]
			rest = rest[end+len("{{end}}"):]
			for _, arg := range p.Arguments {
				out, err := renderBody(body, arg, p)
				if err != nil {
					return "", err
				}
				b.WriteString(out)
			}
			continue
		}
		v, err := value(action, nil, p)
		if err != nil {
			return "", err
		}
		b.WriteString(v)
	}
}

// renderBody expands a range body, in which only {{.}} (optionally piped) may appear.
func renderBody(body, dot string, p unitParams) (string, error) {
	var b strings.Builder
	rest := body
	for {
		open := strings.Index(rest, "{{")
		if open < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		b.WriteString(rest[:open])
		action, after, err := cutAction(rest[open:])
		if err != nil {
			return "", err
		}
		rest = after
		v, err := value(action, &dot, p)
		if err != nil {
			return "", err
		}
		b.WriteString(v)
	}
}

// cutAction splits "{{action}}rest" into its trimmed action and rest.
func cutAction(s string) (action, rest string, err error) {
	end := strings.Index(s, "}}")
	if end < 0 {
		return "", "", fmt.Errorf(`unit template: unclosed "{{"`)
	}
	action = s[2:end]
	if strings.HasPrefix(action, "-") || strings.HasSuffix(action, "-") {
		return "", "", fmt.Errorf("unit template: {{%s}}: whitespace trimming is not supported", action)
	}
	return strings.TrimSpace(action), s[end+2:], nil
}

// value evaluates "Key | fn | fn". dot is the current range item, nil outside a range.
func value(action string, dot *string, p unitParams) (string, error) {
	parts := strings.Split(action, "|")
	key := strings.TrimSpace(parts[0])
	var v string
	switch {
	case key == "." && dot != nil:
		v = *dot
	case key == "Description" && dot == nil:
		v = p.Description
	case key == "Path" && dot == nil:
		v = p.Path
	case key == "Name" && dot == nil:
		v = p.Name
	default:
		return "", fmt.Errorf("unit template: {{%s}}: unsupported key or action", action)
	}
	for _, fn := range parts[1:] {
		switch strings.TrimSpace(fn) {
		case "cmd":
			v = `"` + strings.ReplaceAll(v, `"`, `\"`) + `"`
		case "cmdEscape":
			v = strings.ReplaceAll(v, " ", `\x20`)
		default:
			return "", fmt.Errorf("unit template: {{%s}}: unknown function %q", action, strings.TrimSpace(fn))
		}
	}
	return v, nil
}

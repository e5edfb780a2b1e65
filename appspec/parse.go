package appspec

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/slipwayhq/slipway/internal/yamlwalk"
	"gopkg.in/yaml.v3"
)

// Keys known at each level of an AppSpec file.
var (
	topKeys        = []string{"version", "os", "files", "file_exists_behavior", "permissions", "hooks"}
	fileKeys       = []string{"source", "destination"}
	permissionKeys = []string{"object", "pattern", "except", "owner", "group", "mode", "acls", "context", "type"}
	contextKeys    = []string{"name", "type", "range"}
	scriptKeys     = []string{"location", "timeout", "runas", "sudo"}
)

// Parse decodes an AppSpec document. path is only used in diagnostics.
//
// Parse never panics and always returns a non-nil Spec, filled as far as the
// document allowed, with defaults applied (pattern "**", timeout 3600). Its
// diagnostics cover YAML syntax, wrong value kinds (a list where a mapping
// belongs), duplicate keys (error), unknown keys (warning), and values that
// cannot be converted (timeout, sudo, mode). The meaning of the values is
// checked by Validate; Load runs both.
func Parse(path string, data []byte) (*Spec, Diagnostics) {
	s := &Spec{
		Path:      path,
		Positions: map[string]Pos{},
		Hooks:     map[string][]Script{},
		nulls:     map[string]bool{},
		reported:  map[string]bool{},
	}
	d := newDecoder(s)
	var root yaml.Node
	if err := unmarshal(data, &root); err != nil {
		d.syntaxError(err, data)
		s.broken = true
		return s, d.diags
	}
	if root.Kind == 0 || len(root.Content) == 0 || yamlwalk.IsNull(d.Resolve(root.Content[0])) {
		d.errorf(nil, "", "the file is empty; an AppSpec file starts with version: 0.0 and os: linux")
		s.broken = true
		return s, d.diags
	}
	doc := root.Content[0]
	s.Positions[""] = Pos{Line: doc.Line, Column: doc.Column}
	if r := d.Resolve(doc); r == nil || r.Kind != yaml.MappingNode {
		d.errorf(doc, "", "an AppSpec file must be a mapping of keys (version, os, files, hooks, ...), not a %s", yamlwalk.KindName(r))
		s.broken = true
		return s, d.diags
	}
	d.Duplicates(doc, "")
	for _, p := range d.mapping(doc, "", "the AppSpec file", topKeys) {
		switch p.Key {
		case "version":
			d.record("version", p.Val, p.KeyNode)
			s.Version, s.versionTag, _ = d.Scalar(p.Val, "version", "version")
		case "os":
			s.OS = d.Str(p, "os", "os")
		case "file_exists_behavior":
			s.FileExistsBehavior = FileExistsBehavior(d.Str(p, "file_exists_behavior", "file_exists_behavior"))
		case "files":
			d.files(p)
		case "permissions":
			d.permissions(p)
		case "hooks":
			d.hooks(p)
		}
	}
	return s, d.diags
}

// unmarshal parses YAML into a node tree, turning a parser panic into an
// error so that no input can crash the caller.
func unmarshal(data []byte, root *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	return yaml.Unmarshal(data, root)
}

func (d *decoder) files(p pair) {
	d.record("files", p.Val, p.KeyNode)
	for i, item := range d.Sequence(p.Val, "files", "files", "a list of entries like - {source: /, destination: /opt/app}") {
		field := yamlwalk.IndexField("files", i)
		d.record(field, item, nil)
		var fm FileMapping
		for _, kv := range d.mapping(item, field, "a files entry", fileKeys) {
			f := yamlwalk.JoinField(field, kv.Key)
			switch kv.Key {
			case "source":
				fm.Source = d.Str(kv, f, "source")
			case "destination":
				fm.Destination = d.Str(kv, f, "destination")
			}
		}
		d.spec.Files = append(d.spec.Files, fm)
	}
}

func (d *decoder) permissions(p pair) {
	d.record("permissions", p.Val, p.KeyNode)
	for i, item := range d.Sequence(p.Val, "permissions", "permissions", "a list of entries like - {object: /opt/app, mode: \"755\"}") {
		field := yamlwalk.IndexField("permissions", i)
		d.record(field, item, nil)
		perm := Permission{Pattern: "**"}
		for _, kv := range d.mapping(item, field, "a permissions entry", permissionKeys) {
			f := yamlwalk.JoinField(field, kv.Key)
			switch kv.Key {
			case "object":
				perm.Object = strings.TrimSpace(d.Str(kv, f, "object"))
			case "pattern":
				if v := d.Str(kv, f, "pattern"); !d.spec.nulls[f] {
					perm.Pattern = v
				}
			case "except":
				perm.Except = d.StrList(kv, f, "except", `except: ["*.log", "tmp"]`)
			case "owner":
				perm.Owner = d.Str(kv, f, "owner")
			case "group":
				perm.Group = d.Str(kv, f, "group")
			case "mode":
				perm.Mode = d.mode(kv, f)
			case "acls":
				perm.ACLs = d.StrList(kv, f, "acls", `acls: ["u:deploy:rwx"]`)
			case "context":
				perm.Context = d.context(kv, f)
			case "type":
				perm.Type = d.StrList(kv, f, "type", "type: [file, directory]")
			}
		}
		if len(perm.Type) == 0 && !d.spec.has(yamlwalk.JoinField(field, "type")) {
			perm.Type = []string{"file", "directory"}
		}
		d.spec.Permissions = append(d.spec.Permissions, perm)
	}
}

// mode returns the octal digits CodeDeploy would apply. CodeDeploy's YAML
// 1.1 loader reads an unquoted 0644 as the octal number 420 and then uses its
// decimal digits, so an unquoted leading-zero mode is reported: a warning
// when the result is still a valid mode (applied as CodeDeploy would), an
// error when it is not.
func (d *decoder) mode(kv pair, field string) string {
	d.record(field, kv.Val, kv.KeyNode)
	v, tag, ok := d.Scalar(kv.Val, field, "mode")
	if !ok || tag != "!!int" {
		return v
	}
	digits := strings.TrimLeft(strings.ReplaceAll(v, "_", ""), "+")
	if len(digits) < 2 || digits[0] != '0' || strings.Trim(digits, "01234567") != "" {
		return v
	}
	n, err := strconv.ParseInt(digits, 8, 64)
	if err != nil {
		return v
	}
	read := strconv.FormatInt(n, 10)
	if validModeDigits(read) {
		d.warnf(kv.Val, field, "unquoted mode %s is read by YAML 1.1 as the octal number %d, so mode %s is applied (as CodeDeploy does); write mode: %q to mean %s", v, n, read, v, v)
		return read
	}
	d.errorf(kv.Val, field, "unquoted mode %s is read by YAML 1.1 as the octal number %d, which is not a valid mode; write mode: %q", v, n, v)
	return ""
}

func (d *decoder) context(kv pair, field string) *Context {
	d.record(field, kv.Val, kv.KeyNode)
	if yamlwalk.IsNull(d.Resolve(kv.Val)) {
		return nil
	}
	c := &Context{}
	for _, p := range d.mapping(kv.Val, field, "context", contextKeys) {
		f := yamlwalk.JoinField(field, p.Key)
		switch p.Key {
		case "name":
			c.Name = d.Str(p, f, "context name")
		case "type":
			c.Type = d.Str(p, f, "context type")
		case "range":
			c.Range = d.Str(p, f, "context range")
		}
	}
	return c
}

func (d *decoder) hooks(p pair) {
	d.record("hooks", p.Val, p.KeyNode)
	if r := d.Resolve(p.Val); r != nil && r.Kind == yaml.SequenceNode {
		d.errorf(p.Val, "hooks", "hooks must be a mapping of event name to scripts (the list form is for ECS and Lambda); write for example hooks: {AfterInstall: [{location: scripts/install.sh}]}")
		return
	}
	for _, ev := range d.mapping(p.Val, "hooks", "hooks", nil) {
		field := yamlwalk.JoinField("hooks", ev.Key)
		d.record(field, ev.Val, ev.KeyNode)
		if _, dup := d.spec.Hooks[ev.Key]; !dup {
			d.spec.hookOrder = append(d.spec.hookOrder, ev.Key)
		}
		scripts := []Script{}
		for i, item := range d.Sequence(ev.Val, field, "the scripts of "+ev.Key, "a list of entries like - location: scripts/run.sh") {
			sf := yamlwalk.IndexField(field, i)
			d.record(sf, item, nil)
			if r := d.Resolve(item); r == nil || r.Kind != yaml.MappingNode {
				d.errorf(item, sf, "each script must be a mapping with a location, not a %s; write - location: %s", yamlwalk.KindName(r), exampleLocation(r))
				scripts = append(scripts, Script{Timeout: DefaultTimeout}) // keeps indices aligned with the file
				continue
			}
			scripts = append(scripts, d.script(item, sf))
		}
		d.spec.Hooks[ev.Key] = scripts
	}
}

func exampleLocation(n *yaml.Node) string {
	if n != nil && n.Kind == yaml.ScalarNode && n.Value != "" && !strings.ContainsAny(n.Value, "\n") {
		return n.Value
	}
	return "scripts/run.sh"
}

func (d *decoder) script(item *yaml.Node, field string) Script {
	sc := Script{Timeout: DefaultTimeout}
	for _, kv := range d.mapping(item, field, "a script", scriptKeys) {
		f := yamlwalk.JoinField(field, kv.Key)
		switch kv.Key {
		case "location":
			sc.Location = strings.TrimSpace(d.Str(kv, f, "location"))
		case "runas":
			sc.RunAs = strings.TrimSpace(d.Str(kv, f, "runas"))
		case "timeout":
			sc.Timeout = d.timeout(kv, f)
		case "sudo":
			sc.Sudo = d.sudo(kv, f)
		}
	}
	return sc
}

// timeout converts a timeout value. Null means the default; a quoted whole
// number is accepted with a warning, as CodeDeploy converts it too.
func (d *decoder) timeout(kv pair, field string) int {
	d.record(field, kv.Val, kv.KeyNode)
	v, tag, ok := d.Scalar(kv.Val, field, "timeout")
	if !ok {
		return DefaultTimeout
	}
	switch tag {
	case "!!null":
		return DefaultTimeout
	case "!!int", "!!str":
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n <= 0 || n > math.MaxInt32 {
			break
		}
		if tag == "!!str" {
			d.warnf(kv.Val, field, "timeout is the string %q; write it as a number: timeout: %d", v, n)
		}
		return int(n)
	case "!!float":
		f, err := strconv.ParseFloat(v, 64)
		if err == nil && f >= 1 && f <= math.MaxInt32 {
			d.warnf(kv.Val, field, "timeout %s is cut to %d seconds (as CodeDeploy does); write a whole number: timeout: %d", v, int(f), int(f))
			return int(f)
		}
	}
	d.errorf(kv.Val, field, "timeout must be a whole number of seconds greater than 0, not %s; write for example timeout: 300", quote(v))
	return DefaultTimeout
}

// sudo converts a boolean the way YAML 1.1 (CodeDeploy's loader) reads it.
func (d *decoder) sudo(kv pair, field string) bool {
	d.record(field, kv.Val, kv.KeyNode)
	v, tag, ok := d.Scalar(kv.Val, field, "sudo")
	if !ok || tag == "!!null" {
		return false
	}
	if tag == "!!bool" || tag == "!!str" {
		r := d.Resolve(kv.Val)
		quoted := r.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0
		val, isBool := map[string]bool{"true": true, "yes": true, "on": true, "y": true,
			"false": false, "no": false, "off": false, "n": false}[strings.ToLower(v)]
		if isBool && quoted {
			d.warnf(kv.Val, field, "sudo is the string %q; write sudo: %t without quotes", v, val)
		}
		if isBool {
			return val
		}
	}
	d.errorf(kv.Val, field, "sudo must be true or false, not %s; write sudo: true", quote(v))
	return false
}

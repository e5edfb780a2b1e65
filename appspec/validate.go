package appspec

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/slipwayhq/slipway/internal/yamlwalk"
)

// validator checks the meaning of a parsed Spec.
type validator struct {
	s     *Spec
	diags Diagnostics
}

func (v *validator) add(sev Severity, field, format string, args ...any) {
	p := v.s.pos(field)
	v.diags = append(v.diags, Diagnostic{File: v.s.Path, Line: p.Line, Column: p.Column, Field: field,
		Severity: sev, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) errorf(field, format string, args ...any) {
	v.add(SeverityError, field, format, args...)
}

func (v *validator) warnf(field, format string, args ...any) {
	v.add(SeverityWarning, field, format, args...)
}

// Validate checks every rule of the AppSpec requirements that needs only
// the file itself: required keys, version, os, file_exists_behavior values,
// paths (sources and hook locations inside the bundle, absolute
// destinations), permissions entries (globs, mode, acls, SELinux context,
// type, Linux only) and hooks (known events, scripts only on events that
// take them, a location per script). Rules that need the bundle contents
// (sources and scripts exist, overlapping destinations, permission objects)
// are checked by ValidateBundle and Plan. Fields that Parse already reported
// are not reported again. The result is sorted.
func (s *Spec) Validate() Diagnostics {
	v := &validator{s: s}
	if s.broken {
		return nil
	}
	v.version()
	v.os()
	v.fileExistsBehavior()
	v.files()
	v.permissions()
	v.hooks()
	v.diags.Sort()
	return v.diags
}

func (v *validator) version() {
	s := v.s
	switch {
	case s.reported["version"]:
	case !s.has("version"):
		v.errorf("", "version is required; add version: 0.0")
	case s.versionTag == "!!int" || s.versionTag == "!!float":
		if f, err := strconv.ParseFloat(strings.ReplaceAll(s.Version, "_", ""), 64); err != nil || f != 0 {
			v.errorf("version", "unsupported version %s; the only AppSpec version is 0.0: write version: 0.0", s.Version)
		}
	case s.versionTag == "!!str" && isZeroNumber(s.Version):
		v.errorf("version", "version is the string %q, which CodeDeploy rejects; write version: 0.0 without quotes", s.Version)
	default:
		v.errorf("version", "unsupported version %s; the only AppSpec version is 0.0: write version: 0.0", quote(s.Version))
	}
}

func isZeroNumber(s string) bool {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return err == nil && f == 0
}

func (v *validator) os() {
	s := v.s
	switch {
	case s.reported["os"]:
	case !s.has("os"):
		v.errorf("", "os is required; add os: linux or os: windows")
	case s.OS != OSLinux && s.OS != OSWindows:
		v.errorf("os", "unsupported os %s; write os: linux or os: windows%s", quote(s.OS), didYouMean(s.OS, []string{OSLinux, OSWindows}))
	}
}

// ExistsBehavior returns the file_exists_behavior in effect: DISALLOW when
// absent, otherwise the value in upper case.
func (s *Spec) ExistsBehavior() FileExistsBehavior {
	b := FileExistsBehavior(strings.ToUpper(strings.TrimSpace(string(s.FileExistsBehavior))))
	if b == "" {
		return Disallow
	}
	return b
}

func (v *validator) fileExistsBehavior() {
	s := v.s
	if !s.has("file_exists_behavior") || s.reported["file_exists_behavior"] {
		return
	}
	switch b := s.ExistsBehavior(); {
	case b != Disallow && b != Overwrite && b != Retain:
		v.errorf("file_exists_behavior", "file_exists_behavior %s is not valid; write DISALLOW, OVERWRITE or RETAIN", quote(string(s.FileExistsBehavior)))
	case string(b) != string(s.FileExistsBehavior):
		v.warnf("file_exists_behavior", "write file_exists_behavior: %s in upper case", b)
	}
}

func (v *validator) files() {
	s := v.s
	type pairKey struct{ src, dst string }
	seen := map[pairKey]int{}
	for i, f := range s.Files {
		field := yamlwalk.IndexField("files", i)
		if s.reported[field] {
			continue
		}
		srcField, dstField := field+".source", field+".destination"
		src, srcOK := "", false
		switch {
		case s.reported[srcField]:
		case !s.has(srcField):
			v.errorf(pick(s, srcField, field), "source is required; write source: / to copy the whole bundle, or a path inside it")
		default:
			if src, srcOK = BundlePath(s.OS, f.Source); !srcOK {
				v.errorf(srcField, "source %s leaves the bundle; write a path relative to the bundle root, such as source: app/", quote(f.Source))
			}
		}
		dst, dstOK := "", false
		switch {
		case s.reported[dstField]:
		case !s.has(dstField):
			v.errorf(pick(s, dstField, field), "destination is required; write destination: %s", exampleDest(s.OS))
		default:
			if dst, dstOK = HostPath(s.OS, f.Destination); !dstOK {
				v.errorf(dstField, "destination %s is relative; write an absolute path such as %s", quote(f.Destination), exampleDest(s.OS))
			}
		}
		if srcOK && dstOK {
			k := pairKey{src, dst}
			if j, dup := seen[k]; dup {
				v.errorf(field, "files[%d] copies the same source to the same destination as files[%d]; remove one of them", i, j)
			} else {
				seen[k] = i
			}
		}
	}
}

func exampleDest(osName string) string {
	if osName == OSWindows {
		return `C:\inetpub\wwwroot`
	}
	return "/opt/app"
}

// pick returns field when it has a position, else fallback (an entry).
func pick(s *Spec, field, fallback string) string {
	if _, ok := s.Positions[field]; ok {
		return field
	}
	return fallback
}

func (v *validator) permissions() {
	s := v.s
	if len(s.Permissions) > 0 && s.OS == OSWindows {
		v.errorf("permissions", "permissions are supported only with os: linux; remove them and set Windows permissions in a hook script")
		return
	}
	for i, p := range s.Permissions {
		if s.reported[yamlwalk.IndexField("permissions", i)] {
			continue
		}
		v.permission(yamlwalk.IndexField("permissions", i), p)
	}
}

func (v *validator) permission(field string, p Permission) {
	s := v.s
	f := func(key string) string { return field + "." + key }
	switch {
	case s.reported[f("object")]:
	case !s.has(f("object")) || p.Object == "":
		v.errorf(pick(s, f("object"), field), "object is required; write the installed path to set permissions on, e.g. object: /opt/app")
	default:
		if _, ok := HostPath(s.OS, p.Object); !ok {
			v.warnf(f("object"), "object %s is relative, so it matches nothing installed; write an absolute path such as /opt/app", quote(p.Object))
		}
	}
	if p.Pattern != "**" && !s.reported[f("pattern")] {
		if _, err := path.Match(p.Pattern, ""); err != nil || p.Pattern == "" {
			v.errorf(f("pattern"), "pattern %s is not a valid glob; write ** for everything below object or a name glob such as *.sh", quote(p.Pattern))
		} else if strings.Contains(p.Pattern, "/") {
			v.warnf(f("pattern"), "pattern %s contains '/', but patterns other than ** match only the immediate children of object by name; use ** or a name glob such as *.sh", quote(p.Pattern))
		}
	}
	for j, e := range p.Except {
		if s.reported[yamlwalk.IndexField(f("except"), j)] {
			continue
		}
		if _, err := path.Match(e, ""); err != nil || e == "" {
			v.errorf(yamlwalk.IndexField(f("except"), j), "except pattern %s is not a valid glob; write a name glob such as *.log", quote(e))
		}
	}
	if s.has(f("mode")) && !s.reported[f("mode")] && !validModeDigits(p.Mode) {
		v.errorf(f("mode"), "mode %s is not valid; write 1 to 4 octal digits in quotes, e.g. mode: \"0644\"", quote(p.Mode))
	}
	for j, a := range p.ACLs {
		if s.reported[yamlwalk.IndexField(f("acls"), j)] {
			continue
		}
		if _, err := ParseACL(a); err != nil {
			v.errorf(yamlwalk.IndexField(f("acls"), j), "acl entry %s is not valid: %v; write entries like u:deploy:rwx, g:web:r-x or d:u:deploy:rw", quote(a), err)
		}
	}
	if p.Context != nil && !s.reported[f("context")] {
		v.context(f("context"), p.Context)
	}
	for j, t := range p.Type {
		if s.reported[yamlwalk.IndexField(f("type"), j)] {
			continue
		}
		if t != "file" && t != "directory" {
			v.errorf(yamlwalk.IndexField(f("type"), j), "type %s is not valid; write file or directory%s", quote(t), didYouMean(t, []string{"file", "directory"}))
		}
	}
	if len(p.Type) == 0 && s.has(f("type")) {
		v.warnf(f("type"), "type is empty, so this entry applies to nothing; write type: [file, directory] or remove it")
	}
	if p.Owner == "" && p.Group == "" && !s.has(f("mode")) && len(p.ACLs) == 0 && p.Context == nil && !s.reported[f("mode")] {
		v.warnf(field, "this permissions entry sets nothing; add mode, owner, group, acls or context")
	}
}

func (v *validator) context(field string, c *Context) {
	s := v.s
	if !s.has(field+".type") || c.Type == "" {
		v.errorf(pick(s, field+".type", field), "context type is required; write for example type: httpd_sys_content_t")
	}
	if s.has(field + ".range") {
		if _, err := ParseRange(c.Range); err != nil {
			v.errorf(field+".range", "context range %s is not valid: %v; write a range such as s0, s0-s3 or s0:c0.c255", quote(c.Range), err)
		}
	}
}

func (v *validator) hooks() {
	s := v.s
	for _, name := range s.hookOrder {
		field := "hooks." + name
		ev, ok := LookupEvent(name)
		if !ok {
			if hint := didYouMean(name, EventNames()); hint != "" {
				v.errorf(field, "unknown lifecycle event %s, which would never run%s", quote(name), hint)
			} else {
				v.errorf(field, "unknown lifecycle event %s, which would never run; events that take scripts are %s", quote(name), strings.Join(scriptEvents(), ", "))
			}
		} else if !ev.TakesScripts && len(s.Hooks[name]) > 0 {
			v.errorf(field, "%s is run by the agent itself and takes no scripts; move them to %s", name, neighbours(name))
		}
		for i, sc := range s.Hooks[name] {
			if s.reported[yamlwalk.IndexField(field, i)] {
				continue
			}
			v.script(yamlwalk.IndexField(field, i), sc)
		}
	}
}

func (v *validator) script(field string, sc Script) {
	s := v.s
	lf := field + ".location"
	switch {
	case s.reported[lf]:
	case !s.has(lf) || sc.Location == "":
		v.errorf(pick(s, lf, field), "location is required; write the script's path in the bundle, e.g. location: scripts/start.sh")
	default:
		if p, ok := BundlePath(s.OS, sc.Location); !ok {
			v.errorf(lf, "location %s leaves the bundle; write a path relative to the bundle root, such as scripts/start.sh", quote(sc.Location))
		} else if p == "" {
			v.errorf(lf, "location %s is the bundle root, not a script; write the script's path, such as scripts/start.sh", quote(sc.Location))
		}
	}
	if tf := field + ".timeout"; !s.reported[tf] && sc.Timeout > MaxTimeout {
		v.errorf(tf, "timeout %d is longer than the maximum of %d seconds (1 hour) CodeDeploy allows a script; write at most timeout: %d", sc.Timeout, MaxTimeout, MaxTimeout)
	}
	if sc.RunAs != "" && s.OS == OSWindows {
		v.warnf(field+".runas", "runas is ignored on windows; scripts run as the agent's user")
	}
}

func scriptEvents() []string {
	var out []string
	for _, e := range Events {
		if e.TakesScripts {
			out = append(out, e.Name)
		}
	}
	return out
}

// neighbours names the closest script events before and after name.
func neighbours(name string) string {
	idx := -1
	for i, e := range Events {
		if e.Name == name {
			idx = i
		}
	}
	var before, after string
	for i := idx - 1; i >= 0 && before == ""; i-- {
		if Events[i].TakesScripts && (Events[idx].Traffic || !Events[i].FromLastSuccessful) {
			before = Events[i].Name
		}
	}
	for i := idx + 1; i < len(Events) && after == ""; i++ {
		if Events[i].TakesScripts {
			after = Events[i].Name
		}
	}
	switch {
	case before == "":
		return after
	case after == "":
		return before
	}
	return before + " or " + after
}

// Load parses and validates a spec: the diagnostics of Parse and Validate
// together, sorted. The Spec is usable for Plan only when the diagnostics
// have no errors.
func Load(path string, data []byte) (*Spec, Diagnostics) {
	s, diags := Parse(path, data)
	diags = append(diags, s.Validate()...)
	diags.Sort()
	return s, diags
}

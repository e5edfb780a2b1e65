package buildspec

import (
	"fmt"
	"regexp"
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

// Validate checks every rule of docs/BUILDSPEC.md that needs only the file
// itself: version, env (shell, variable names, secret references, exported
// variables), phases (names, commands, on-failure), reports, artifacts and
// cache globs and values, and batch (one kind, identifiers, dependencies,
// matrix size). Fields that Parse already reported are not reported again.
// The result is sorted.
func (s *Spec) Validate() Diagnostics {
	v := &validator{s: s}
	if s.broken {
		return nil
	}
	v.version()
	v.env()
	v.phases()
	v.reports()
	v.artifacts()
	v.cache()
	v.batch()
	v.diags.Sort()
	return v.diags
}

// Load parses and validates a buildspec: the diagnostics of Parse and
// Validate together, sorted. The Spec can be run only when the diagnostics
// have no errors.
func Load(path string, data []byte) (*Spec, Diagnostics) {
	s, diags := Parse(path, data)
	diags = append(diags, s.Validate()...)
	diags.Sort()
	return s, diags
}

func (v *validator) version() {
	s := v.s
	switch {
	case s.reported["version"]:
	case !s.has("version"):
		v.errorf("", "version is required; add version: 0.2")
	case s.Version == Version01 || s.Version == Version02:
	default:
		v.errorf("version", "unsupported version %s; write version: 0.2 (or 0.1, where each command runs in its own shell)", quote(s.versionRaw))
	}
}

var shellName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// varName checks a variable name: an error when no process environment can
// hold it, a warning when the shell cannot read it.
func (v *validator) varName(field, name, what string) {
	switch {
	case name == "" || strings.ContainsAny(name, "=\x00"):
		v.errorf(field, "%s %s is not a valid environment variable name; use letters, digits and underscores", what, quote(name))
	case strings.HasPrefix(strings.ToUpper(name), "CODEBUILD_"):
		v.warnf(field, "%s %s starts with CODEBUILD_, which is reserved: the build's own value wins; rename it", what, name)
	case !shellName.MatchString(name):
		v.warnf(field, "%s %s is not a shell identifier, so commands cannot read it as $%s; use letters, digits and underscores", what, quote(name), name)
	}
}

func (v *validator) env() {
	s := v.s
	e := s.Env
	switch sh := e.Shell; {
	case s.reported["env.shell"] || !s.has("env.shell"):
	case sh == ShellBash || sh == ShellSh:
	case sh == "powershell.exe" || sh == "cmd.exe":
		v.errorf("env.shell", "shell %s is a Windows shell; Slipway runs builds on Linux: write shell: bash or shell: /bin/sh", sh)
	default:
		v.errorf("env.shell", "shell %s is not supported; write shell: bash or shell: /bin/sh%s", quote(sh), didYouMean(sh, []string{ShellBash, ShellSh}))
	}
	for _, x := range e.Variables {
		f := "env.variables." + x.Name
		v.varName(f, x.Name, "variable")
		if s.nulls[f] {
			v.warnf(f, "variable %s has no value, so it is set to the empty string; write %s: \"\" to say so", x.Name, x.Name)
		}
	}
	for _, x := range e.ParameterStore {
		f := "env.parameter-store." + x.Name
		v.varName(f, x.Name, "variable")
		if strings.TrimSpace(x.Value) == "" && !s.reported[f] {
			v.errorf(f, "parameter-store variable %s names no secret; write %s: /path/of/the/secret", x.Name, x.Name)
		}
	}
	for _, x := range e.SecretsManager {
		f := "env.secrets-manager." + x.Name
		v.varName(f, x.Name, "variable")
		if strings.TrimSpace(x.SecretID) == "" && !s.reported[f] {
			v.errorf(f, "secrets-manager variable %s names no secret; write %s: secret-id or secret-id:json-key", x.Name, x.Name)
		}
	}
	secret := map[string]bool{}
	for _, x := range e.ParameterStore {
		secret[x.Name] = true
	}
	for _, x := range e.SecretsManager {
		secret[x.Name] = true
	}
	seen := map[string]int{}
	for i, name := range e.ExportedVariables {
		f := yamlwalk.IndexField("env.exported-variables", i)
		switch {
		case s.reported[f]:
		case name == "" || strings.ContainsAny(name, "=\x00"):
			v.errorf(f, "exported variable %s is not a valid name; write the name of a variable the build sets", quote(name))
		case strings.HasPrefix(name, "AWS_"):
			v.warnf(f, "variables starting with AWS_ are not exported (as in CodeBuild); rename %s", name)
		case secret[name]:
			v.warnf(f, "%s comes from a secret store and is not exported (as in CodeBuild); export a variable that is not secret", name)
		}
		if j, dup := seen[name]; dup {
			v.warnf(f, "%s is already exported at exported-variables[%d]; remove one", name, j)
		}
		seen[name] = i
	}
}

func (v *validator) phases() {
	s := v.s
	switch {
	case s.reported["phases"]:
		return
	case !s.written("phases"):
		v.errorf("", "phases is required; add phases: {build: {commands: [make]}}")
		return
	case len(s.phaseOrder) == 0:
		v.warnf("phases", "phases has no phase, so the build runs no command; add install, pre_build, build or post_build")
		return
	}
	for _, name := range s.phaseOrder {
		f := "phases." + name
		if !contains(PhaseNames, name) {
			if hint := didYouMean(name, PhaseNames); hint != "" {
				v.errorf(f, "unknown phase %s, whose commands would never run%s", quote(name), hint)
			} else {
				v.errorf(f, "unknown phase %s, whose commands would never run; the phases are install, pre_build, build and post_build", quote(name))
			}
			continue
		}
		if s.reported[f] {
			continue
		}
		v.phase(f, s.Phases[name])
	}
}

func (v *validator) phase(f string, ph *Phase) {
	s := v.s
	cf := f + ".commands"
	switch {
	case s.nulls[f]:
		v.warnf(f, "phase %s has no commands, so it runs nothing; add commands: [...] or remove it", ph.Name)
	case !s.written(cf):
		v.errorf(f, "phase %s needs commands (a list, even when finally has them); add commands: [...]", ph.Name)
	case len(ph.Commands) == 0 && !s.reported[cf]:
		v.warnf(cf, "phase %s has no commands, so only its finally runs", ph.Name)
	}
	of := f + ".on-failure"
	if o := ph.OnFailure; o.Action != "" && !s.reported[of] {
		if text := strings.TrimSpace(o.Text); !strings.HasPrefix(text, o.Action) {
			v.warnf(of, "write on-failure: %s%s with %s in upper case", o.Action, text[len(o.Action):], o.Action)
		}
		if o.Action == Retry {
			if _, err := regexp.Compile(o.Pattern); err != nil {
				v.errorf(of, "the pattern of on-failure %s is not a valid regular expression: %v; write on-failure: RETRY-3-pattern", quote(o.Text), err)
			}
		}
	}
	if ph.Name != PhaseInstall && s.written(f+".runtime-versions") {
		v.warnf(f+".runtime-versions", "runtime-versions is read only in the install phase; move it there")
	}
}

func (v *validator) reports() {
	s := v.s
	if len(s.Reports) > MaxReportGroups {
		v.warnf("reports", "%d report groups, more than the %d CodeBuild allows a project", len(s.Reports), MaxReportGroups)
	}
	for _, r := range s.Reports {
		f := "reports." + r.Group
		if s.reported[f] {
			continue
		}
		v.patterns(f, r.Files, "report files", true)
		v.baseDirectory(f+".base-directory", r.BaseDirectory)
		ff := f + ".file-format"
		switch up := strings.ToUpper(r.FileFormat); {
		case s.reported[ff]:
		case !contains(ReportFormats, up):
			v.errorf(ff, "file-format %s is not a report format; write one of %s%s", quote(r.FileFormat), strings.Join(ReportFormats, ", "), didYouMean(up, ReportFormats))
		case up != r.FileFormat:
			v.warnf(ff, "write file-format: %s in upper case", up)
		}
	}
}

// patterns checks a list of globs that must stay below their root;
// required says the list must have one.
func (v *validator) patterns(field string, list []string, what string, required bool) {
	s := v.s
	ff := field + ".files"
	if what == "exclude-paths" || what == "cache paths" {
		ff = field
	}
	if required && len(list) == 0 && !s.reported[ff] {
		v.errorf(pick(s, ff, field), "%s must list at least one path; write for example files: [\"**/*\"]", what)
		return
	}
	for i, p := range list {
		f := yamlwalk.IndexField(ff, i)
		if len(list) == 1 && !s.written(f) {
			f = ff // a single scalar (exclude-paths: "*.tmp")
		}
		switch {
		case s.reported[f]:
		case strings.TrimSpace(p) == "":
			v.errorf(f, "an empty path in %s; write a path or glob such as dist/**/*", what)
		case what != "cache paths" && escapes(p):
			v.errorf(f, "%s %s leaves the source directory; write a path relative to it (or to base-directory), without .. elements", what, quote(p))
		case CheckPattern(p) != nil:
			v.errorf(f, "%s %s is not a valid glob; check its brackets and escapes", what, quote(p))
		}
	}
}

func (v *validator) baseDirectory(field, dir string) {
	if dir == "" || v.s.reported[field] {
		return
	}
	switch {
	case escapes(dir):
		v.errorf(field, "base-directory %s leaves the source directory; write a directory relative to it, such as dist", quote(dir))
	case CheckPattern(dir) != nil:
		v.errorf(field, "base-directory %s is not a valid glob; check its brackets and escapes", quote(dir))
	}
}

// pick returns field when it has a position, else fallback.
func pick(s *Spec, field, fallback string) string {
	if _, ok := s.Positions[field]; ok {
		return field
	}
	return fallback
}

func (v *validator) artifacts() {
	s := v.s
	a := s.Artifacts
	if a == nil || s.reported["artifacts"] || s.nulls["artifacts"] {
		return
	}
	v.artifact("artifacts", a.Artifact)
	for _, sec := range a.Secondary {
		f := "artifacts.secondary-artifacts." + sec.Identifier
		if !s.reported[f] {
			v.artifact(f, sec)
		}
	}
}

func (v *validator) artifact(field string, a Artifact) {
	s := v.s
	if !s.reported[field+".files"] {
		what := "artifact files"
		if field == "artifacts" && len(a.Files) == 0 && len(s.Artifacts.Secondary) > 0 {
			v.errorf(pick(s, field+".files", field), "artifacts needs files even with only secondary artifacts (as in CodeBuild); add files: [\"**/*\"]")
		} else {
			v.patterns(field, a.Files, what, true)
		}
	}
	v.baseDirectory(field+".base-directory", a.BaseDirectory)
	v.patterns(field+".exclude-paths", a.ExcludePaths, "exclude-paths", false)
}

func (v *validator) cache() {
	s := v.s
	c := s.Cache
	if c == nil || s.reported["cache"] || s.nulls["cache"] {
		return
	}
	if !s.reported["cache.paths"] {
		if len(c.Paths) == 0 {
			v.errorf(pick(s, "cache.paths", "cache"), "cache needs paths; add paths: [\"/root/.cache/**/*\"]")
		} else {
			v.patterns("cache.paths", c.Paths, "cache paths", false)
		}
	}
	if len(c.FallbackKeys) > MaxFallbackKeys && !s.reported["cache.fallback-keys"] {
		v.errorf("cache.fallback-keys", "%d fallback keys, more than the %d CodeBuild takes; keep the %d most useful", len(c.FallbackKeys), MaxFallbackKeys, MaxFallbackKeys)
	}
	if len(c.FallbackKeys) > 0 && c.Key == "" {
		v.warnf("cache.fallback-keys", "fallback-keys are ignored without key; add key: or remove them")
	}
	switch c.Action {
	case "", "restore", "save":
	default:
		if !s.reported["cache.action"] {
			v.errorf("cache.action", "cache action %s is not valid; write restore or save, or leave it out to do both%s", quote(c.Action), didYouMean(c.Action, []string{"restore", "save"}))
		}
	}
}

var identifierRe = regexp.MustCompile(`^[A-Za-z0-9_]{1,127}$`)

func (v *validator) batch() {
	s := v.s
	b := s.Batch
	if b == nil || s.reported["batch"] || s.nulls["batch"] {
		return
	}
	var kinds []string
	for _, k := range []string{BuildList, BuildGraph, BuildMatrix, BuildFanout} {
		if s.written("batch." + k) {
			kinds = append(kinds, k)
		}
	}
	switch {
	case len(kinds) == 0:
		v.warnf("batch", "batch has no build-list, build-graph or build-matrix, so a batch build of it would make no builds")
		return
	case len(kinds) > 1:
		v.errorf("batch."+kinds[1], "batch has both %s and %s; keep one of them", kinds[0], kinds[1])
	}
	f := "batch." + b.Kind
	switch b.Kind {
	case BuildFanout:
		v.warnf(f, "build-fanout is accepted but Slipway does not run it; use build-list or build-matrix")
	case BuildList, BuildGraph:
		v.tasks(f, b)
	case BuildMatrix:
		if b.Matrix != nil && b.Matrix.Size() > MaxBatchBuilds {
			v.errorf(f, "the matrix makes more than %d builds; use fewer values", MaxBatchBuilds)
		}
		if b.Matrix != nil {
			for i, bs := range b.Matrix.Buildspecs {
				v.taskBuildspec(yamlwalk.IndexField(f+".dynamic.buildspec", i), bs)
			}
		}
	}
}

func (v *validator) tasks(field string, b *Batch) {
	s := v.s
	if len(b.Tasks) > MaxBatchBuilds {
		v.errorf(field, "%d builds, more than the %d of a batch; split the batch", len(b.Tasks), MaxBatchBuilds)
	}
	ids := map[string]int{}
	for i, t := range b.Tasks {
		tf := yamlwalk.IndexField(field, i)
		idf := tf + ".identifier"
		switch {
		case s.reported[tf] || s.reported[idf]:
		case t.Identifier == "" && b.Kind == BuildGraph:
			v.errorf(pick(s, idf, tf), "each build of a build-graph needs an identifier, which depend-on refers to; add identifier: build_%d", i+1)
		case t.Identifier == "":
		case !identifierRe.MatchString(t.Identifier):
			v.errorf(idf, "identifier %s may have only letters, digits and underscores (at most 127); write for example %s", quote(t.Identifier), strings.Trim(regexp.MustCompile(`[^A-Za-z0-9_]+`).ReplaceAllString(t.Identifier, "_"), "_"))
		default:
			if j, dup := ids[t.Identifier]; dup {
				v.errorf(idf, "identifier %s is already used by %s[%d]; identifiers are unique in a batch", t.Identifier, b.Kind, j)
			} else {
				ids[t.Identifier] = i
			}
		}
		v.taskBuildspec(tf+".buildspec", t.Buildspec)
		if b.Kind == BuildList && len(t.DependOn) > 0 {
			v.warnf(tf+".depend-on", "depend-on is read only in a build-graph; the builds of a build-list all start at once")
		}
	}
	if b.Kind != BuildGraph {
		return
	}
	for i, t := range b.Tasks {
		for j, dep := range t.DependOn {
			df := yamlwalk.IndexField(yamlwalk.IndexField(field, i)+".depend-on", j)
			if _, ok := ids[dep]; !ok && !s.reported[df] {
				v.errorf(df, "depend-on names %s, which is no build of this graph%s", quote(dep), didYouMean(dep, keys(ids)))
			}
		}
	}
	if cyc := cycle(b.Tasks); cyc != nil {
		v.errorf(yamlwalk.IndexField(field, ids[cyc[0]])+".depend-on", "the builds depend on each other in a cycle (%s), so none could start; remove one dependency", strings.Join(cyc, " → "))
	}
}

func (v *validator) taskBuildspec(field, p string) {
	if p == "" || v.s.reported[field] {
		return
	}
	if escapes(p) {
		v.errorf(field, "buildspec %s leaves the source; write a path relative to the source root, such as ci/buildspec-arm.yml", quote(p))
	}
}

func keys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// cycle returns the identifiers of one dependency cycle of a build graph
// (the first closing back to its start), or nil.
func cycle(tasks []Task) []string {
	deps := map[string][]string{}
	var order []string
	for _, t := range tasks {
		if t.Identifier == "" {
			continue
		}
		if _, ok := deps[t.Identifier]; !ok {
			order = append(order, t.Identifier)
		}
		deps[t.Identifier] = append(deps[t.Identifier], t.DependOn...)
	}
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var found []string
	var visit func(id string) bool
	visit = func(id string) bool {
		color[id] = grey
		stack = append(stack, id)
		for _, d := range deps[id] {
			if _, known := deps[d]; !known {
				continue
			}
			switch color[d] {
			case grey:
				for i, x := range stack {
					if x == d {
						found = append(append([]string{}, stack[i:]...), d)
					}
				}
				return true
			case white:
				if visit(d) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[id] = black
		return false
	}
	for _, id := range order {
		if color[id] == white && visit(id) {
			return found
		}
	}
	return nil
}

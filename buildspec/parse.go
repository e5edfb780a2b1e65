package buildspec

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/slipwayhq/slipway/internal/yamlwalk"
	"gopkg.in/yaml.v3"
)

// Keys known at each level of a buildspec.
var (
	topKeys       = []string{"version", "run-as", "env", "proxy", "batch", "phases", "reports", "artifacts", "cache"}
	envKeys       = []string{"shell", "variables", "parameter-store", "secrets-manager", "exported-variables", "git-credential-helper"}
	proxyKeys     = []string{"upload-artifacts", "logs"}
	phaseKeys     = []string{"run-as", "on-failure", "runtime-versions", "commands", "finally"}
	reportKeys    = []string{"files", "base-directory", "discard-paths", "file-format"}
	artifactKeys  = []string{"files", "name", "discard-paths", "base-directory", "exclude-paths", "enable-symlinks", "s3-prefix", "secondary-artifacts"}
	secondaryKeys = []string{"files", "name", "discard-paths", "base-directory", "exclude-paths", "enable-symlinks", "s3-prefix"}
	cacheKeys     = []string{"key", "fallback-keys", "action", "paths"}
	batchKeys     = []string{"fast-fail", BuildList, BuildGraph, BuildMatrix, BuildFanout}
	taskKeys      = []string{"identifier", "buildspec", "env", "ignore-failure", "depend-on", "debug-session"}
	taskEnvKeys   = []string{"compute-type", "fleet", "image", "privileged-mode", "type", "variables"}
	matrixKeys    = []string{"static", "dynamic"}
	staticKeys    = []string{"ignore-failure", "env"}
	dynamicKeys   = []string{"buildspec", "env"}
	dynEnvKeys    = []string{"compute-type", "fleet", "image", "variables"}
)

// Parse decodes a buildspec. path is only used in diagnostics.
//
// Parse never panics and always returns a non-nil Spec, filled as far as the
// document allowed. Its diagnostics cover the bounds (size, nesting,
// commands), YAML syntax, values of the wrong kind (a list where a mapping
// belongs), duplicate keys (error), unknown keys (warning with a
// did-you-mean) and values that cannot be converted (booleans, on-failure,
// secrets-manager references). The meaning of the values is checked by
// Validate; Load runs both.
func Parse(path string, data []byte) (*Spec, Diagnostics) {
	s := &Spec{
		Path:      path,
		Phases:    map[string]*Phase{},
		Positions: map[string]Pos{},
		nulls:     map[string]bool{},
		reported:  map[string]bool{},
	}
	d := newDecoder(s)
	if len(data) > MaxFileSize {
		d.errorf(nil, "", "the buildspec is %d bytes, more than the %d (1 MiB) Slipway reads; move long scripts into files of the source and run them from the buildspec", len(data), MaxFileSize)
		s.broken = true
		return s, d.diags
	}
	var root yaml.Node
	if err := unmarshal(data, &root); err != nil {
		d.syntaxError(err, data)
		s.broken = true
		return s, d.diags
	}
	if root.Kind == 0 || len(root.Content) == 0 || yamlwalk.IsNull(d.Resolve(root.Content[0])) {
		d.errorf(nil, "", "the file is empty; a buildspec starts with version: 0.2 and has phases")
		s.broken = true
		return s, d.diags
	}
	doc := root.Content[0]
	s.Positions[""] = Pos{Line: doc.Line, Column: doc.Column}
	if r := d.Resolve(doc); r == nil || r.Kind != yaml.MappingNode {
		d.errorf(doc, "", "a buildspec must be a mapping of keys (version, env, phases, artifacts, ...), not a %s", yamlwalk.KindName(r))
		s.broken = true
		return s, d.diags
	}
	d.Duplicates(doc, "")
	if d.Deep() {
		s.broken = true
		return s, d.diags
	}
	for _, p := range d.mapping(doc, "", "the buildspec", topKeys) {
		switch p.Key {
		case "version":
			d.record("version", p.Val, p.KeyNode)
			s.versionRaw, s.versionTag, _ = d.Scalar(p.Val, "version", "version")
			s.Version = canonicalVersion(s.versionRaw, s.versionTag)
		case "run-as":
			s.RunAs = strings.TrimSpace(d.Str(p, "run-as", "run-as"))
		case "env":
			d.env(p)
		case "proxy":
			d.proxy(p)
		case "batch":
			d.batch(p)
		case "phases":
			d.phases(p)
		case "reports":
			d.reports(p)
		case "artifacts":
			d.artifacts(p)
		case "cache":
			d.cache(p)
		}
	}
	return s, d.diags
}

// canonicalVersion returns "0.1" or "0.2" for a version written as those
// numbers (0.2, 0.20, "0.2"), else the text as written.
func canonicalVersion(v, tag string) string {
	if tag != "!!float" && tag != "!!str" {
		return v
	}
	switch f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); {
	case err != nil:
	case f == 0.1:
		return Version01
	case f == 0.2:
		return Version02
	}
	return v
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

func (d *decoder) env(p pair) {
	d.record("env", p.Val, p.KeyNode)
	e := &d.spec.Env
	for _, kv := range d.mapping(p.Val, "env", "env", envKeys) {
		f := yamlwalk.JoinField("env", kv.Key)
		switch kv.Key {
		case "shell":
			e.Shell = strings.TrimSpace(d.Str(kv, f, "shell"))
		case "variables":
			e.Variables = d.vars(kv, f, "env variables", "variables: {GOFLAGS: -mod=mod}")
		case "parameter-store":
			e.ParameterStore = d.vars(kv, f, "parameter-store", "parameter-store: {DB_PASSWORD: /ci/db-password}")
		case "secrets-manager":
			for _, v := range d.vars(kv, f, "secrets-manager", "secrets-manager: {TOKEN: ci/token:key}") {
				e.SecretsManager = append(e.SecretsManager, parseSecretRef(v))
			}
		case "exported-variables":
			e.ExportedVariables = d.StrList(kv, f, "exported-variables", "exported-variables: [IMAGE_TAG]")
		case "git-credential-helper":
			e.GitCredentialHelper = d.boolean(kv, f, "git-credential-helper")
		}
	}
}

// parseSecretRef splits secret-id:json-key:version-stage:version-id. A
// secret id that is an ARN keeps its colons: the last three fields are
// taken from the right only when the reference is an ARN with more parts.
func parseSecretRef(v Var) SecretRef {
	r := SecretRef{Name: v.Name, Reference: v.Value}
	ref := strings.TrimSpace(v.Value)
	var parts []string
	if strings.HasPrefix(ref, "arn:") {
		all := strings.Split(ref, ":")
		// arn:partition:service:region:account:secret:name is 7 parts.
		if len(all) <= 7 {
			r.SecretID = ref
			return r
		}
		parts = append([]string{strings.Join(all[:7], ":")}, all[7:]...)
	} else {
		parts = strings.Split(ref, ":")
	}
	get := func(i int) string {
		if i < len(parts) {
			return parts[i]
		}
		return ""
	}
	r.SecretID, r.JSONKey, r.VersionStage, r.VersionID = get(0), get(1), get(2), get(3)
	return r
}

func (d *decoder) proxy(p pair) {
	d.record("proxy", p.Val, p.KeyNode)
	for _, kv := range d.mapping(p.Val, "proxy", "proxy", proxyKeys) {
		f := yamlwalk.JoinField("proxy", kv.Key)
		switch kv.Key {
		case "upload-artifacts":
			d.spec.Proxy.UploadArtifacts = d.boolean(kv, f, "upload-artifacts")
		case "logs":
			d.spec.Proxy.Logs = d.boolean(kv, f, "logs")
		}
	}
}

func (d *decoder) phases(p pair) {
	d.record("phases", p.Val, p.KeyNode)
	for _, kv := range d.mapping(p.Val, "phases", "phases", nil) {
		f := yamlwalk.JoinField("phases", kv.Key)
		d.record(f, kv.Val, kv.KeyNode)
		// Messages about a whole phase point at its name.
		d.spec.Positions[f] = Pos{Line: kv.KeyNode.Line, Column: kv.KeyNode.Column}
		if _, dup := d.spec.Phases[kv.Key]; !dup {
			d.spec.phaseOrder = append(d.spec.phaseOrder, kv.Key)
		}
		ph := &Phase{Name: kv.Key}
		d.spec.Phases[kv.Key] = ph
		if !contains(PhaseNames, kv.Key) {
			continue // reported by Validate; its contents are not read
		}
		for _, k := range d.mapping(kv.Val, f, "phase "+kv.Key, phaseKeys) {
			kf := yamlwalk.JoinField(f, k.Key)
			switch k.Key {
			case "run-as":
				ph.RunAs = strings.TrimSpace(d.Str(k, kf, "run-as"))
			case "on-failure":
				d.record(kf, k.Val, k.KeyNode)
				if v, _, ok := d.Scalar(k.Val, kf, "on-failure"); ok {
					ph.OnFailure = d.onFailure(k.Val, kf, v)
				}
			case "runtime-versions":
				ph.RuntimeVersions = d.vars(k, kf, "runtime-versions", "runtime-versions: {golang: 1.22}")
			case "commands":
				ph.Commands = d.commandList(k, kf)
			case "finally":
				ph.Finally = d.commandList(k, kf)
			}
		}
	}
}

// commandList decodes a list of commands. Every scalar is a command as
// written, whatever YAML would make of it (false, 0, 1.10); a block scalar
// is one command. Items YAML reads as mappings are the classic unquoted
// "echo a: b" and get an error saying to quote them.
func (d *decoder) commandList(p pair, field string) []string {
	d.record(field, p.Val, p.KeyNode)
	var out []string
	for i, item := range d.Sequence(p.Val, field, "commands", "a list like - make test") {
		f := yamlwalk.IndexField(field, i)
		d.record(f, item, nil)
		r := d.Resolve(item)
		switch {
		case r == nil:
			d.errorf(item, f, "the command is a broken alias; write the command out")
		case yamlwalk.IsNull(r) && r.Kind == yaml.ScalarNode && r.Value == "":
			d.errorf(item, f, "the command is empty; write a command after the dash or remove the item")
		case r.Kind == yaml.MappingNode:
			d.errorf(item, f, "this command is read by YAML as a mapping because it contains \": \"; quote it, e.g. - %s", quoteCommand(r))
		case r.Kind == yaml.SequenceNode:
			d.errorf(item, f, "a command must be a single line or block of text, not a list; write each command as its own item")
		default:
			out = append(out, r.Value)
			d.countCommand(item, f, r.Value)
			continue
		}
		out = append(out, "") // keeps indices aligned with the file; the spec is invalid anyway
	}
	return out
}

// quoteCommand rebuilds "key: value" of a one-pair mapping for the hint.
func quoteCommand(m *yaml.Node) string {
	if len(m.Content) == 2 && m.Content[0].Kind == yaml.ScalarNode && m.Content[1].Kind == yaml.ScalarNode {
		return fmt.Sprintf("%q", m.Content[0].Value+": "+m.Content[1].Value)
	}
	return `"echo key: value"`
}

// countCommand applies MaxCommands and MaxCommandBytes, reporting once.
func (d *decoder) countCommand(n *yaml.Node, field, cmd string) {
	d.commands++
	d.commandBytes += len(cmd)
	if d.tooMany || (d.commands <= MaxCommands && d.commandBytes <= MaxCommandBytes) {
		return
	}
	d.tooMany = true
	if d.commands > MaxCommands {
		d.errorf(n, field, "the buildspec has more than %d commands (aliases counted each time they are used); move them into scripts of the source", MaxCommands)
	} else {
		d.errorf(n, field, "the commands add up to more than %d bytes (1 MiB, aliases counted each time they are used); move them into scripts of the source", MaxCommandBytes)
	}
}

// onFailure decodes ABORT | CONTINUE | RETRY | RETRY-count | RETRY-regex |
// RETRY-count-regex. Lower case is accepted with a warning (by Validate);
// anything else is an error here.
func (d *decoder) onFailure(n *yaml.Node, field, v string) OnFailure {
	of := OnFailure{Text: v}
	up := strings.ToUpper(strings.TrimSpace(v))
	switch {
	case v == "" && yamlwalk.IsNull(d.Resolve(n)):
		return of
	case up == Abort || up == Continue:
		of.Action = up
		return of
	case up == Retry || strings.HasPrefix(up, Retry+"-"):
		of.Action, of.Retries, of.Pattern = Retry, DefaultRetries, DefaultRetryRe
		rest := strings.TrimSpace(v)[len(Retry):]
		if rest == "" {
			return of
		}
		rest = rest[1:]
		count, re, hasCount := splitRetry(rest)
		if hasCount {
			if count < 0 || count > MaxRetries {
				d.errorf(n, field, "on-failure %s retries %d times; the count must be 0 to %d, e.g. on-failure: RETRY-2", quote(v), count, MaxRetries)
				return OnFailure{Text: v}
			}
			of.Retries = count
		}
		if re != "" {
			of.Pattern = re
		}
		return of
	}
	d.errorf(n, field, "on-failure %s is not valid; write ABORT, CONTINUE, RETRY, RETRY-count, RETRY-regex or RETRY-count-regex%s", quote(v), didYouMean(up, []string{Abort, Continue, Retry}))
	return OnFailure{Text: v}
}

// splitRetry splits what follows "RETRY-": a count, a regex, or a count, a
// dash and a regex.
func splitRetry(s string) (count int, re string, hasCount bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' && i < 6 {
		count = count*10 + int(s[i]-'0')
		i++
	}
	if i == 0 {
		return 0, s, false
	}
	switch {
	case i == len(s):
		return count, "", true
	case s[i] == '-':
		return count, s[i+1:], true
	}
	return 0, s, false // "3abc": a regex that starts with digits
}

func (d *decoder) reports(p pair) {
	d.record("reports", p.Val, p.KeyNode)
	for _, kv := range d.mapping(p.Val, "reports", "reports", nil) {
		f := yamlwalk.JoinField("reports", kv.Key)
		d.record(f, kv.Val, kv.KeyNode)
		rep := Report{Group: kv.Key, FileFormat: ReportFormats[0]}
		for _, k := range d.mapping(kv.Val, f, "report group "+kv.Key, reportKeys) {
			kf := yamlwalk.JoinField(f, k.Key)
			switch k.Key {
			case "files":
				rep.Files = d.StrList(k, kf, "files", `files: ["**/*.xml"]`)
			case "base-directory":
				rep.BaseDirectory = strings.TrimSpace(d.Str(k, kf, "base-directory"))
			case "discard-paths":
				rep.DiscardPaths = d.boolean(k, kf, "discard-paths")
			case "file-format":
				if v := strings.TrimSpace(d.Str(k, kf, "file-format")); v != "" {
					rep.FileFormat = v
				}
			}
		}
		d.spec.Reports = append(d.spec.Reports, rep)
	}
}

func (d *decoder) artifacts(p pair) {
	d.record("artifacts", p.Val, p.KeyNode)
	a := &Artifacts{}
	d.spec.Artifacts = a
	for _, kv := range d.mapping(p.Val, "artifacts", "artifacts", artifactKeys) {
		if kv.Key == "secondary-artifacts" {
			f := "artifacts.secondary-artifacts"
			d.record(f, kv.Val, kv.KeyNode)
			for _, sec := range d.mapping(kv.Val, f, "secondary-artifacts", nil) {
				sf := yamlwalk.JoinField(f, sec.Key)
				d.record(sf, sec.Val, sec.KeyNode)
				art := Artifact{Identifier: sec.Key}
				for _, k := range d.mapping(sec.Val, sf, "secondary artifact "+sec.Key, secondaryKeys) {
					d.artifactKey(&art, k, yamlwalk.JoinField(sf, k.Key))
				}
				a.Secondary = append(a.Secondary, art)
			}
			continue
		}
		d.artifactKey(&a.Artifact, kv, yamlwalk.JoinField("artifacts", kv.Key))
	}
}

func (d *decoder) artifactKey(a *Artifact, k pair, field string) {
	switch k.Key {
	case "files":
		a.Files = d.StrList(k, field, "files", `files: ["**/*"]`)
	case "name":
		a.Name = strings.TrimSpace(d.Str(k, field, "name"))
	case "discard-paths":
		a.DiscardPaths = d.boolean(k, field, "discard-paths")
	case "base-directory":
		a.BaseDirectory = strings.TrimSpace(d.Str(k, field, "base-directory"))
	case "exclude-paths":
		a.ExcludePaths = d.strOrList(k, field, "exclude-paths")
	case "enable-symlinks":
		a.EnableSymlinks = d.boolean(k, field, "enable-symlinks")
	case "s3-prefix":
		a.S3Prefix = strings.TrimSpace(d.Str(k, field, "s3-prefix"))
	}
}

func (d *decoder) cache(p pair) {
	d.record("cache", p.Val, p.KeyNode)
	c := &Cache{}
	d.spec.Cache = c
	for _, kv := range d.mapping(p.Val, "cache", "cache", cacheKeys) {
		f := yamlwalk.JoinField("cache", kv.Key)
		switch kv.Key {
		case "key":
			c.Key = strings.TrimSpace(d.Str(kv, f, "key"))
		case "fallback-keys":
			c.FallbackKeys = d.StrList(kv, f, "fallback-keys", "fallback-keys: [npm-]")
		case "action":
			c.Action = strings.TrimSpace(d.Str(kv, f, "action"))
		case "paths":
			c.Paths = d.StrList(kv, f, "paths", `paths: ["/root/.m2/**/*"]`)
		}
	}
}

func (d *decoder) batch(p pair) {
	d.record("batch", p.Val, p.KeyNode)
	b := &Batch{}
	d.spec.Batch = b
	for _, kv := range d.mapping(p.Val, "batch", "batch", batchKeys) {
		f := yamlwalk.JoinField("batch", kv.Key)
		switch kv.Key {
		case "fast-fail":
			b.FastFail = d.boolean(kv, f, "fast-fail")
		case BuildList, BuildGraph:
			d.record(f, kv.Val, kv.KeyNode)
			if b.Kind == "" {
				b.Kind = kv.Key
			}
			for i, item := range d.Sequence(kv.Val, f, kv.Key, "a list of entries like - identifier: linux_small") {
				tf := yamlwalk.IndexField(f, i)
				d.record(tf, item, nil)
				t := d.task(item, tf)
				if b.Kind == kv.Key {
					b.Tasks = append(b.Tasks, t)
				}
			}
		case BuildMatrix:
			d.record(f, kv.Val, kv.KeyNode)
			if b.Kind == "" {
				b.Kind = kv.Key
			}
			m := d.matrix(kv.Val, f)
			if b.Kind == kv.Key {
				b.Matrix = m
			}
		case BuildFanout:
			d.record(f, kv.Val, kv.KeyNode)
			if b.Kind == "" {
				b.Kind = kv.Key
			}
		}
	}
}

func (d *decoder) task(item *yaml.Node, field string) Task {
	var t Task
	for _, k := range d.mapping(item, field, "a batch build", taskKeys) {
		f := yamlwalk.JoinField(field, k.Key)
		switch k.Key {
		case "identifier":
			t.Identifier = strings.TrimSpace(d.Str(k, f, "identifier"))
		case "buildspec":
			t.Buildspec = strings.TrimSpace(d.Str(k, f, "buildspec"))
		case "env":
			d.record(f, k.Val, k.KeyNode)
			t.Env = d.taskEnv(k.Val, f, taskEnvKeys)
		case "ignore-failure":
			t.IgnoreFailure = d.boolean(k, f, "ignore-failure")
		case "depend-on":
			t.DependOn = d.StrList(k, f, "depend-on", "depend-on: [linux_small]")
		case "debug-session":
			t.DebugSession = d.boolean(k, f, "debug-session")
		}
	}
	return t
}

func (d *decoder) taskEnv(n *yaml.Node, field string, known []string) TaskEnv {
	var e TaskEnv
	for _, k := range d.mapping(n, field, "env", known) {
		f := yamlwalk.JoinField(field, k.Key)
		switch k.Key {
		case "compute-type":
			e.ComputeType = d.Str(k, f, "compute-type")
		case "fleet":
			e.Fleet = d.Str(k, f, "fleet")
		case "image":
			e.Image = d.Str(k, f, "image")
		case "type":
			e.Type = d.Str(k, f, "type")
		case "privileged-mode":
			e.PrivilegedMode = d.boolean(k, f, "privileged-mode")
		case "variables":
			e.Variables = d.vars(k, f, "variables", "variables: {GOOS: linux}")
		}
	}
	return e
}

func (d *decoder) matrix(n *yaml.Node, field string) *Matrix {
	m := &Matrix{}
	for _, kv := range d.mapping(n, field, "build-matrix", matrixKeys) {
		f := yamlwalk.JoinField(field, kv.Key)
		d.record(f, kv.Val, kv.KeyNode)
		switch kv.Key {
		case "static":
			for _, k := range d.mapping(kv.Val, f, "static", staticKeys) {
				kf := yamlwalk.JoinField(f, k.Key)
				switch k.Key {
				case "ignore-failure":
					m.IgnoreFailure = d.boolean(k, kf, "ignore-failure")
				case "env":
					d.record(kf, k.Val, k.KeyNode)
					m.Static = d.taskEnv(k.Val, kf, taskEnvKeys)
				}
			}
		case "dynamic":
			for _, k := range d.mapping(kv.Val, f, "dynamic", dynamicKeys) {
				kf := yamlwalk.JoinField(f, k.Key)
				switch k.Key {
				case "buildspec":
					m.Buildspecs = d.strOrList(k, kf, "buildspec")
				case "env":
					d.record(kf, k.Val, k.KeyNode)
					d.dynamicEnv(m, k.Val, kf)
				}
			}
		}
	}
	return m
}

func (d *decoder) dynamicEnv(m *Matrix, n *yaml.Node, field string) {
	for _, k := range d.mapping(n, field, "dynamic env", dynEnvKeys) {
		f := yamlwalk.JoinField(field, k.Key)
		switch k.Key {
		case "compute-type":
			m.ComputeTypes = d.strOrList(k, f, "compute-type")
		case "fleet":
			m.Fleets = d.strOrList(k, f, "fleet")
		case "image":
			m.Images = d.strOrList(k, f, "image")
		case "variables":
			d.record(f, k.Val, k.KeyNode)
			for _, v := range d.mapping(k.Val, f, "variables", nil) {
				m.Variables = append(m.Variables, MatrixVar{Name: v.Key, Values: d.strOrList(v, yamlwalk.JoinField(f, v.Key), "the values of "+v.Key)})
			}
		}
	}
}

// vars decodes a mapping of names to scalar values, in file order. Values
// are taken as written; a null is the empty string.
func (d *decoder) vars(p pair, field, what, example string) []Var {
	d.record(field, p.Val, p.KeyNode)
	r := d.Resolve(p.Val)
	if r != nil && r.Kind == yaml.SequenceNode {
		d.errorf(p.Val, field, "%s must be a mapping of names to values, not a list; write it as %s", what, example)
		return nil
	}
	var out []Var
	for _, kv := range d.mapping(p.Val, field, what, nil) {
		f := yamlwalk.JoinField(field, kv.Key)
		v := d.Str(kv, f, "the value of "+kv.Key)
		out = append(out, Var{Name: kv.Key, Value: v})
	}
	return out
}

// strOrList decodes a scalar as a one-item list, or a list of scalars.
func (d *decoder) strOrList(p pair, field, what string) []string {
	r := d.Resolve(p.Val)
	if r != nil && r.Kind == yaml.ScalarNode {
		d.record(field, p.Val, p.KeyNode)
		if yamlwalk.IsNull(r) {
			return nil
		}
		return []string{r.Value}
	}
	return d.StrList(p, field, what, what+": [a, b]")
}

// boolean reads a boolean the way CodeBuild does: yes/no, true/false, on/off
// and y/n in any case, quoted or not.
func (d *decoder) boolean(p pair, field, what string) bool {
	d.record(field, p.Val, p.KeyNode)
	v, tag, ok := d.Scalar(p.Val, field, what)
	if !ok || tag == "!!null" {
		return false
	}
	val, isBool := map[string]bool{"true": true, "yes": true, "on": true, "y": true,
		"false": false, "no": false, "off": false, "n": false}[strings.ToLower(strings.TrimSpace(v))]
	if !isBool {
		d.errorf(p.Val, field, "%s must be yes or no, not %s; write %s: yes", what, quote(v), what)
	}
	return val
}

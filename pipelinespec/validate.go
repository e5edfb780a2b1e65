package pipelinespec

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/slipwayhq/slipway/internal/yamlwalk"
)

// validator checks the meaning of a decoded Pipeline and fills in its defaults. Fields the
// decoder already reported are not reported again.
type validator struct {
	d *decoder
	p *Pipeline
	// broken are the fields the decoder reported errors about: not checked again.
	broken map[string]bool
	// producers are the actions' output artifacts and namespaces, by name.
	artifacts   map[string]place
	namespaces  map[string]place
	declaredSet map[string]bool
}

// place is where an action runs: its stage's index and its runOrder; field is the action's.
type place struct {
	stage, runOrder int
	field           string
}

// before reports whether a runs strictly before b.
func (a place) before(b place) bool {
	return a.stage < b.stage || (a.stage == b.stage && a.runOrder < b.runOrder)
}

func newValidator(d *decoder, p *Pipeline) *validator {
	broken := make(map[string]bool, len(d.reported))
	for f := range d.reported {
		broken[f] = true
	}
	return &validator{d: d, p: p, broken: broken}
}

func (v *validator) errorf(field, format string, args ...any) {
	if v.broken[field] {
		return
	}
	v.d.errorf(nil, field, format, args...)
}

// keyErrorf is errorf positioned at the field's key.
func (v *validator) keyErrorf(field, format string, args ...any) {
	if v.broken[field] {
		return
	}
	v.d.errorf(v.d.keyNode(field), field, format, args...)
}

func (v *validator) warnf(field, format string, args ...any) {
	v.d.warnf(nil, field, format, args...)
}

// has reports whether field was written in the file.
func (v *validator) has(field string) bool {
	_, ok := v.d.positions[field]
	return ok
}

var (
	namePattern      = regexp.MustCompile(`^[A-Za-z0-9.@_-]+$`)
	artifactPattern  = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	namespacePattern = regexp.MustCompile(`^[A-Za-z0-9@_-]+$`)
)

// name checks a required name against pattern and a length.
func (v *validator) name(field, what, value string, pattern *regexp.Regexp, chars string, maxLen int) bool {
	switch {
	case value == "":
		v.errorf(field, "%s is required", what)
	case len(value) > maxLen:
		v.errorf(field, "%s %s is longer than %d characters", what, quote(value), maxLen)
	case !pattern.MatchString(value):
		v.errorf(field, "%s %s may hold only %s", what, quote(value), chars)
	default:
		return true
	}
	return false
}

const nameChars = "letters, digits, '.', '@', '_' and '-'"

// pipelineName checks the name of an update's file against the pipeline's.
func (v *validator) pipelineName(name string) {
	switch {
	case v.broken["name"]:
	case !v.has("name"):
		v.p.Name = name
	case v.p.Name != name:
		v.errorf("name", "the file defines pipeline %s, not %s; a pipeline cannot be renamed (create the new one and delete the old)", quote(v.p.Name), quote(name))
	}
}

func (v *validator) pipeline() {
	p := v.p
	v.name("name", "the pipeline's name", p.Name, namePattern, nameChars, MaxNameLen)
	switch p.PipelineType {
	case "", PipelineTypeV2:
	case "V1":
		v.warnf("pipelineType", "pipelineType V1 is read as V2 (triggers, variables and execution modes are V2's)")
	default:
		v.errorf("pipelineType", "pipelineType %s is not V2%s", quote(p.PipelineType), didYouMean(p.PipelineType, []string{"V2"}))
	}
	p.PipelineType = PipelineTypeV2
	modes := []string{"SUPERSEDED", "QUEUED", "PARALLEL"}
	switch {
	case p.ExecutionMode == "":
		p.ExecutionMode = DefaultExecutionMode
	case !contains(modes, p.ExecutionMode):
		v.errorf("executionMode", "executionMode %s is not SUPERSEDED, QUEUED or PARALLEL%s", quote(p.ExecutionMode), didYouMean(p.ExecutionMode, modes))
	}
	v.variables()
	v.stages()
	v.triggers()
}

func (v *validator) variables() {
	if len(v.p.Variables) > MaxVariables {
		v.errorf("variables", "the pipeline has %d variables, more than %d", len(v.p.Variables), MaxVariables)
		return
	}
	seen := map[string]bool{}
	for i, x := range v.p.Variables {
		f := yamlwalk.IndexField("variables", i)
		if v.name(f+".name", "a variable's name", x.Name, namespacePattern, "letters, digits, '@', '_' and '-'", 128) {
			if seen[x.Name] {
				v.errorf(f+".name", "variable %s is declared twice", quote(x.Name))
			}
			seen[x.Name] = true
		}
		if len(x.DefaultValue) > 1000 {
			v.errorf(f+".defaultValue", "the default value of %s is longer than 1000 characters", quote(x.Name))
		}
		if len(x.Description) > 200 {
			v.errorf(f+".description", "the description of %s is longer than 200 characters", quote(x.Name))
		}
	}
}

func (v *validator) stages() {
	p := v.p
	switch {
	case len(p.Stages) == 0 && !v.broken["stages"]:
		v.errorf("", "stages is required: a pipeline has at least two stages, the first with its Source actions")
		return
	case len(p.Stages) == 1:
		v.errorf("stages", "a pipeline has at least two stages: the first with its Source actions, then what they feed")
	case len(p.Stages) > MaxStages:
		v.errorf("stages", "the pipeline has %d stages, more than %d", len(p.Stages), MaxStages)
		return
	}
	v.artifacts, v.namespaces = map[string]place{}, map[string]place{}
	stageNames := map[string]bool{}
	// The first pass checks each stage and action and collects outputs and namespaces; the
	// second checks inputs and references against them.
	for i := range p.Stages {
		s := &p.Stages[i]
		f := yamlwalk.IndexField("stages", i)
		if v.broken[f] {
			continue
		}
		if v.name(f+".name", "a stage's name", s.Name, namePattern, nameChars, MaxNameLen) {
			if stageNames[s.Name] {
				v.errorf(f+".name", "stage %s is declared twice; stage names are unique", quote(s.Name))
			}
			stageNames[s.Name] = true
		}
		v.stage(i, s, f)
	}
	for i := range p.Stages {
		for j := range p.Stages[i].Actions {
			a := &p.Stages[i].Actions[j]
			f := yamlwalk.IndexField(yamlwalk.IndexField("stages", i)+".actions", j)
			v.inputs(a, f, place{i, a.RunOrder, f})
			v.references(a, f, place{i, a.RunOrder, f})
		}
	}
}

func (v *validator) stage(i int, s *Stage, field string) {
	switch {
	case len(s.Actions) == 0:
		v.errorf(field+".actions", "stage %s has no actions; give it at least one", quote(s.Name))
	case len(s.Actions) > MaxActions:
		v.errorf(field+".actions", "stage %s has %d actions, more than %d", quote(s.Name), len(s.Actions), MaxActions)
		s.Actions = nil // not checked further: the pipeline is refused
	}
	names := map[string]bool{}
	for j := range s.Actions {
		a := &s.Actions[j]
		f := yamlwalk.IndexField(field+".actions", j)
		if v.broken[f] {
			continue
		}
		if v.name(f+".name", "an action's name", a.Name, namePattern, nameChars, MaxNameLen) {
			if names[a.Name] {
				v.errorf(f+".name", "action %s is declared twice in stage %s; action names are unique in a stage", quote(a.Name), quote(s.Name))
			}
			names[a.Name] = true
		}
		v.action(i, a, f)
	}
	v.onFailure(i, s, field+".onFailure")
}

func (v *validator) onFailure(i int, s *Stage, field string) {
	c := s.OnFailure
	if c == nil {
		return
	}
	results := []string{ResultFail, ResultRetry, ResultRollback}
	switch {
	case c.Result == "":
		v.errorf(field, "onFailure needs a result: FAIL, RETRY or ROLLBACK")
	case !contains(results, c.Result):
		v.errorf(field+".result", "onFailure result %s is not FAIL, RETRY or ROLLBACK%s", quote(c.Result), didYouMean(c.Result, results))
	case c.Result == ResultRollback && i == 0:
		v.errorf(field+".result", "the first stage cannot roll back: it has no earlier artifacts to roll back to")
	}
	if c.RetryConfiguration == nil {
		return
	}
	if c.Result != ResultRetry && contains(results, c.Result) {
		v.warnf(field+".retryConfiguration", "retryConfiguration is ignored: the result is %s, not RETRY", c.Result)
	}
	modes := []string{"FAILED_ACTIONS", "ALL_ACTIONS"}
	if m := c.RetryConfiguration.RetryMode; m != "" && !contains(modes, m) {
		v.errorf(field+".retryConfiguration.retryMode", "retryMode %s is not FAILED_ACTIONS or ALL_ACTIONS%s", quote(m), didYouMean(m, modes))
	}
}

func (v *validator) action(stage int, a *Action, field string) {
	tf := field + ".actionTypeId"
	t := &a.ActionTypeID
	okCategory := false
	switch {
	case !v.has(tf):
		v.errorf(field, "action %s needs an actionTypeId: {category: Build, owner: AWS, provider: SlipwayBuild, version: \"1\"}", quote(a.Name))
	case t.Category == "":
		v.errorf(tf, "actionTypeId needs a category: Source, Build, Test, Deploy, Approval or Invoke")
	case !contains(categories, t.Category):
		v.errorf(tf+".category", "category %s is not Source, Build, Test, Deploy, Approval or Invoke%s", quote(t.Category), didYouMean(t.Category, categories))
	default:
		okCategory = true
	}
	spec, okProvider := v.provider(a, tf, okCategory)
	if okCategory {
		switch {
		case stage == 0 && t.Category != CategorySource:
			v.errorf(tf+".category", "the first stage holds only Source actions; move %s action %s to a later stage", t.Category, quote(a.Name))
		case stage > 0 && t.Category == CategorySource:
			v.errorf(tf+".category", "Source actions belong in the first stage only; move %s there", quote(a.Name))
		}
	}
	if v.has(field+".runOrder") && (a.RunOrder < 1 || a.RunOrder > MaxRunOrder) {
		v.errorf(field+".runOrder", "runOrder %d is not 1 to %d", a.RunOrder, MaxRunOrder)
	}
	if v.has(field+".timeoutInMinutes") && (a.TimeoutInMinutes < 1 || a.TimeoutInMinutes > MaxTimeoutMinutes) {
		v.errorf(field+".timeoutInMinutes", "timeoutInMinutes %d is not 1 to %d", a.TimeoutInMinutes, MaxTimeoutMinutes)
	}
	if a.Namespace != "" || v.has(field+".namespace") {
		v.namespace(a, field, place{stage, a.RunOrder, field})
	}
	v.outputs(a, field, place{stage, a.RunOrder, field})
	if okProvider {
		v.configuration(a, field, spec)
		v.artifactCounts(a, field, spec)
		v.commands(a, field)
	}
}

// provider normalizes the provider and checks it against the category.
func (v *validator) provider(a *Action, tf string, okCategory bool) (providerSpec, bool) {
	t := &a.ActionTypeID
	if !v.has(tf) {
		return providerSpec{}, false
	}
	if t.Provider == "" {
		v.errorf(tf, "actionTypeId needs a provider: %s", strings.Join(providerNames[:5], ", "))
		return providerSpec{}, false
	}
	name, ok := NormalizeProvider(t.Provider)
	if !ok {
		v.errorf(tf+".provider", "unknown provider %s; the providers are %s (and AWS's CodeCommit, CodeBuild, CodeDeploy)%s", quote(t.Provider), strings.Join(providerNames[:5], ", "), didYouMean(t.Provider, providerNames))
		return providerSpec{}, false
	}
	t.Provider = name
	spec := builtins[name]
	if okCategory && !contains(spec.categories, t.Category) {
		v.errorf(tf+".provider", "provider %s is not a %s provider; %s actions use %s", name, t.Category, t.Category, strings.Join(providersOf(t.Category), " or "))
		return spec, false
	}
	return spec, okCategory
}

func (v *validator) namespace(a *Action, field string, at place) {
	f := field + ".namespace"
	if !v.name(f, "a namespace", a.Namespace, namespacePattern, "letters, digits, '@', '_' and '-'", MaxNameLen) {
		return
	}
	if a.Namespace == VariablesNamespace {
		v.errorf(f, "namespace %s is the pipeline's variables' own; choose another", quote(a.Namespace))
		return
	}
	if prev, dup := v.namespaces[a.Namespace]; dup {
		v.errorf(f, "namespace %s is also the namespace of %s; namespaces are unique", quote(a.Namespace), v.actionAt(prev.field))
		return
	}
	v.namespaces[a.Namespace] = at
}

func (v *validator) outputs(a *Action, field string, at place) {
	for k, o := range a.OutputArtifacts {
		f := yamlwalk.IndexField(field+".outputArtifacts", k) + ".name"
		if !v.name(f, "an artifact's name", o.Name, artifactPattern, "letters, digits, '_' and '-'", MaxNameLen) {
			continue
		}
		if prev, dup := v.artifacts[o.Name]; dup {
			v.errorf(f, "artifact %s is also an output of %s; output artifact names are unique", quote(o.Name), v.actionAt(prev.field))
			continue
		}
		v.artifacts[o.Name] = at
	}
}

func (v *validator) inputs(a *Action, field string, at place) {
	seen := map[string]bool{}
	for k, in := range a.InputArtifacts {
		f := yamlwalk.IndexField(field+".inputArtifacts", k) + ".name"
		if !v.name(f, "an artifact's name", in.Name, artifactPattern, "letters, digits, '_' and '-'", MaxNameLen) {
			continue
		}
		if seen[in.Name] {
			v.errorf(f, "artifact %s is an input twice", quote(in.Name))
			continue
		}
		seen[in.Name] = true
		prod, ok := v.artifacts[in.Name]
		switch {
		case !ok:
			v.errorf(f, "no action produces artifact %s%s", quote(in.Name), didYouMean(in.Name, keys(v.artifacts)))
		case prod.field == field:
			v.errorf(f, "artifact %s is this action's own output: a cycle", quote(in.Name))
		case !prod.before(at):
			v.errorf(f, "artifact %s comes from %s, which runs at the same time or later (a cycle); give it a lower runOrder or an earlier stage", quote(in.Name), v.actionAt(prod.field))
		}
	}
}

// actionAt names the action whose field is given, e.g. "action \"Build\" of stage \"Build\"".
func (v *validator) actionAt(field string) string {
	var i, j int
	if _, err := fmt.Sscanf(field, "stages[%d].actions[%d]", &i, &j); err != nil || i >= len(v.p.Stages) || j >= len(v.p.Stages[i].Actions) {
		return "another action"
	}
	return fmt.Sprintf("action %s of stage %s", quote(v.p.Stages[i].Actions[j].Name), quote(v.p.Stages[i].Name))
}

func (v *validator) artifactCounts(a *Action, field string, spec providerSpec) {
	what := a.ActionTypeID.Provider + " actions"
	in, out := len(a.InputArtifacts), len(a.OutputArtifacts)
	switch {
	case in < spec.minIn && spec.minIn == spec.maxIn:
		v.errorf(field, "%s take exactly %d input artifact; add inputArtifacts: [{name: ...}]", what, spec.minIn)
	case in < spec.minIn:
		v.errorf(field, "%s take at least %d input artifact (the first is the source); add inputArtifacts: [{name: ...}]", what, spec.minIn)
	case in > spec.maxIn && spec.maxIn == 0:
		v.errorf(field+".inputArtifacts", "%s take no input artifacts", what)
	case in > spec.maxIn && spec.minIn == spec.maxIn:
		v.errorf(field+".inputArtifacts", "%s take exactly %d input artifact, not %d", what, spec.maxIn, in)
	case in > spec.maxIn:
		v.errorf(field+".inputArtifacts", "%s take at most %d input artifacts, not %d", what, spec.maxIn, in)
	}
	switch {
	case out < spec.minOut:
		v.errorf(field, "%s produce exactly %d output artifact; add outputArtifacts: [{name: SourceArtifact}]", what, spec.minOut)
	case out > spec.maxOut && spec.maxOut == 0:
		v.errorf(field+".outputArtifacts", "%s produce no output artifacts", what)
	case out > spec.maxOut:
		v.errorf(field+".outputArtifacts", "%s produce at most %d output artifact, not %d", what, spec.maxOut, out)
	}
}

func (v *validator) commands(a *Action, field string) {
	f := field + ".commands"
	isCommand := a.ActionTypeID.Provider == ProviderCommand
	_, hasConfig := a.Configuration[ConfigCommand]
	switch {
	case !isCommand && v.has(f):
		v.errorf(f, "commands are for Command (Invoke) actions, not %s", a.ActionTypeID.Provider)
	case !isCommand:
	case len(a.Commands) == 0 && !hasConfig:
		v.errorf(field, "a Command action runs commands: give it commands: [...] or configuration Command")
	case len(a.Commands) > 0 && hasConfig:
		v.errorf(f, "give commands or configuration Command, not both")
	case len(a.Commands) > MaxCommands:
		v.errorf(f, "the action has %d commands, more than %d; move them into a script", len(a.Commands), MaxCommands)
	}
	for k, c := range a.Commands {
		if strings.TrimSpace(c) == "" {
			v.errorf(yamlwalk.IndexField(f, k), "the command is empty")
		}
	}
}

func keys(m map[string]place) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

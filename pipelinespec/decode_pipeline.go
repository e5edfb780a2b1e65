package pipelinespec

import (
	"encoding/json"

	"github.com/slipwayhq/slipway/internal/yamlwalk"
	"gopkg.in/yaml.v3"
)

// Keys known at each level of a definition, and AWS's keys that mean nothing here (accepted,
// each named in one warning).
var (
	wrapperKeys       = []string{"pipeline"}
	wrapperIgnored    = []string{"metadata", "tags"}
	pipelineKeys      = []string{"name", "pipelineType", "executionMode", "variables", "triggers", "stages"}
	pipelineIgnored   = []string{"roleArn", "artifactStore", "artifactStores", "version", "disableInboundStageTransitions"}
	variableKeys      = []string{"name", "defaultValue", "description"}
	stageKeys         = []string{"name", "actions", "onFailure"}
	stageIgnored      = []string{"blockers", "beforeEntry", "onSuccess"}
	conditionKeys     = []string{"result", "retryConfiguration"}
	conditionIgnored  = []string{"conditions"}
	retryKeys         = []string{"retryMode"}
	actionKeys        = []string{"name", "actionTypeId", "runOrder", "configuration", "commands", "inputArtifacts", "outputArtifacts", "namespace", "timeoutInMinutes"}
	actionIgnored     = []string{"roleArn", "region", "outputVariables", "environmentVariables"}
	actionTypeKeys    = []string{"category", "owner", "provider", "version"}
	artifactKeys      = []string{"name"}
	artifactIgnored   = []string{"files"}
	triggerKeys       = []string{"providerType", "gitConfiguration"}
	gitKeys           = []string{"sourceActionName", "push", "pullRequest"}
	pushKeys          = []string{"branches", "tags", "filePaths"}
	pullRequestKeys   = []string{"events", "branches", "filePaths"}
	filterKeys        = []string{"includes", "excludes"}
	configJSONAllowed = []string{ConfigEnvironmentVariables}
)

func (d *decoder) pipeline(n *yaml.Node) *Pipeline {
	p := &Pipeline{}
	for _, kv := range d.mapping(n, "", "the pipeline", pipelineKeys, pipelineIgnored) {
		f := kv.Key
		switch kv.Key {
		case "name":
			p.Name = d.Str(kv, f, "name")
		case "pipelineType":
			p.PipelineType = d.Str(kv, f, "pipelineType")
		case "executionMode":
			p.ExecutionMode = d.Str(kv, f, "executionMode")
		case "variables":
			d.record(f, kv.Val, kv.KeyNode)
			for i, item := range d.Sequence(kv.Val, f, "variables", "- name: ENV") {
				p.Variables = append(p.Variables, d.variable(item, yamlwalk.IndexField(f, i)))
			}
		case "triggers":
			d.record(f, kv.Val, kv.KeyNode)
			items := d.Sequence(kv.Val, f, "triggers", "- gitConfiguration: {sourceActionName: Source, push: [...]}")
			p.Triggers = []Trigger{} // present, even when empty
			for i, item := range items {
				p.Triggers = append(p.Triggers, d.trigger(item, yamlwalk.IndexField(f, i)))
			}
		case "stages":
			d.record(f, kv.Val, kv.KeyNode)
			for i, item := range d.Sequence(kv.Val, f, "stages", "- name: Source") {
				p.Stages = append(p.Stages, d.stage(item, yamlwalk.IndexField(f, i)))
			}
		}
	}
	return p
}

func (d *decoder) variable(n *yaml.Node, field string) Variable {
	d.record(field, n, nil)
	var v Variable
	for _, kv := range d.mapping(n, field, "a variable", variableKeys, nil) {
		f := yamlwalk.JoinField(field, kv.Key)
		switch kv.Key {
		case "name":
			v.Name = d.Str(kv, f, "name")
		case "defaultValue":
			v.DefaultValue = d.Str(kv, f, "defaultValue")
		case "description":
			v.Description = d.Str(kv, f, "description")
		}
	}
	return v
}

func (d *decoder) stage(n *yaml.Node, field string) Stage {
	d.record(field, n, nil)
	var s Stage
	for _, kv := range d.mapping(n, field, "a stage", stageKeys, stageIgnored) {
		f := yamlwalk.JoinField(field, kv.Key)
		switch kv.Key {
		case "name":
			s.Name = d.Str(kv, f, "name")
		case "actions":
			d.record(f, kv.Val, kv.KeyNode)
			for i, item := range d.Sequence(kv.Val, f, "actions", "- name: Build") {
				s.Actions = append(s.Actions, d.action(item, yamlwalk.IndexField(f, i)))
			}
		case "onFailure":
			d.record(f, kv.Val, kv.KeyNode)
			s.OnFailure = d.condition(kv.Val, f)
		}
	}
	return s
}

func (d *decoder) condition(n *yaml.Node, field string) *Condition {
	if yamlwalk.IsNull(d.Resolve(n)) {
		return nil
	}
	c := &Condition{}
	for _, kv := range d.mapping(n, field, "onFailure", conditionKeys, conditionIgnored) {
		f := yamlwalk.JoinField(field, kv.Key)
		switch kv.Key {
		case "result":
			c.Result = d.Str(kv, f, "result")
		case "retryConfiguration":
			d.record(f, kv.Val, kv.KeyNode)
			if yamlwalk.IsNull(d.Resolve(kv.Val)) {
				continue
			}
			c.RetryConfiguration = &RetryConfig{}
			for _, rm := range d.mapping(kv.Val, f, "retryConfiguration", retryKeys, nil) {
				c.RetryConfiguration.RetryMode = d.Str(rm, yamlwalk.JoinField(f, rm.Key), "retryMode")
			}
		}
	}
	return c
}

func (d *decoder) action(n *yaml.Node, field string) Action {
	d.record(field, n, nil)
	a := Action{RunOrder: 1}
	for _, kv := range d.mapping(n, field, "an action", actionKeys, actionIgnored) {
		f := yamlwalk.JoinField(field, kv.Key)
		switch kv.Key {
		case "name":
			a.Name = d.Str(kv, f, "name")
		case "actionTypeId":
			d.record(f, kv.Val, kv.KeyNode)
			for _, t := range d.mapping(kv.Val, f, "actionTypeId", actionTypeKeys, nil) {
				tf := yamlwalk.JoinField(f, t.Key)
				switch t.Key {
				case "category":
					a.ActionTypeID.Category = d.Str(t, tf, "category")
				case "owner":
					a.ActionTypeID.Owner = d.Str(t, tf, "owner")
				case "provider":
					a.ActionTypeID.Provider = d.Str(t, tf, "provider")
				case "version":
					a.ActionTypeID.Version = d.Str(t, tf, "version")
				}
			}
		case "runOrder":
			if v, ok := d.integer(kv, f, "runOrder"); ok {
				a.RunOrder = v
			} else {
				a.RunOrder = 0
			}
		case "timeoutInMinutes":
			if v, ok := d.integer(kv, f, "timeoutInMinutes"); ok {
				a.TimeoutInMinutes = v
			}
		case "configuration":
			a.Configuration = d.configuration(kv, f)
		case "commands":
			a.Commands = d.StrList(kv, f, "commands", "commands: [make test]")
		case "inputArtifacts":
			a.InputArtifacts = d.artifacts(kv, f, "inputArtifacts")
		case "outputArtifacts":
			a.OutputArtifacts = d.artifacts(kv, f, "outputArtifacts")
		case "namespace":
			a.Namespace = d.Str(kv, f, "namespace")
		}
	}
	return a
}

// configuration decodes an action's configuration: every value is a string, a YAML number or
// boolean taken as written. EnvironmentVariables may also be written as a YAML list; it is
// stored as AWS writes it, a JSON string.
func (d *decoder) configuration(p pair, field string) map[string]string {
	d.record(field, p.Val, p.KeyNode)
	var out map[string]string
	for _, kv := range d.mapping(p.Val, field, "configuration", nil, nil) {
		f := yamlwalk.JoinField(field, kv.Key)
		d.record(f, kv.Val, kv.KeyNode)
		if out == nil {
			out = map[string]string{}
		}
		if r := d.Resolve(kv.Val); contains(configJSONAllowed, kv.Key) && r != nil && (r.Kind == yaml.SequenceNode || r.Kind == yaml.MappingNode) {
			out[kv.Key] = d.asJSON(r, f)
			continue
		}
		out[kv.Key] = d.Str(kv, f, "the value of "+kv.Key)
	}
	return out
}

// asJSON encodes a YAML value as JSON text, its scalars as strings (AWS's values are strings);
// "" with an error when it cannot be.
func (d *decoder) asJSON(n *yaml.Node, field string) string {
	if b, err := json.Marshal(d.plain(n, 0)); err == nil {
		return string(b)
	}
	d.errorf(n, field, "this value cannot be written as JSON; write it as a JSON string")
	return ""
}

// plain turns a YAML value into maps, lists and strings (null: nil).
func (d *decoder) plain(n *yaml.Node, depth int) any {
	r := d.Resolve(n)
	if yamlwalk.IsNull(r) || depth > MaxNesting || !d.Budget(r, 1) {
		return nil
	}
	switch r.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for _, p := range d.Collect(r, "") {
			m[p.Key] = d.plain(p.Val, depth+1)
		}
		return m
	case yaml.SequenceNode:
		l := []any{}
		for _, c := range r.Content {
			l = append(l, d.plain(c, depth+1))
		}
		return l
	}
	return r.Value
}

func (d *decoder) artifacts(p pair, field, what string) []ArtifactRef {
	d.record(field, p.Val, p.KeyNode)
	out := []ArtifactRef{}
	for i, item := range d.Sequence(p.Val, field, what, what+": [{name: SourceArtifact}]") {
		f := yamlwalk.IndexField(field, i)
		d.record(f, item, nil)
		var a ArtifactRef
		for _, kv := range d.mapping(item, f, "an artifact", artifactKeys, artifactIgnored) {
			a.Name = d.Str(kv, yamlwalk.JoinField(f, kv.Key), "name")
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (d *decoder) trigger(n *yaml.Node, field string) Trigger {
	d.record(field, n, nil)
	var t Trigger
	for _, kv := range d.mapping(n, field, "a trigger", triggerKeys, nil) {
		f := yamlwalk.JoinField(field, kv.Key)
		switch kv.Key {
		case "providerType":
			t.ProviderType = d.Str(kv, f, "providerType")
		case "gitConfiguration":
			d.record(f, kv.Val, kv.KeyNode)
			for _, g := range d.mapping(kv.Val, f, "gitConfiguration", gitKeys, nil) {
				gf := yamlwalk.JoinField(f, g.Key)
				switch g.Key {
				case "sourceActionName":
					t.GitConfiguration.SourceActionName = d.Str(g, gf, "sourceActionName")
				case "push":
					d.record(gf, g.Val, g.KeyNode)
					for i, item := range d.Sequence(g.Val, gf, "push", "- branches: {includes: [main]}") {
						t.GitConfiguration.Push = append(t.GitConfiguration.Push, d.pushFilter(item, yamlwalk.IndexField(gf, i)))
					}
				case "pullRequest":
					d.record(gf, g.Val, g.KeyNode)
					for i, item := range d.Sequence(g.Val, gf, "pullRequest", "- branches: {includes: [main]}") {
						t.GitConfiguration.PullRequest = append(t.GitConfiguration.PullRequest, d.pullRequestFilter(item, yamlwalk.IndexField(gf, i)))
					}
				}
			}
		}
	}
	return t
}

func (d *decoder) pushFilter(n *yaml.Node, field string) PushFilter {
	d.record(field, n, nil)
	var pf PushFilter
	for _, kv := range d.mapping(n, field, "a push filter", pushKeys, nil) {
		f := yamlwalk.JoinField(field, kv.Key)
		switch kv.Key {
		case "branches":
			pf.Branches = d.filter(kv, f)
		case "tags":
			pf.Tags = d.filter(kv, f)
		case "filePaths":
			pf.FilePaths = d.filter(kv, f)
		}
	}
	return pf
}

func (d *decoder) pullRequestFilter(n *yaml.Node, field string) PullRequestFilter {
	d.record(field, n, nil)
	var pf PullRequestFilter
	for _, kv := range d.mapping(n, field, "a pull request filter", pullRequestKeys, nil) {
		f := yamlwalk.JoinField(field, kv.Key)
		switch kv.Key {
		case "events":
			pf.Events = d.StrList(kv, f, "events", "events: [OPEN, UPDATED]")
		case "branches":
			pf.Branches = d.filter(kv, f)
		case "filePaths":
			pf.FilePaths = d.filter(kv, f)
		}
	}
	return pf
}

// filter decodes includes and excludes; an absent or null filter is nil, a present one is
// never nil (so that validation can say it is empty).
func (d *decoder) filter(p pair, field string) *Filter {
	d.record(field, p.Val, p.KeyNode)
	if yamlwalk.IsNull(d.Resolve(p.Val)) {
		return nil
	}
	f := &Filter{}
	for _, kv := range d.mapping(p.Val, field, "a filter", filterKeys, nil) {
		kf := yamlwalk.JoinField(field, kv.Key)
		switch kv.Key {
		case "includes":
			f.Includes = d.StrList(kv, kf, "includes", `includes: ["main"]`)
		case "excludes":
			f.Excludes = d.StrList(kv, kf, "excludes", `excludes: ["docs/**"]`)
		}
	}
	return f
}

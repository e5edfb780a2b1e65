package pipelinespec

import (
	"encoding/json"

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
		f := kv.key
		switch kv.key {
		case "name":
			p.Name = d.str(kv, f, "name")
		case "pipelineType":
			p.PipelineType = d.str(kv, f, "pipelineType")
		case "executionMode":
			p.ExecutionMode = d.str(kv, f, "executionMode")
		case "variables":
			d.record(f, kv.val, kv.keyNode)
			for i, item := range d.sequence(kv.val, f, "variables", "- name: ENV") {
				p.Variables = append(p.Variables, d.variable(item, indexField(f, i)))
			}
		case "triggers":
			d.record(f, kv.val, kv.keyNode)
			items := d.sequence(kv.val, f, "triggers", "- gitConfiguration: {sourceActionName: Source, push: [...]}")
			p.Triggers = []Trigger{} // present, even when empty
			for i, item := range items {
				p.Triggers = append(p.Triggers, d.trigger(item, indexField(f, i)))
			}
		case "stages":
			d.record(f, kv.val, kv.keyNode)
			for i, item := range d.sequence(kv.val, f, "stages", "- name: Source") {
				p.Stages = append(p.Stages, d.stage(item, indexField(f, i)))
			}
		}
	}
	return p
}

func (d *decoder) variable(n *yaml.Node, field string) Variable {
	d.record(field, n, nil)
	var v Variable
	for _, kv := range d.mapping(n, field, "a variable", variableKeys, nil) {
		f := joinField(field, kv.key)
		switch kv.key {
		case "name":
			v.Name = d.str(kv, f, "name")
		case "defaultValue":
			v.DefaultValue = d.str(kv, f, "defaultValue")
		case "description":
			v.Description = d.str(kv, f, "description")
		}
	}
	return v
}

func (d *decoder) stage(n *yaml.Node, field string) Stage {
	d.record(field, n, nil)
	var s Stage
	for _, kv := range d.mapping(n, field, "a stage", stageKeys, stageIgnored) {
		f := joinField(field, kv.key)
		switch kv.key {
		case "name":
			s.Name = d.str(kv, f, "name")
		case "actions":
			d.record(f, kv.val, kv.keyNode)
			for i, item := range d.sequence(kv.val, f, "actions", "- name: Build") {
				s.Actions = append(s.Actions, d.action(item, indexField(f, i)))
			}
		case "onFailure":
			d.record(f, kv.val, kv.keyNode)
			s.OnFailure = d.condition(kv.val, f)
		}
	}
	return s
}

func (d *decoder) condition(n *yaml.Node, field string) *Condition {
	if isNull(d.resolve(n)) {
		return nil
	}
	c := &Condition{}
	for _, kv := range d.mapping(n, field, "onFailure", conditionKeys, conditionIgnored) {
		f := joinField(field, kv.key)
		switch kv.key {
		case "result":
			c.Result = d.str(kv, f, "result")
		case "retryConfiguration":
			d.record(f, kv.val, kv.keyNode)
			if isNull(d.resolve(kv.val)) {
				continue
			}
			c.RetryConfiguration = &RetryConfig{}
			for _, rm := range d.mapping(kv.val, f, "retryConfiguration", retryKeys, nil) {
				c.RetryConfiguration.RetryMode = d.str(rm, joinField(f, rm.key), "retryMode")
			}
		}
	}
	return c
}

func (d *decoder) action(n *yaml.Node, field string) Action {
	d.record(field, n, nil)
	a := Action{RunOrder: 1}
	for _, kv := range d.mapping(n, field, "an action", actionKeys, actionIgnored) {
		f := joinField(field, kv.key)
		switch kv.key {
		case "name":
			a.Name = d.str(kv, f, "name")
		case "actionTypeId":
			d.record(f, kv.val, kv.keyNode)
			for _, t := range d.mapping(kv.val, f, "actionTypeId", actionTypeKeys, nil) {
				tf := joinField(f, t.key)
				switch t.key {
				case "category":
					a.ActionTypeID.Category = d.str(t, tf, "category")
				case "owner":
					a.ActionTypeID.Owner = d.str(t, tf, "owner")
				case "provider":
					a.ActionTypeID.Provider = d.str(t, tf, "provider")
				case "version":
					a.ActionTypeID.Version = d.str(t, tf, "version")
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
			a.Commands = d.strList(kv, f, "commands", "commands: [make test]")
		case "inputArtifacts":
			a.InputArtifacts = d.artifacts(kv, f, "inputArtifacts")
		case "outputArtifacts":
			a.OutputArtifacts = d.artifacts(kv, f, "outputArtifacts")
		case "namespace":
			a.Namespace = d.str(kv, f, "namespace")
		}
	}
	return a
}

// configuration decodes an action's configuration: every value is a string, a YAML number or
// boolean taken as written. EnvironmentVariables may also be written as a YAML list; it is
// stored as AWS writes it, a JSON string.
func (d *decoder) configuration(p pair, field string) map[string]string {
	d.record(field, p.val, p.keyNode)
	var out map[string]string
	for _, kv := range d.mapping(p.val, field, "configuration", nil, nil) {
		f := joinField(field, kv.key)
		d.record(f, kv.val, kv.keyNode)
		if out == nil {
			out = map[string]string{}
		}
		if r := d.resolve(kv.val); contains(configJSONAllowed, kv.key) && r != nil && (r.Kind == yaml.SequenceNode || r.Kind == yaml.MappingNode) {
			out[kv.key] = d.asJSON(r, f)
			continue
		}
		out[kv.key] = d.str(kv, f, "the value of "+kv.key)
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
	r := d.resolve(n)
	if isNull(r) || depth > MaxNesting || !d.budget(r, 1) {
		return nil
	}
	switch r.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for _, p := range d.collect(r, "", 0) {
			m[p.key] = d.plain(p.val, depth+1)
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
	d.record(field, p.val, p.keyNode)
	out := []ArtifactRef{}
	for i, item := range d.sequence(p.val, field, what, what+": [{name: SourceArtifact}]") {
		f := indexField(field, i)
		d.record(f, item, nil)
		var a ArtifactRef
		for _, kv := range d.mapping(item, f, "an artifact", artifactKeys, artifactIgnored) {
			a.Name = d.str(kv, joinField(f, kv.key), "name")
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
		f := joinField(field, kv.key)
		switch kv.key {
		case "providerType":
			t.ProviderType = d.str(kv, f, "providerType")
		case "gitConfiguration":
			d.record(f, kv.val, kv.keyNode)
			for _, g := range d.mapping(kv.val, f, "gitConfiguration", gitKeys, nil) {
				gf := joinField(f, g.key)
				switch g.key {
				case "sourceActionName":
					t.GitConfiguration.SourceActionName = d.str(g, gf, "sourceActionName")
				case "push":
					d.record(gf, g.val, g.keyNode)
					for i, item := range d.sequence(g.val, gf, "push", "- branches: {includes: [main]}") {
						t.GitConfiguration.Push = append(t.GitConfiguration.Push, d.pushFilter(item, indexField(gf, i)))
					}
				case "pullRequest":
					d.record(gf, g.val, g.keyNode)
					for i, item := range d.sequence(g.val, gf, "pullRequest", "- branches: {includes: [main]}") {
						t.GitConfiguration.PullRequest = append(t.GitConfiguration.PullRequest, d.pullRequestFilter(item, indexField(gf, i)))
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
		f := joinField(field, kv.key)
		switch kv.key {
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
		f := joinField(field, kv.key)
		switch kv.key {
		case "events":
			pf.Events = d.strList(kv, f, "events", "events: [OPEN, UPDATED]")
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
	d.record(field, p.val, p.keyNode)
	if isNull(d.resolve(p.val)) {
		return nil
	}
	f := &Filter{}
	for _, kv := range d.mapping(p.val, field, "a filter", filterKeys, nil) {
		kf := joinField(field, kv.key)
		switch kv.key {
		case "includes":
			f.Includes = d.strList(kv, kf, "includes", `includes: ["main"]`)
		case "excludes":
			f.Excludes = d.strList(kv, kf, "excludes", `excludes: ["docs/**"]`)
		}
	}
	return f
}

package pipelinespec

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/slipwayhq/slipway/internal/yamlwalk"
)

// configuration checks an action's configuration against its provider: required keys, unknown
// keys (errors with a did-you-mean), AWS's keys that mean nothing here (warnings), and the
// values the package can check without the cluster.
func (v *validator) configuration(a *Action, field string, spec providerSpec) {
	f := field + ".configuration"
	for _, k := range spec.required {
		val, ok := a.Configuration[k]
		switch {
		case !ok && v.has(f):
			v.errorf(f, "%s actions need configuration %s", a.ActionTypeID.Provider, k)
		case !ok:
			v.errorf(field, "%s actions need configuration %s", a.ActionTypeID.Provider, k)
		case strings.TrimSpace(val) == "":
			v.errorf(f+"."+k, "configuration %s is empty", k)
		}
	}
	known := append(append([]string{}, spec.required...), spec.optional...)
	for _, k := range sortedKeys(a.Configuration) {
		kf := f + "." + k
		val := a.Configuration[k]
		switch {
		case contains(spec.ignored, k):
			v.d.ignore(k, kf, nil)
			continue
		case !contains(known, k):
			v.keyErrorf(kf, "%s actions have no configuration %s (they take %s)%s", a.ActionTypeID.Provider, quote(k), strings.Join(known, ", "), didYouMean(k, known))
			continue
		case contains(spec.literal, k) && strings.Contains(val, "#{"):
			v.errorf(kf, "configuration %s of a source action cannot hold #{...} references: triggers match it as written", k)
			continue
		}
		switch k {
		case ConfigDetectChanges:
			if l := strings.ToLower(strings.TrimSpace(val)); l != "true" && l != "false" {
				v.errorf(kf, "DetectChanges is true or false, not %s", quote(val))
			}
		case ConfigEnvironmentVariables:
			v.environment(kf, val)
		case ConfigLabels:
			v.labels(kf, val)
		case ConfigCommand:
			if strings.TrimSpace(val) == "" {
				v.errorf(kf, "configuration Command is empty")
			}
		}
	}
}

// environment checks EnvironmentVariables: AWS's JSON list of {name, value, type}.
func (v *validator) environment(field, val string) {
	var vars []struct {
		Name  *string `json:"name"`
		Value *string `json:"value"`
		Type  string  `json:"type"`
	}
	if strings.Contains(val, "#{") {
		// references may stand for whole values; the list is checked when the action starts
		if err := json.Unmarshal([]byte(val), &vars); err != nil {
			return
		}
	} else if err := json.Unmarshal([]byte(val), &vars); err != nil {
		v.errorf(field, `EnvironmentVariables is a JSON list like [{"name":"STAGE","value":"prod","type":"PLAINTEXT"}]: %v`, err)
		return
	}
	types := []string{"PLAINTEXT", "PARAMETER_STORE", "SECRETS_MANAGER"}
	for _, e := range vars {
		switch {
		case e.Name == nil || *e.Name == "":
			v.errorf(field, "each of EnvironmentVariables needs a name")
			return
		case e.Value == nil:
			v.errorf(field, "environment variable %s needs a value", quote(*e.Name))
			return
		case e.Type != "" && !contains(types, e.Type):
			v.errorf(field, "environment variable %s has type %s; the types are PLAINTEXT, PARAMETER_STORE and SECRETS_MANAGER%s", quote(*e.Name), quote(e.Type), didYouMean(e.Type, types))
			return
		}
	}
}

// labels checks Labels: "k=v,k2=v2".
func (v *validator) labels(field, val string) {
	if strings.TrimSpace(val) == "" {
		return
	}
	for _, kv := range strings.Split(val, ",") {
		k, _, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || strings.TrimSpace(k) == "" {
			v.errorf(field, "Labels are key=value pairs separated by commas (os=linux,arch=amd64), not %s", quote(val))
			return
		}
	}
}

// references checks every #{...} of an action's configuration and commands: well formed, a
// declared variable, or a namespace of an action that runs strictly before.
func (v *validator) references(a *Action, field string, at place) {
	for _, k := range sortedKeys(a.Configuration) {
		v.text(a.Configuration[k], field+".configuration."+k, at)
	}
	for i, c := range a.Commands {
		v.text(c, yamlwalk.IndexField(field+".commands", i), at)
	}
}

func (v *validator) text(s, field string, at place) {
	refs, err := References(s)
	if err != nil {
		v.errorf(field, "malformed reference: %v", err)
	}
	for _, r := range refs {
		if r.Namespace == VariablesNamespace {
			if !v.declared(r.Name) {
				v.errorf(field, "%s names no variable of the pipeline%s", r, didYouMean(r.Name, v.variableNames()))
			}
			continue
		}
		prod, ok := v.namespaces[r.Namespace]
		switch {
		case !ok:
			v.errorf(field, "%s names no namespace of the pipeline%s", r, didYouMean(r.Namespace, append(keys(v.namespaces), VariablesNamespace)))
		case prod.field == at.field:
			v.errorf(field, "%s names this action's own namespace: its variables exist only once it ends", r)
		case !prod.before(at):
			v.errorf(field, "%s names the namespace of %s, which runs at the same time or later; give it a lower runOrder or an earlier stage", r, v.actionAt(prod.field))
		}
	}
}

func (v *validator) declared(name string) bool {
	if v.declaredSet == nil {
		v.declaredSet = map[string]bool{}
		for _, x := range v.p.Variables {
			v.declaredSet[x.Name] = true
		}
	}
	return v.declaredSet[name]
}

func (v *validator) variableNames() []string {
	var out []string
	for _, x := range v.p.Variables {
		out = append(out, x.Name)
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

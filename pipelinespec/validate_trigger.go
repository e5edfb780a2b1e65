package pipelinespec

import (
	"strings"

	"github.com/slipwayhq/slipway/internal/yamlwalk"
)

// Pull request events of a trigger's filter.
const (
	EventOpen    = "OPEN"
	EventUpdated = "UPDATED"
	EventClosed  = "CLOSED"
)

var prEvents = []string{EventOpen, EventUpdated, EventClosed}

func (v *validator) triggers() {
	p := v.p
	if p.Triggers != nil && len(p.Triggers) == 0 {
		v.warnf("triggers", "an empty triggers list is the same as none: the pipeline starts on pushes to each source's BranchName; to start it only by hand, set DetectChanges: \"false\" on its source actions")
	}
	if len(p.Triggers) > MaxTriggers {
		v.errorf("triggers", "the pipeline has %d triggers, more than %d", len(p.Triggers), MaxTriggers)
		return
	}
	for i := range p.Triggers {
		v.trigger(&p.Triggers[i], yamlwalk.IndexField("triggers", i))
	}
}

func (v *validator) trigger(t *Trigger, field string) {
	g := &t.GitConfiguration
	gf := field + ".gitConfiguration"
	switch {
	case !v.has(gf):
		v.errorf(field, "a trigger needs gitConfiguration: {sourceActionName: Source, push: [...]}")
		return
	case g.SourceActionName == "":
		v.errorf(gf, "gitConfiguration needs sourceActionName: the SlipwayRepo source action whose repository the trigger watches")
	default:
		if a := v.p.SourceAction(g.SourceActionName); a == nil || a.ActionTypeID.Provider != ProviderRepo {
			v.errorf(gf+".sourceActionName", "sourceActionName %s names no SlipwayRepo source action of the first stage%s", quote(g.SourceActionName), didYouMean(g.SourceActionName, v.sourceNames()))
		}
	}
	if len(g.Push) == 0 && len(g.PullRequest) == 0 {
		v.errorf(gf, "gitConfiguration needs push or pullRequest filters")
	}
	if len(g.Push) > MaxFilters {
		v.errorf(gf+".push", "a trigger has at most %d push filters", MaxFilters)
	}
	if len(g.PullRequest) > MaxFilters {
		v.errorf(gf+".pullRequest", "a trigger has at most %d pullRequest filters", MaxFilters)
	}
	for i, pf := range g.Push {
		f := yamlwalk.IndexField(gf+".push", i)
		switch {
		case pf.Branches == nil && pf.Tags == nil:
			v.errorf(f, "a push filter needs branches or tags")
		case pf.Branches != nil && pf.Tags != nil:
			v.errorf(f, "a push filter has branches or tags, not both; write two filters")
		}
		v.filter(pf.Branches, f+".branches")
		v.filter(pf.Tags, f+".tags")
		v.filter(pf.FilePaths, f+".filePaths")
	}
	for i, pf := range g.PullRequest {
		f := yamlwalk.IndexField(gf+".pullRequest", i)
		if pf.Branches == nil {
			v.errorf(f, "a pullRequest filter needs branches: the pull requests' destination branches")
		}
		for k, e := range pf.Events {
			if !contains(prEvents, e) {
				v.errorf(yamlwalk.IndexField(f+".events", k), "event %s is not OPEN, UPDATED or CLOSED%s", quote(e), didYouMean(e, prEvents))
			}
		}
		v.filter(pf.Branches, f+".branches")
		v.filter(pf.FilePaths, f+".filePaths")
	}
}

func (v *validator) filter(fl *Filter, field string) {
	if fl == nil {
		return
	}
	if len(fl.Includes) == 0 && len(fl.Excludes) == 0 {
		v.errorf(field, "the filter needs includes or excludes")
	}
	for _, l := range []struct {
		name string
		list []string
	}{{"includes", fl.Includes}, {"excludes", fl.Excludes}} {
		if len(l.list) > MaxPatterns {
			v.errorf(field+"."+l.name, "%s has at most %d patterns", l.name, MaxPatterns)
		}
		for i, pat := range l.list {
			if err := CheckPattern(pat); err != nil {
				v.errorf(yamlwalk.IndexField(field+"."+l.name, i), "invalid pattern %s: %v", quote(pat), err)
			}
		}
	}
}

func (v *validator) sourceNames() []string {
	var out []string
	if len(v.p.Stages) > 0 {
		for _, a := range v.p.Stages[0].Actions {
			if a.ActionTypeID.Category == CategorySource {
				out = append(out, a.Name)
			}
		}
	}
	return out
}

// upper is the event spelling Match* compare: OPEN, UPDATED, CLOSED.
func upper(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

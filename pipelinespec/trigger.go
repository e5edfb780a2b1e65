package pipelinespec

import "strings"

// SourceAction answers the source action named name (nil when none): an action of category
// Source in the first stage.
func (p *Pipeline) SourceAction(name string) *Action {
	if len(p.Stages) == 0 {
		return nil
	}
	for i := range p.Stages[0].Actions {
		a := &p.Stages[0].Actions[i]
		if a.Name == name && a.ActionTypeID.Category == CategorySource {
			return a
		}
	}
	return nil
}

// EffectiveTriggers answers p's triggers, or when it has none, the default: a push to the
// BranchName of each SlipwayRepo source action (CodePipeline's change detection), except the
// source actions whose configuration says DetectChanges: false.
func (p *Pipeline) EffectiveTriggers() []Trigger {
	if len(p.Triggers) > 0 {
		return p.Triggers
	}
	var out []Trigger
	if len(p.Stages) == 0 {
		return nil
	}
	for _, a := range p.Stages[0].Actions {
		if a.ActionTypeID.Provider != ProviderRepo || !a.DetectsChanges() || a.Configuration[ConfigBranchName] == "" {
			continue
		}
		out = append(out, Trigger{GitConfiguration: GitConfig{
			SourceActionName: a.Name,
			Push:             []PushFilter{{Branches: &Filter{Includes: []string{escapePattern(a.Configuration[ConfigBranchName])}}}},
		}})
	}
	return out
}

// NeedsPaths reports whether any of t's filters looks at changed file paths.
func (t Trigger) NeedsPaths() bool {
	for _, f := range t.GitConfiguration.Push {
		if f.FilePaths != nil {
			return true
		}
	}
	for _, f := range t.GitConfiguration.PullRequest {
		if f.FilePaths != nil {
			return true
		}
	}
	return false
}

// MatchPush reports whether a push that moved ref (a full name, refs/heads/... or
// refs/tags/...) and changed the paths changed matches one of t's push filters: its branches
// (or tags) take the ref, and, when it has filePaths, one changed path is included and not
// excluded. A caller whose list of changed paths was cut short uses MatchPushRef instead.
func (t Trigger) MatchPush(ref string, changed []string) bool {
	for _, f := range t.GitConfiguration.Push {
		if f.matchRef(ref) && f.FilePaths.matchAny(changed) {
			return true
		}
	}
	return false
}

// MatchPushRef reports whether ref alone matches one of t's push filters, their filePaths
// taken as matched: for a push whose changed paths are too many to list, and to tell whether
// they need computing at all.
func (t Trigger) MatchPushRef(ref string) bool {
	for _, f := range t.GitConfiguration.Push {
		if f.matchRef(ref) {
			return true
		}
	}
	return false
}

func (f PushFilter) matchRef(ref string) bool {
	if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
		return f.Branches != nil && f.Branches.match(b)
	}
	if tag, ok := strings.CutPrefix(ref, "refs/tags/"); ok {
		return f.Tags != nil && f.Tags.match(tag)
	}
	return false
}

// MatchPullRequest reports whether a pull request event (OPEN, UPDATED or CLOSED) into
// destination (a branch name) that changed the paths changed matches one of t's filters: the
// filter lists the event (a filter without events takes all three), its branches take the
// destination, and, when it has filePaths, one changed path is included and not excluded.
func (t Trigger) MatchPullRequest(event, destination string, changed []string) bool {
	for _, f := range t.GitConfiguration.PullRequest {
		if f.matchBranch(event, destination) && f.FilePaths.matchAny(changed) {
			return true
		}
	}
	return false
}

// MatchPullRequestBranch is MatchPullRequest with the filters' filePaths taken as matched.
func (t Trigger) MatchPullRequestBranch(event, destination string) bool {
	for _, f := range t.GitConfiguration.PullRequest {
		if f.matchBranch(event, destination) {
			return true
		}
	}
	return false
}

func (f PullRequestFilter) matchBranch(event, destination string) bool {
	if len(f.Events) > 0 && !contains(f.Events, upper(event)) {
		return false
	}
	destination = strings.TrimPrefix(destination, "refs/heads/")
	return f.Branches != nil && f.Branches.match(destination)
}

// match reports whether name is included (by any include; all when there are none) and not
// excluded: exclusion wins.
func (f *Filter) match(name string) bool {
	for _, p := range f.Excludes {
		if Match(p, name) {
			return false
		}
	}
	if len(f.Includes) == 0 {
		return true
	}
	for _, p := range f.Includes {
		if Match(p, name) {
			return true
		}
	}
	return false
}

// matchAny reports whether a nil filter is set, or one of paths passes it.
func (f *Filter) matchAny(paths []string) bool {
	if f == nil {
		return true
	}
	for _, p := range paths {
		if f.match(p) {
			return true
		}
	}
	return false
}

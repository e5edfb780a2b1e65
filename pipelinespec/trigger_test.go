package pipelinespec

import (
	"strings"
	"testing"
)

func mustParse(t *testing.T, text string) *Pipeline {
	t.Helper()
	p, diags := Parse("p.yml", []byte(text))
	if p == nil {
		t.Fatalf("errors:\n%s", diags)
	}
	return p
}

// TestEffectiveTriggersDefault checks CodePipeline's change detection: without triggers, a
// push to the BranchName of each SlipwayRepo source (unless DetectChanges is false).
func TestEffectiveTriggersDefault(t *testing.T) {
	text := strings.Replace(minimal, "      - name: Source\n", `      - name: Lib
        actionTypeId: {category: Source, provider: CodeCommit}
        configuration: {RepositoryName: lib, BranchName: "release/[1]", DetectChanges: "true"}
        outputArtifacts: [{name: L}]
      - name: Manual
        actionTypeId: {category: Source, provider: SlipwayRepo}
        configuration: {RepositoryName: tools, BranchName: main, DetectChanges: "FALSE"}
        outputArtifacts: [{name: T}]
      - name: Source
`, 1)
	p := mustParse(t, text)
	ts := p.EffectiveTriggers()
	if len(ts) != 2 || ts[0].GitConfiguration.SourceActionName != "Lib" || ts[1].GitConfiguration.SourceActionName != "Source" {
		t.Fatalf("triggers = %+v", ts)
	}
	lib, src := ts[0], ts[1]
	if !src.MatchPush("refs/heads/main", nil) || src.MatchPush("refs/heads/dev", nil) || src.MatchPush("refs/tags/main", nil) {
		t.Error("the default trigger of Source does not take exactly pushes to main")
	}
	if !lib.MatchPush("refs/heads/release/[1]", nil) || lib.MatchPush("refs/heads/release/1", nil) {
		t.Error("the default trigger's branch is not matched as written")
	}
	if src.NeedsPaths() {
		t.Error("a default trigger needs no paths")
	}
	if a := p.SourceAction("Lib"); a == nil || a.Configuration[ConfigRepositoryName] != "lib" {
		t.Errorf("SourceAction(Lib) = %+v", a)
	}
	if p.SourceAction("Build") != nil {
		t.Error("SourceAction answers a build action")
	}
}

func TestEffectiveTriggersDeclared(t *testing.T) {
	p := mustParse(t, "triggers: [{gitConfiguration: {sourceActionName: Source, push: [{tags: {includes: ['v*']}}]}}]\n"+minimal)
	ts := p.EffectiveTriggers()
	if len(ts) != 1 || ts[0].MatchPush("refs/heads/main", nil) || !ts[0].MatchPush("refs/tags/v1.0", nil) {
		t.Fatalf("declared triggers are not the effective ones: %+v", ts)
	}
}

func TestMatchPush(t *testing.T) {
	tr := Trigger{GitConfiguration: GitConfig{SourceActionName: "Source", Push: []PushFilter{
		{Branches: &Filter{Includes: []string{"main", "release/**"}, Excludes: []string{"release/old-*"}},
			FilePaths: &Filter{Includes: []string{"src/**", "go.mod"}, Excludes: []string{"**/*.md"}}},
		{Tags: &Filter{Includes: []string{"v*"}, Excludes: []string{"v*-rc*"}}},
		{Branches: &Filter{Excludes: []string{"main", "release/**"}}, FilePaths: &Filter{Excludes: []string{"docs/**"}}},
	}}}
	for _, tc := range []struct {
		ref     string
		changed []string
		want    bool
	}{
		{"refs/heads/main", []string{"src/a.go"}, true},
		{"refs/heads/main", []string{"go.mod"}, true},
		{"refs/heads/main", []string{"src/README.md"}, false}, // excluded path
		{"refs/heads/main", []string{"README.md", "src/x.go"}, true},
		{"refs/heads/main", []string{"docs/a.txt"}, false}, // not included
		{"refs/heads/main", nil, false},
		{"refs/heads/release/2.0", []string{"src/a.go"}, true},
		{"refs/heads/release/old-1", []string{"src/a.go"}, false}, // excluded branch
		{"refs/tags/v1.0", nil, true},
		{"refs/tags/v1.0-rc1", nil, false},
		{"refs/tags/latest", nil, false},
		{"refs/heads/feature/x", []string{"src/a.go"}, true}, // the third filter: any branch but main
		{"refs/heads/feature/x", []string{"docs/a.md"}, false},
		{"refs/notes/commits", nil, false},
	} {
		if got := tr.MatchPush(tc.ref, tc.changed); got != tc.want {
			t.Errorf("MatchPush(%q, %q) = %v, want %v", tc.ref, tc.changed, got, tc.want)
		}
	}
	if !tr.NeedsPaths() {
		t.Error("NeedsPaths false with filePaths")
	}
	if !tr.MatchPushRef("refs/heads/main") || tr.MatchPushRef("refs/tags/latest") {
		t.Error("MatchPushRef")
	}
}

func TestMatchPullRequest(t *testing.T) {
	tr := Trigger{GitConfiguration: GitConfig{SourceActionName: "Source", PullRequest: []PullRequestFilter{
		{Events: []string{EventOpen, EventUpdated}, Branches: &Filter{Includes: []string{"main"}}},
		{Branches: &Filter{Includes: []string{"release/*"}}, FilePaths: &Filter{Includes: []string{"src/**"}}},
	}}}
	for _, tc := range []struct {
		event, dest string
		changed     []string
		want        bool
	}{
		{"OPEN", "main", nil, true},
		{"UPDATED", "main", nil, true},
		{"open", "main", nil, true},
		{"CLOSED", "main", nil, false},
		{"OPEN", "dev", nil, false},
		{"CLOSED", "release/1", []string{"src/a"}, true}, // no events: all three
		{"OPEN", "release/1", []string{"docs/a"}, false},
		{"OPEN", "refs/heads/main", nil, true},
	} {
		if got := tr.MatchPullRequest(tc.event, tc.dest, tc.changed); got != tc.want {
			t.Errorf("MatchPullRequest(%q, %q, %q) = %v, want %v", tc.event, tc.dest, tc.changed, got, tc.want)
		}
	}
	if !tr.MatchPullRequestBranch("OPEN", "release/1") || tr.MatchPullRequestBranch("OPEN", "dev") {
		t.Error("MatchPullRequestBranch")
	}
	if tr.MatchPush("refs/heads/main", nil) {
		t.Error("a pull request trigger matches a push")
	}
}

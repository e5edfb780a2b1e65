package pipelinespec

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// minimal is a valid two-stage definition the table cases edit.
const minimal = `name: web
stages:
  - name: Source
    actions:
      - name: Source
        actionTypeId: {category: Source, provider: SlipwayRepo}
        configuration: {RepositoryName: web, BranchName: main}
        outputArtifacts: [{name: A}]
        namespace: SourceVariables
  - name: Build
    actions:
      - name: Build
        actionTypeId: {category: Build, provider: SlipwayBuild}
        configuration: {ProjectName: web-build}
        inputArtifacts: [{name: A}]
`

// TestDiagnostics checks, for one definition per rule, the rendered diagnostic: its position
// and message. The golden files of testdata cover every message; these pin the rules.
func TestDiagnostics(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"syntax", "name: [web\n", "p.yml:1:1: invalid YAML: did not find expected ',' or ']'; fix the YAML or JSON syntax"},
		{"empty", "", "p.yml:1:1: the file is empty; a pipeline definition has a name and stages"},
		{"duplicate key", strings.Replace(minimal, "name: web\n", "name: web\nname: app\n", 1), `p.yml:2:1: duplicate key "name" (first at line 1); keep only one of them`},
		{"bad name", strings.Replace(minimal, "name: web\n", "name: web/app\n", 1), `p.yml:1:7: the pipeline's name "web/app" may hold only letters, digits, '.', '@', '_' and '-'`},
		{"one stage", minimal[:strings.Index(minimal, "  - name: Build")], "p.yml:3:3: a pipeline has at least two stages: the first with its Source actions, then what they feed"},
		{"unknown provider", strings.Replace(minimal, "provider: SlipwayBuild", "provider: SlipwayBiuld", 1), `p.yml:13:51: unknown provider "SlipwayBiuld"; the providers are SlipwayRepo, SlipwayBuild, SlipwayDeploy, Manual, Command (and AWS's CodeCommit, CodeBuild, CodeDeploy); did you mean "SlipwayBuild"?`},
		{"unknown category", strings.Replace(minimal, "category: Build", "category: Compute", 1), `p.yml:13:34: category "Compute" is not Source, Build, Test, Deploy, Approval or Invoke`},
		{"provider of another category", strings.Replace(minimal, "category: Build", "category: Deploy", 1), "p.yml:13:52: provider SlipwayBuild is not a Deploy provider; Deploy actions use SlipwayDeploy"},
		{"required configuration", strings.Replace(minimal, "{ProjectName: web-build}", "{}", 1), "p.yml:14:24: SlipwayBuild actions need configuration ProjectName"},
		{"unknown configuration", strings.Replace(minimal, "{ProjectName: web-build}", "{ProjectName: web-build, Project: x}", 1), `p.yml:14:49: SlipwayBuild actions have no configuration "Project" (they take ProjectName, EnvironmentVariables)`},
		{"nobody produces", strings.Replace(minimal, "inputArtifacts: [{name: A}]", "inputArtifacts: [{name: B}]", 1), `p.yml:15:33: no action produces artifact "B"; did you mean "A"?`},
		{"same runOrder", minimal + `      - name: Test
        actionTypeId: {category: Test, provider: SlipwayBuild}
        configuration: {ProjectName: web-test}
        inputArtifacts: [{name: Built}]
      - name: Build2
        actionTypeId: {category: Build, provider: SlipwayBuild}
        configuration: {ProjectName: web-build}
        inputArtifacts: [{name: A}]
        outputArtifacts: [{name: Built}]
`, `p.yml:19:33: artifact "Built" comes from action "Build2" of stage "Build", which runs at the same time or later (a cycle); give it a lower runOrder or an earlier stage`},
		{"unknown namespace", strings.Replace(minimal, "{ProjectName: web-build}", `{ProjectName: "#{SourceVariable.CommitId}"}`, 1), `p.yml:14:38: #{SourceVariable.CommitId} names no namespace of the pipeline; did you mean "SourceVariables"?`},
		{"undeclared variable", strings.Replace(minimal, "{ProjectName: web-build}", `{ProjectName: "#{variables.env}"}`, 1), `p.yml:14:38: #{variables.env} names no variable of the pipeline`},
		{"malformed reference", strings.Replace(minimal, "{ProjectName: web-build}", `{ProjectName: "#{x}"}`, 1), `p.yml:14:38: malformed reference: "#{x}" is not a reference; write #{namespace.name} (letters, digits, @, -, _; a dot between)`},
		{"source in a later stage", strings.Replace(minimal, "category: Build, provider: SlipwayBuild", "category: Source, provider: SlipwayRepo", 1), `p.yml:13:34: Source actions belong in the first stage only; move "Build" there`},
		{"execution mode", "executionMode: FAST\n" + minimal, `p.yml:1:16: executionMode "FAST" is not SUPERSEDED, QUEUED or PARALLEL`},
		{"rollback of the first stage", strings.Replace(minimal, "  - name: Source\n", "  - name: Source\n    onFailure: {result: ROLLBACK}\n", 1), "p.yml:4:25: the first stage cannot roll back: it has no earlier artifacts to roll back to"},
		{"trigger source", "triggers: [{gitConfiguration: {sourceActionName: Build, push: [{branches: {includes: [main]}}]}}]\n" + minimal, `p.yml:1:50: sourceActionName "Build" names no SlipwayRepo source action of the first stage`},
		{"branches and tags", "triggers: [{gitConfiguration: {sourceActionName: Source, push: [{branches: {includes: [main]}, tags: {includes: [v1]}}]}}]\n" + minimal, "p.yml:1:65: a push filter has branches or tags, not both; write two filters"},
		{"pull request event", "triggers: [{gitConfiguration: {sourceActionName: Source, pullRequest: [{events: [MERGED], branches: {includes: [main]}}]}}]\n" + minimal, `p.yml:1:82: event "MERGED" is not OPEN, UPDATED or CLOSED`},
		{"bad glob", "triggers: [{gitConfiguration: {sourceActionName: Source, push: [{branches: {includes: ['[a-']}}]}}]\n" + minimal, `p.yml:1:88: invalid pattern "[a-": a [ class has no closing ]`},
		{"ignored AWS key", "roleArn: arn:aws:iam::1:role/x\n" + minimal, `p.yml:1:1: warning: "roleArn" is an AWS key that means nothing in Slipway; it is ignored`},
		{"unknown key", "stagse: []\n" + minimal, `p.yml:1:1: warning: unknown key "stagse" in the pipeline is ignored; did you mean "stages"?`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := Parse("p.yml", []byte(tc.text))
			for _, s := range diags.Strings() {
				if s == tc.want {
					return
				}
			}
			t.Errorf("want %q among:\n%s", tc.want, diags)
		})
	}
}

// TestParseDefaultsAndNormalization checks what Parse fills in and renames.
func TestParseDefaultsAndNormalization(t *testing.T) {
	text := strings.ReplaceAll(minimal, "SlipwayRepo", "CodeCommit")
	text = strings.ReplaceAll(text, "SlipwayBuild", "CodeBuild")
	text = strings.Replace(text, "{ProjectName: web-build}", "{ProjectName: web-build, EnvironmentVariables: [{name: N, value: 1}]}", 1)
	p, diags := Parse("p.yml", []byte(text))
	if diags.HasErrors() || p == nil {
		t.Fatalf("errors:\n%s", diags)
	}
	if p.PipelineType != "V2" || p.ExecutionMode != "SUPERSEDED" {
		t.Errorf("defaults: %q %q", p.PipelineType, p.ExecutionMode)
	}
	src, build := p.Stages[0].Actions[0], p.Stages[1].Actions[0]
	if src.ActionTypeID.Provider != ProviderRepo || build.ActionTypeID.Provider != ProviderBuild {
		t.Errorf("providers not normalized: %q %q", src.ActionTypeID.Provider, build.ActionTypeID.Provider)
	}
	if src.RunOrder != 1 || build.RunOrder != 1 {
		t.Errorf("runOrder defaults: %d %d", src.RunOrder, build.RunOrder)
	}
	if got := build.Configuration[ConfigEnvironmentVariables]; got != `[{"name":"N","value":"1"}]` {
		t.Errorf("EnvironmentVariables as JSON: %s", got)
	}
}

// TestParseWrapperAndJSON checks that the same pipeline reads with and without the pipeline:
// wrapper, and from its JSON.
func TestParseWrapperAndJSON(t *testing.T) {
	bare, d1 := Parse("a.yml", []byte(minimal))
	wrapped, d2 := Parse("b.yml", []byte("pipeline:\n"+indent(minimal)))
	if bare == nil || wrapped == nil {
		t.Fatalf("errors:\n%s%s", d1, d2)
	}
	a, _ := json.Marshal(bare)
	b, _ := json.Marshal(wrapped)
	if string(a) != string(b) {
		t.Fatalf("wrapped differs:\n%s\n%s", a, b)
	}
	fromJSON, d3 := Parse("c.json", a)
	if fromJSON == nil {
		t.Fatalf("JSON errors:\n%s", d3)
	}
	if c, _ := json.Marshal(fromJSON); string(c) != string(a) {
		t.Fatalf("JSON round trip differs:\n%s\n%s", a, c)
	}
}

func indent(s string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i := range lines {
		lines[i] = "  " + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}

// TestParseValuesAsText checks that configuration numbers and booleans are kept as written.
func TestParseValuesAsText(t *testing.T) {
	text := strings.Replace(minimal, "{ProjectName: web-build}", "{ProjectName: 0012}", 1)
	text = strings.Replace(text, "BranchName: main}", "BranchName: main, DetectChanges: false}", 1)
	p, diags := Parse("p.yml", []byte(text))
	if p == nil {
		t.Fatalf("errors:\n%s", diags)
	}
	if got := p.Stages[1].Actions[0].Configuration[ConfigProjectName]; got != "0012" {
		t.Errorf("ProjectName = %q", got)
	}
	if p.Stages[0].Actions[0].DetectsChanges() {
		t.Error("DetectChanges: false is not honoured")
	}
}

// TestParseBounds checks the size and count bounds.
func TestParseBounds(t *testing.T) {
	big := minimal + "# " + strings.Repeat("x", MaxFileSize) + "\n"
	if _, diags := Parse("p.yml", []byte(big)); !strings.Contains(diags.String(), "more than the 262144 (256 KiB)") {
		t.Errorf("size: %s", diags)
	}
	var stages strings.Builder
	stages.WriteString(minimal)
	for i := 0; i < MaxStages; i++ {
		fmt.Fprintf(&stages, "  - name: S%d\n    actions: [{name: A, actionTypeId: {category: Approval, provider: Manual}}]\n", i)
	}
	if _, diags := Parse("p.yml", []byte(stages.String())); !strings.Contains(diags.String(), "the pipeline has 52 stages, more than 50") {
		t.Errorf("stages: %s", diags)
	}
	var actions strings.Builder
	actions.WriteString(minimal)
	for i := 0; i < MaxActions; i++ {
		fmt.Fprintf(&actions, "      - {name: A%d, actionTypeId: {category: Approval, provider: Manual}}\n", i)
	}
	if _, diags := Parse("p.yml", []byte(actions.String())); !strings.Contains(diags.String(), `stage "Build" has 51 actions, more than 50`) {
		t.Errorf("actions: %s", diags)
	}
	var vars strings.Builder
	vars.WriteString("variables:\n")
	for i := 0; i <= MaxVariables; i++ {
		fmt.Fprintf(&vars, "  - name: v%d\n", i)
	}
	if _, diags := Parse("p.yml", []byte(vars.String()+minimal)); !strings.Contains(diags.String(), "the pipeline has 51 variables, more than 50") {
		t.Errorf("variables: %s", diags)
	}
	var trig strings.Builder
	trig.WriteString("triggers:\n")
	for i := 0; i <= MaxTriggers; i++ {
		trig.WriteString("  - gitConfiguration: {sourceActionName: Source, push: [{branches: {includes: [main]}}]}\n")
	}
	if _, diags := Parse("p.yml", []byte(trig.String()+minimal)); !strings.Contains(diags.String(), "the pipeline has 21 triggers, more than 20") {
		t.Errorf("triggers: %s", diags)
	}
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
	if p, _ := Parse("p.yml", []byte(bomb)); p != nil {
		t.Error("a definition of aliases only is not refused")
	}
}

// TestParseAWSGetPipeline checks that AWS's get-pipeline output reads with one warning per
// ignored key and its providers normalized.
func TestParseAWSGetPipeline(t *testing.T) {
	data, err := os.ReadFile("testdata/valid/aws_get_pipeline.json")
	if err != nil {
		t.Fatal(err)
	}
	p, diags := Parse("get.json", data)
	if p == nil {
		t.Fatalf("errors:\n%s", diags)
	}
	count := map[string]int{}
	for _, w := range diags.Warnings() {
		for _, k := range []string{"roleArn", "region", "metadata", "artifactStore", "version"} {
			if strings.HasPrefix(w.Message, quote(k)+" ") {
				count[k]++
			}
		}
	}
	for _, k := range []string{"roleArn", "region", "metadata", "artifactStore", "version"} {
		if count[k] != 1 {
			t.Errorf("%s named in %d warnings, want 1:\n%s", k, count[k], diags)
		}
	}
	if p.Stages[2].Actions[0].ActionTypeID.Provider != ProviderDeploy {
		t.Errorf("CodeDeploy not normalized: %q", p.Stages[2].Actions[0].ActionTypeID.Provider)
	}
}

// TestParseFor checks an update's file: without a name it takes the pipeline's, with another
// name it is refused.
func TestParseFor(t *testing.T) {
	noName := strings.Replace(minimal, "name: web\n", "", 1)
	p, diags := ParseFor("p.yml", []byte(noName), "web")
	if p == nil || p.Name != "web" {
		t.Fatalf("a file without a name: %v\n%s", p, diags)
	}
	if _, diags := Parse("p.yml", []byte(noName)); !strings.Contains(diags.String(), "the pipeline's name is required") {
		t.Errorf("Parse accepts a file without a name:\n%s", diags)
	}
	_, diags = ParseFor("p.yml", []byte(minimal), "app")
	if want := `p.yml:1:7: the file defines pipeline "web", not "app"`; !strings.Contains(diags.String(), want) {
		t.Errorf("want %q in:\n%s", want, diags)
	}
	if p, _ := ParseFor("p.yml", []byte(minimal), "web"); p == nil {
		t.Error("the pipeline's own name is refused")
	}
}

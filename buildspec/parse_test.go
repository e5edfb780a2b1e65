package buildspec

import (
	"reflect"
	"strings"
	"testing"
)

func TestCommandsAreStringsAsWritten(t *testing.T) {
	src := `version: 0.2
phases:
  build:
    commands:
      - false
      - 0
      - 1.10
      - ~
      - "quoted: colon"
      - |
        if true; then
          echo multi
        fi
      - >
        echo folded
        line
    finally:
      - true
`
	s, diags := Load("b.yml", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	want := []string{"false", "0", "1.10", "~", "quoted: colon", "if true; then\n  echo multi\nfi\n", "echo folded line\n"}
	if got := s.Phase(PhaseBuild).Commands; !reflect.DeepEqual(got, want) {
		t.Fatalf("commands = %q, want %q", got, want)
	}
	if got := s.Phase(PhaseBuild).Finally; !reflect.DeepEqual(got, []string{"true"}) {
		t.Fatalf("finally = %q", got)
	}
	if p := s.Positions["phases.build.commands[5]"]; p != (Pos{10, 9}) {
		t.Fatalf("position of the block scalar = %+v", p)
	}
	if s.Phase(PhaseInstall) != nil {
		t.Fatal("a phase not written must be nil")
	}
}

func TestVersion(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"0.2", Version02, true},
		{"0.1", Version01, true},
		{`"0.2"`, Version02, true},
		{"0.20", Version02, true},
		{"0.3", "0.3", false},
		{"2", "2", false},
		{"[0.2]", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s, diags := Load("b.yml", []byte("version: "+tt.in+"\nphases: {build: {commands: [make]}}\n"))
			if s.Version != tt.want || diags.HasErrors() == tt.ok {
				t.Fatalf("version %s: got %q, diagnostics %s", tt.in, s.Version, diags)
			}
		})
	}
}

func TestOnFailure(t *testing.T) {
	tests := []struct {
		in   string
		want OnFailure
		err  string
	}{
		{"ABORT", OnFailure{Action: Abort, Text: "ABORT"}, ""},
		{"CONTINUE", OnFailure{Action: Continue, Text: "CONTINUE"}, ""},
		{"continue", OnFailure{Action: Continue, Text: "continue"}, ""},
		{"RETRY", OnFailure{Action: Retry, Retries: 3, Pattern: ".*", Text: "RETRY"}, ""},
		{"RETRY-5", OnFailure{Action: Retry, Retries: 5, Pattern: ".*", Text: "RETRY-5"}, ""},
		{"RETRY-0", OnFailure{Action: Retry, Retries: 0, Pattern: ".*", Text: "RETRY-0"}, ""},
		{"RETRY-timeout", OnFailure{Action: Retry, Retries: 3, Pattern: "timeout", Text: "RETRY-timeout"}, ""},
		{"RETRY-2-conn.*reset", OnFailure{Action: Retry, Retries: 2, Pattern: "conn.*reset", Text: "RETRY-2-conn.*reset"}, ""},
		{"RETRY-101", OnFailure{Text: "RETRY-101"}, "the count must be 0 to 100"},
		{"RETRY-1-(", OnFailure{Action: Retry, Retries: 1, Pattern: "(", Text: "RETRY-1-("}, "not a valid regular expression"},
		{"IGNORE", OnFailure{Text: "IGNORE"}, "is not valid"},
		{"ABORTT", OnFailure{Text: "ABORTT"}, `did you mean "ABORT"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s, diags := Load("b.yml", []byte("version: 0.2\nphases:\n  build:\n    on-failure: "+tt.in+"\n    commands: [make]\n"))
			if got := s.Phase(PhaseBuild).OnFailure; got != tt.want {
				t.Errorf("on-failure = %+v, want %+v", got, tt.want)
			}
			if tt.err == "" && diags.HasErrors() || tt.err != "" && !strings.Contains(diags.Errors().String(), tt.err) {
				t.Errorf("diagnostics %q, want error %q", diags, tt.err)
			}
		})
	}
}

func TestSecretRef(t *testing.T) {
	tests := []struct{ in, id, key, stage, version string }{
		{"ci/token", "ci/token", "", "", ""},
		{"ci/db:password", "ci/db", "password", "", ""},
		{"ci/db:password:AWSPREVIOUS:v1", "ci/db", "password", "AWSPREVIOUS", "v1"},
		{"arn:aws:secretsmanager:us-east-1:1234:secret:db-AbCd", "arn:aws:secretsmanager:us-east-1:1234:secret:db-AbCd", "", "", ""},
		{"arn:aws:secretsmanager:us-east-1:1234:secret:db-AbCd:user", "arn:aws:secretsmanager:us-east-1:1234:secret:db-AbCd", "user", "", ""},
	}
	for _, tt := range tests {
		r := parseSecretRef(Var{Name: "X", Value: tt.in})
		if r.SecretID != tt.id || r.JSONKey != tt.key || r.VersionStage != tt.stage || r.VersionID != tt.version {
			t.Errorf("%s: got %+v", tt.in, r)
		}
	}
}

func TestParseValues(t *testing.T) {
	src := `version: 0.2
run-as: builder
env:
  shell: bash
  variables: {A: 1, B: "two"}
  parameter-store: {P: /ci/p}
  secrets-manager: {S: "ci/s:key"}
  exported-variables: [A, B]
  git-credential-helper: yes
phases:
  install:
    run-as: root
    runtime-versions: {golang: 1.22}
    commands: [make deps]
artifacts:
  files: ["**/*"]
  name: out-$(date +%F)
  discard-paths: "yes"
  base-directory: dist
  exclude-paths: "*.map"
  enable-symlinks: on
  secondary-artifacts:
    docs: {files: [a], base-directory: d}
reports:
  unit: {files: [r.xml]}
cache: {paths: [/root/.m2/**/*], key: k, fallback-keys: [k-], action: save}
batch:
  build-matrix:
    dynamic:
      buildspec: one.yml
      env: {image: [a, b], variables: {V: [1, 2, 3]}}
`
	s, diags := Load("b.yml", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if s.RunAs != "builder" || s.Phase(PhaseInstall).RunAs != "root" || !reflect.DeepEqual(s.Phase(PhaseInstall).RuntimeVersions, []Var{{"golang", "1.22"}}) {
		t.Fatalf("run-as / runtimes = %+v", s)
	}
	e := s.Env
	if e.Shell != ShellBash || !reflect.DeepEqual(e.Variables, []Var{{"A", "1"}, {"B", "two"}}) || e.ParameterStore[0] != (Var{"P", "/ci/p"}) ||
		e.SecretsManager[0].SecretID != "ci/s" || e.SecretsManager[0].JSONKey != "key" || !reflect.DeepEqual(e.ExportedVariables, []string{"A", "B"}) || !e.GitCredentialHelper {
		t.Fatalf("env = %+v", e)
	}
	a := s.Artifacts
	if !reflect.DeepEqual(a.Files, []string{"**/*"}) || a.Name != "out-$(date +%F)" || !a.DiscardPaths || a.BaseDirectory != "dist" ||
		!reflect.DeepEqual(a.ExcludePaths, []string{"*.map"}) || !a.EnableSymlinks || len(a.Secondary) != 1 || a.Secondary[0].Identifier != "docs" || a.Secondary[0].BaseDirectory != "d" {
		t.Fatalf("artifacts = %+v", a)
	}
	if len(s.Reports) != 1 || s.Reports[0].FileFormat != "JUNITXML" {
		t.Fatalf("reports = %+v", s.Reports)
	}
	if c := s.Cache; c.Key != "k" || c.Action != "save" || len(c.Paths) != 1 {
		t.Fatalf("cache = %+v", c)
	}
	if b := s.Batch; b.Kind != BuildMatrix || b.Matrix.Size() != 6 || !reflect.DeepEqual(b.Matrix.Buildspecs, []string{"one.yml"}) {
		t.Fatalf("batch = %+v (size %d)", b, b.Matrix.Size())
	}
}

func TestBounds(t *testing.T) {
	many := func(n int) string {
		var b strings.Builder
		b.WriteString("version: 0.2\nphases:\n  build:\n    commands:\n")
		for i := 0; i < n; i++ {
			b.WriteString("      - echo x\n")
		}
		return b.String()
	}
	// 8 aliases of a list of 1,500 commands make 12,000 commands.
	var alias strings.Builder
	alias.WriteString("version: 0.2\nx: &c\n")
	for i := 0; i < 1500; i++ {
		alias.WriteString("  - echo x\n")
	}
	alias.WriteString("phases:\n")
	for _, ph := range PhaseNames {
		alias.WriteString("  " + ph + ":\n    commands: *c\n    finally: *c\n")
	}
	long := "version: 0.2\nx: &c [\"" + strings.Repeat("a", 200000) + "\"]\nphases:\n  install: {commands: *c, finally: *c}\n  build: {commands: *c, finally: *c}\n  post_build: {commands: *c, finally: *c}\n"
	tests := []struct {
		name, src, err string
	}{
		{"at most MaxCommands", many(MaxCommands), ""},
		{"more than MaxCommands", many(MaxCommands + 1), "more than 10000 commands"},
		{"commands through aliases", alias.String(), "more than 10000 commands"},
		{"bytes through aliases", long, "add up to more than 1048576 bytes"},
		{"too large", "version: 0.2\n#" + strings.Repeat("x", MaxFileSize), "more than the 1048576 (1 MiB)"},
		{"nesting", "version: 0.2\nphases: {build: {commands: [make]}}\nx: " + strings.Repeat("[", MaxNesting+2) + strings.Repeat("]", MaxNesting+2) + "\n", "nest deeper than 64"},
		{"nesting within the bound", "version: 0.2\nphases: {build: {commands: [make]}}\nx: " + strings.Repeat("[", MaxNesting-2) + strings.Repeat("]", MaxNesting-2) + "\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := Load("b.yml", []byte(tt.src))
			errs := diags.Errors().String()
			if tt.err == "" && errs != "" || tt.err != "" && !strings.Contains(errs, tt.err) {
				t.Fatalf("errors %q, want %q", errs, tt.err)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"**/*", "a", true},
		{"**/*", "a/b/c.txt", true},
		{"*", "a/b", false},
		{"*", "a", true},
		{"dir/*", "dir/a", true},
		{"dir/*", "dir/a/b", false},
		{"dir/**/*", "dir/a/b", true},
		{"dir/**/*", "dir", false},
		{"**/*.jar", "x.jar", true},
		{"**/*.jar", "t/x/y.jar", true},
		{"target/**/*.jar", "target/x.jar", true},
		{"**", "a/b", true},
		{"a/**/b/**/c", "a/b/c", true},
		{"a/**/b/**/c", "a/x/b/y/z/c", true},
		{"a/**/b/**/c", "a/x/c", false},
		{"./dist/*.js", "dist/app.js", true},
		{"my-build*", "my-build2", true},
		{"[ab].txt", "b.txt", true},
		{"?.txt", "ab.txt", false},
	}
	for _, tt := range tests {
		if got := Match(tt.pattern, tt.name); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
	if !MatchPrefix("dir/**/*.go", "dir/a/b") || MatchPrefix("dir/*.go", "other") || !MatchPrefix("*/x", "any") || MatchPrefix("a/b", "a/b/c") {
		t.Error("MatchPrefix")
	}
	if CheckPattern("a/[b") == nil || CheckPattern("") == nil || CheckPattern("**/x/*") != nil {
		t.Error("CheckPattern")
	}
}

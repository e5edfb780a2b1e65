package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/buildcorpus"
)

// TestBuildLocalCorpus runs every valid buildspec of the corpus through
// `slipway build local --output json` and checks what its header expects
// (docs/BUILDSPEC.md, The corpus): the exit code, status, phases, output,
// exported variables and the artifacts' layout in --artifacts OUT.
func TestBuildLocalCorpus(t *testing.T) {
	files, err := buildcorpus.Valid()
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yml")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want, err := buildcorpus.Read(data)
			if err != nil {
				t.Fatal(err)
			}
			if want.NeedsRoot() && !buildcorpus.CanSwitchUsers() {
				t.Skip("its run-as switches users: the process executor does only as root on Linux")
			}
			dir := t.TempDir()
			writeBuildFile(t, dir, "buildspec.yml", string(data))
			out := filepath.Join(t.TempDir(), "out")
			args := []string{"build", "local", dir, "--artifacts", out, "--output", "json", "--cache-dir", t.TempDir()}
			for k, v := range want.Env {
				args = append(args, "--env", k+"="+v)
			}
			r := runWith(t, context.Background(), nil, args...)
			var rep buildLocalReport
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatalf("json %q: %v\n%s", r.stdout, err, r.stderr)
			}
			wantCode := ExitOK
			if want.Status != "SUCCEEDED" {
				wantCode = ExitFailure
			}
			if r.code != wantCode || rep.Status != want.Status {
				t.Fatalf("exit %d status %s, want %d %s\n%s", r.code, rep.Status, wantCode, want.Status, r.stderr)
			}
			if want.Phases != nil {
				var got []string
				for _, p := range rep.Phases {
					got = append(got, p.Name+"="+p.Status)
				}
				if !reflect.DeepEqual(got, want.Phases) {
					t.Errorf("phases = %v, want %v", got, want.Phases)
				}
			}
			output := buildcorpus.CommandOutput(r.stderr)
			for _, w := range want.Output {
				if !strings.Contains(output, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			for _, w := range want.NoOutput {
				if strings.Contains(r.stderr+r.stdout, w) {
					t.Errorf("output has %q", w)
				}
			}
			if want.Exported != nil && !reflect.DeepEqual(rep.ExportedVariables, want.Exported) {
				t.Errorf("exported = %v, want %v", rep.ExportedVariables, want.Exported)
			}
			if want.Artifacts != nil {
				if !reflect.DeepEqual(rep.Artifacts, want.Artifacts) {
					t.Errorf("artifacts = %v, want %v", rep.Artifacts, want.Artifacts)
				}
				if got := filesBelow(t, out); !reflect.DeepEqual(got, want.Artifacts) {
					t.Errorf("files in OUT = %v, want %v", got, want.Artifacts)
				}
			}
			for id, files := range want.Secondary {
				if got := filesBelow(t, out+"-"+id); !reflect.DeepEqual(got, files) {
					t.Errorf("OUT-%s = %v, want %v", id, got, files)
				}
			}
			for _, l := range want.Symlinks {
				if st, err := os.Lstat(filepath.Join(out, l)); err != nil || st.Mode()&os.ModeSymlink == 0 {
					t.Errorf("%s is not a symbolic link in OUT (%v)", l, err)
				}
			}
			if want.ArtifactName != "" && rep.ArtifactName != want.ArtifactName {
				t.Errorf("artifact name = %q, want %q", rep.ArtifactName, want.ArtifactName)
			}
			for _, p := range buildcorpus.CheckReports(want.Reports, rep.Reports) {
				t.Error(p)
			}
		})
	}
}

// filesBelow lists the files and links below dir, relative, sorted.
func filesBelow(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !info.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// TestBuildLocalRefusesInvalidCorpus runs every invalid buildspec of the
// corpus through `slipway build local`: exit 1, its diagnostics (the golden
// ones) printed, and no phase entered.
func TestBuildLocalRefusesInvalidCorpus(t *testing.T) {
	files, err := buildcorpus.Invalid()
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			golden, err := os.ReadFile(strings.TrimSuffix(file, ".yml") + ".golden")
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			writeBuildFile(t, dir, name+".yml", string(data))
			r := runWith(t, context.Background(), nil, "build", "local", dir, "--buildspec", filepath.Join(dir, name+".yml"))
			// The diagnostics name the file as given: the golden ones name its base.
			got := strings.ReplaceAll(r.stdout, filepath.Join(dir, name+".yml"), name+".yml")
			if r.code != ExitFailure || got != string(golden) || strings.Contains(r.stdout, "Entering phase") {
				t.Fatalf("exit %d\nstdout:\n%s\nwant the diagnostics:\n%s\nstderr: %s", r.code, r.stdout, golden, r.stderr)
			}
		})
	}
}

package builder

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/builder/executor"
	"github.com/slipwayhq/slipway/buildspec"
	"github.com/slipwayhq/slipway/internal/buildcorpus"
)

// syncBuffer is a log written by the runner and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// commandOutput is the log without the runner's own lines.
func commandOutput(log string) string { return buildcorpus.CommandOutput(log) }

// TestCorpus runs every valid buildspec of the corpus with the process
// executor and checks what its header expects: status, the phases that
// ran, output, exported variables, the artifact's layout. Files whose
// run-as switches users (# needs: root) run only as root on Linux, in a
// workspace root the run-as user can reach.
func TestCorpus(t *testing.T) {
	runCorpus(t, func(t *testing.T) (executor.Executor, []string) {
		return &executor.Process{Root: reachableTempDir(t)}, HostBaseEnv()
	}, func(name string, want buildcorpus.Expectation) string {
		if want.NeedsRoot() && !buildcorpus.CanSwitchUsers() {
			return "its run-as switches users: the process executor does only as root on Linux"
		}
		return ""
	})
}

// runCorpus runs the corpus with the executor newExecutor makes, and the
// base environment it gives; skip, when set, says why a file is skipped
// ("" runs it).
func runCorpus(t *testing.T, newExecutor func(t *testing.T) (executor.Executor, []string), skip func(name string, want buildcorpus.Expectation) string) {
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
			spec, diags := buildspec.Load(filepath.Base(file), data)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if skip != nil {
				if why := skip(name, want); why != "" {
					t.Skip(why)
				}
			}
			exec, baseEnv := newExecutor(t)
			src := t.TempDir()
			if err := os.WriteFile(filepath.Join(src, "buildspec.yml"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "out")
			opts := Options{
				Executor:     exec,
				SourceDir:    src,
				BuildID:      "local:" + name,
				Initiator:    "local/test",
				BaseEnv:      baseEnv,
				Secrets:      map[string]string{},
				ArtifactsDir: out,
				SecondaryDir: func(id string) string { return out + "-" + id },
				Timeout:      time.Minute,
				CacheDir:     t.TempDir(),
			}
			secret := map[string]bool{}
			for _, v := range spec.Env.ParameterStore {
				secret[v.Name] = true
			}
			for k, v := range want.Env {
				if secret[k] {
					opts.Secrets[k] = v
				} else {
					opts.Env = append(opts.Env, buildspec.Var{Name: k, Value: v})
				}
			}
			log := &syncBuffer{}
			opts.Log = log
			res, err := Run(context.Background(), spec, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("log:\n%s", log)
			if res.Status != want.Status {
				t.Errorf("status = %s, want %s", res.Status, want.Status)
			}
			if want.Phases != nil {
				var got []string
				for _, p := range res.Phases {
					got = append(got, p.Name+"="+p.Status)
				}
				if !reflect.DeepEqual(got, want.Phases) {
					t.Errorf("phases = %v, want %v", got, want.Phases)
				}
			}
			output := commandOutput(log.String())
			for _, w := range want.Output {
				if !strings.Contains(output, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			for _, w := range want.NoOutput {
				if strings.Contains(output, w) {
					t.Errorf("output has %q", w)
				}
			}
			if want.Exported != nil && !reflect.DeepEqual(res.ExportedVariables, want.Exported) {
				t.Errorf("exported = %v, want %v", res.ExportedVariables, want.Exported)
			}
			if want.Artifacts != nil {
				if !reflect.DeepEqual(res.Artifacts, want.Artifacts) {
					t.Errorf("artifacts = %v, want %v", res.Artifacts, want.Artifacts)
				}
				if got := listTree(t, out); !reflect.DeepEqual(got, want.Artifacts) {
					t.Errorf("files in %s = %v, want %v", out, got, want.Artifacts)
				}
			}
			for id, files := range want.Secondary {
				if got := listTree(t, out+"-"+id); !reflect.DeepEqual(got, files) {
					t.Errorf("secondary %s = %v, want %v", id, got, files)
				}
			}
			for _, l := range want.Symlinks {
				if st, err := os.Lstat(filepath.Join(out, l)); err != nil || st.Mode()&os.ModeSymlink == 0 {
					t.Errorf("%s is not a symbolic link in the artifact (%v)", l, err)
				}
			}
			if want.ArtifactName != "" && res.ArtifactName != want.ArtifactName {
				t.Errorf("artifact name = %q, want %q", res.ArtifactName, want.ArtifactName)
			}
			for _, p := range buildcorpus.CheckReports(want.Reports, res.Reports) {
				t.Error(p)
			}
		})
	}
}

// listTree lists the files and links below dir, relative, sorted.
func listTree(t *testing.T, dir string) []string {
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

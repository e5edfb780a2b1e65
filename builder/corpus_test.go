package builder

import (
	"bufio"
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
)

// expectation is what a corpus buildspec says of its own run, in its
// "# expect ...:" header lines (buildspec/testdata/valid).
type expectation struct {
	status    string
	phases    []string // NAME=STATUS, exactly the phases that ran
	output    []string // words the commands' output must have
	noOutput  []string // words it must not have
	exported  map[string]string
	artifacts []string // nil: not checked
	secondary map[string][]string
	symlinks  []string
	name      string
	env       map[string]string
}

func readExpectation(t *testing.T, data []byte) expectation {
	t.Helper()
	e := expectation{env: map[string]string{}, secondary: map[string][]string{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		key, val, ok := strings.Cut(strings.TrimPrefix(line, "# "), ": ")
		if !ok || !strings.HasPrefix(line, "# ") {
			continue
		}
		words := strings.Fields(val)
		pairs := func() map[string]string {
			m := map[string]string{}
			for _, w := range words {
				k, v, _ := strings.Cut(w, "=")
				m[k] = v
			}
			return m
		}
		switch {
		case key == "expect status":
			e.status = val
		case key == "expect phases":
			e.phases = words
		case key == "expect output":
			e.output = words
		case key == "expect no output":
			e.noOutput = words
		case key == "expect exported":
			e.exported = pairs()
		case key == "expect artifacts":
			e.artifacts = words
		case strings.HasPrefix(key, "expect secondary "):
			e.secondary[strings.TrimPrefix(key, "expect secondary ")] = words
		case key == "expect symlink":
			e.symlinks = words
		case key == "expect artifact name":
			e.name = val
		case key == "env":
			e.env = pairs()
		}
	}
	if e.status == "" {
		t.Fatal("the buildspec has no '# expect status:' line")
	}
	return e
}

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
func commandOutput(log string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if !strings.HasPrefix(l, "[Container] ") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestCorpus runs every valid buildspec of the corpus with the process
// executor and checks what its header expects: status, the phases that
// ran, output, exported variables, the artifact's layout.
func TestCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "buildspec", "testdata", "valid", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yml")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want := readExpectation(t, data)
			spec, diags := buildspec.Load(filepath.Base(file), data)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			src := t.TempDir()
			if err := os.WriteFile(filepath.Join(src, "buildspec.yml"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "out")
			opts := Options{
				Executor:     &executor.Process{Root: t.TempDir()},
				SourceDir:    src,
				BuildID:      "local:" + name,
				Initiator:    "local/test",
				BaseEnv:      HostBaseEnv(),
				Secrets:      map[string]string{},
				ArtifactsDir: out,
				SecondaryDir: func(id string) string { return out + "-" + id },
				Timeout:      time.Minute,
			}
			secret := map[string]bool{}
			for _, v := range spec.Env.ParameterStore {
				secret[v.Name] = true
			}
			for k, v := range want.env {
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
			if res.Status != want.status {
				t.Errorf("status = %s, want %s", res.Status, want.status)
			}
			if want.phases != nil {
				var got []string
				for _, p := range res.Phases {
					got = append(got, p.Name+"="+p.Status)
				}
				if !reflect.DeepEqual(got, want.phases) {
					t.Errorf("phases = %v, want %v", got, want.phases)
				}
			}
			output := commandOutput(log.String())
			for _, w := range want.output {
				if !strings.Contains(output, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			for _, w := range want.noOutput {
				if strings.Contains(output, w) {
					t.Errorf("output has %q", w)
				}
			}
			if want.exported != nil && !reflect.DeepEqual(res.ExportedVariables, want.exported) {
				t.Errorf("exported = %v, want %v", res.ExportedVariables, want.exported)
			}
			if want.artifacts != nil {
				sort.Strings(want.artifacts)
				if !reflect.DeepEqual(res.Artifacts, want.artifacts) {
					t.Errorf("artifacts = %v, want %v", res.Artifacts, want.artifacts)
				}
				if got := listTree(t, out); !reflect.DeepEqual(got, want.artifacts) {
					t.Errorf("files in %s = %v, want %v", out, got, want.artifacts)
				}
			}
			for id, files := range want.secondary {
				if got := listTree(t, out+"-"+id); !reflect.DeepEqual(got, files) {
					t.Errorf("secondary %s = %v, want %v", id, got, files)
				}
			}
			for _, l := range want.symlinks {
				if st, err := os.Lstat(filepath.Join(out, l)); err != nil || st.Mode()&os.ModeSymlink == 0 {
					t.Errorf("%s is not a symbolic link in the artifact (%v)", l, err)
				}
			}
			if want.name != "" && res.ArtifactName != want.name {
				t.Errorf("artifact name = %q, want %q", res.ArtifactName, want.name)
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

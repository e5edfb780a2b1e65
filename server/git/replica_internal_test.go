package git

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/server/git/gitexec"
)

// TestSetRefsLeavesMissingObjects: the copy's refs become exactly the wanted ones, except a ref
// whose object the copy lacks, which is left as it was (errMissing) until its pack arrives.
func TestSetRefsLeavesMissingObjects(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	ctx := context.Background()
	tmp := t.TempDir()
	g, err := gitexec.New(ctx, gitexec.Config{Home: filepath.Join(tmp, "home")})
	if err != nil {
		t.Fatal(err)
	}
	dir, hooks := filepath.Join(tmp, "repo"), filepath.Join(tmp, "hooks")
	if err := g.InitBare(ctx, dir, "main", hooks); err != nil {
		t.Fatal(err)
	}
	blob, err := g.Output(ctx, dir, "hash-object", "-w", "--stdin")
	if err != nil {
		t.Fatal(err)
	}
	have := strings.TrimSpace(string(blob))
	if err := g.Run(ctx, gitexec.Command{Args: []string{"update-ref", "refs/tags/stale", have}, GitDir: dir}); err != nil {
		t.Fatal(err)
	}
	p := &Replica{}
	missing := strings.Repeat("1", 40)
	err = p.setRefs(ctx, g, dir, map[string]string{"refs/tags/kept": have, "refs/heads/later": missing})
	if !errors.Is(err, errMissing) {
		t.Fatalf("setRefs with a missing object: %v, want errMissing", err)
	}
	out, err := g.Output(ctx, dir, "for-each-ref", "--format=%(objectname) %(refname)")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != have+" refs/tags/kept" {
		t.Fatalf("refs after setRefs:\n%s\nwant only refs/tags/kept (refs/tags/stale deleted, refs/heads/later left)", got)
	}
	if err := p.setRefs(ctx, g, dir, map[string]string{"refs/tags/kept": have}); err != nil {
		t.Fatalf("setRefs with nothing to do: %v", err)
	}
}

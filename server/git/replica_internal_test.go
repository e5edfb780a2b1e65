package git

import (
	"bytes"
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

// TestPackNameIsGitsName: packName reads a pack's name as index-pack gives it (so the replica
// can see that the receiving server's copy already holds a push's pack), and refuses a blob too
// short to be a pack.
func TestPackNameIsGitsName(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	ctx := context.Background()
	tmp := t.TempDir()
	g, err := gitexec.New(ctx, gitexec.Config{Home: filepath.Join(tmp, "home")})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, "repo")
	if err := g.InitBare(ctx, dir, "main", filepath.Join(tmp, "hooks")); err != nil {
		t.Fatal(err)
	}
	oid, err := g.Output(ctx, dir, "hash-object", "-w", "--stdin")
	if err != nil {
		t.Fatal(err)
	}
	var pack bytes.Buffer
	if err := g.Run(ctx, gitexec.Command{Args: []string{"pack-objects", "--stdout"}, GitDir: dir, Stdin: bytes.NewReader(oid), Stdout: &pack}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := g.Run(ctx, gitexec.Command{Args: []string{"index-pack", "--stdin"}, GitDir: dir, Stdin: bytes.NewReader(pack.Bytes()), Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	_, want, _ := strings.Cut(strings.TrimSpace(out.String()), "\t") // "pack\tNAME"
	got, err := packName(bytes.NewReader(pack.Bytes()), int64(pack.Len()))
	if err != nil || got != want {
		t.Fatalf("packName = %q, %v; index-pack named it %q", got, err, want)
	}
	if _, err := packName(bytes.NewReader(make([]byte, 31)), 31); err == nil {
		t.Error("packName of 31 bytes succeeded; want an error")
	}
}

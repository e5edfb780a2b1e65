package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseImportSource(t *testing.T) {
	dir := t.TempDir()
	bundle := filepath.Join(dir, "web.bundle")
	if err := os.WriteFile(bundle, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		from   string
		bundle bool
		shown  string
		err    string
	}{
		{from: bundle, bundle: true, shown: bundle},
		{from: dir, shown: dir},
		{from: "https://git.example.com/team/web.git", shown: "https://git.example.com/team/web.git"},
		{from: "https://me:secret@git.example.com/web.git", shown: "https://me@git.example.com/web.git"},
		{from: "git@git.example.com:team/web.git", shown: "git@git.example.com:team/web.git"},
		{from: "-uhack", err: "cannot start with '-'"},
		{from: "--upload-pack=sh", err: "cannot start with '-'"},
		{from: "ext::sh -c id", err: "ext:: and fd::"},
		{from: "fd::3", err: "ext:: and fd::"},
		{from: "https://x/\nevil", err: "line break"},
		{from: filepath.Join(dir, "missing"), err: "no such file or directory"},
	} {
		got, err := parseImportSource(c.from)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("parseImportSource(%q) = %+v, %v; want an error with %q", c.from, got, err, c.err)
			}
			continue
		}
		if err != nil || got.Bundle != c.bundle || got.Shown != c.shown {
			t.Errorf("parseImportSource(%q) = %+v, %v; want bundle %v shown %q", c.from, got, err, c.bundle, c.shown)
		}
	}
}

// FuzzParseImportSource: whatever --from is, git is never handed an option, a command
// transport or a line break.
func FuzzParseImportSource(f *testing.F) {
	for _, s := range []string{"https://h/r.git", "-x", "ext::sh", "a:b", "./r.git", "fd::1", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, from string) {
		src, err := parseImportSource(from)
		if err != nil {
			return
		}
		if strings.HasPrefix(src.Location, "-") || strings.HasPrefix(src.Location, "ext::") || strings.HasPrefix(src.Location, "fd::") || strings.ContainsAny(src.Location, "\x00\r\n") {
			t.Fatalf("parseImportSource(%q) accepted %q", from, src.Location)
		}
	})
}

func TestImportOrder(t *testing.T) {
	refs := map[string]string{"refs/tags/v1": "a", "refs/heads/a": "b", "refs/heads/trunk": "c", "refs/heads/z": "d", "refs/tags/v0": "e"}
	got := importOrder(refs, "trunk")
	want := []string{"refs/heads/trunk", "refs/heads/a", "refs/heads/z", "refs/tags/v0", "refs/tags/v1"}
	if !slices.Equal(got, want) {
		t.Fatalf("importOrder = %v, want %v", got, want)
	}
}

func TestParsePorcelain(t *testing.T) {
	out := "To https://h/git/web.git\n" +
		"*\trefs/heads/dev:refs/heads/dev\t[new branch]\n" +
		"=\trefs/tags/v1:refs/tags/v1\t[up to date]\n" +
		"!\trefs/heads/main:refs/heads/main\t[rejected] (fetch first)\n" +
		"!\trefs/heads/x:refs/heads/x\t[remote rejected] (denied: codecommit:GitPush)\n" +
		"Done\n"
	got := parsePorcelain(out)
	want := []porcelainLine{
		{'*', "refs/heads/dev", "[new branch]"},
		{'=', "refs/tags/v1", "[up to date]"},
		{'!', "refs/heads/main", "fetch first"},
		{'!', "refs/heads/x", "denied: codecommit:GitPush"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("parsePorcelain = %+v\nwant %+v", got, want)
	}
}

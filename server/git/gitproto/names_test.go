package gitproto

import (
	"os/exec"
	"strings"
	"testing"
)

func TestValidateRepoName(t *testing.T) {
	ok := []string{"a", "app", "My-Repo_1.0", "..a", ".hidden", "a.gi", "git", strings.Repeat("x", 100)}
	for _, n := range ok {
		if err := ValidateRepoName(n); err != nil {
			t.Errorf("ValidateRepoName(%q) = %v, want ok", n, err)
		}
	}
	bad := []string{"", ".", "..", "a.git", ".git", strings.Repeat("x", 101), "a/b", "a b", "a\\b", "é", "a\x00", "a%2f", "a:b", "a@b"}
	for _, n := range bad {
		if err := ValidateRepoName(n); err == nil {
			t.Errorf("ValidateRepoName(%q) = nil, want an error", n)
		}
	}
}

// refNameCases are ref names with what git check-ref-format says of them.
var refNameCases = []struct {
	name string
	ok   bool
}{
	{"refs/heads/main", true},
	{"refs/heads/feature/x-1.2_b", true},
	{"refs/tags/v1.0", true},
	{"refs/heads/été", true},
	{"refs/heads/a@b", true},
	{"refs/heads/@", true},
	{"refs/heads/a.lock.b", true},
	{"refs/heads/a#b", true},
	{"refs/for/main%topic", true},
	{"refs/heads/a..b", false},
	{"refs/heads/.hidden", false},
	{"refs/heads/a/.b", false},
	{"refs/heads/a.lock", false},
	{"refs/heads/a.lock/b", false},
	{"refs/heads/a.", false},
	{"refs/heads/a/", false},
	{"refs/heads//a", false},
	{"refs/heads/a b", false},
	{"refs/heads/a~1", false},
	{"refs/heads/a^", false},
	{"refs/heads/a:b", false},
	{"refs/heads/a?", false},
	{"refs/heads/a*", false},
	{"refs/heads/a[b", false},
	{"refs/heads/a\\b", false},
	{"refs/heads/a@{1}", false},
	{"refs/heads/a\tb", false},
	{"refs/heads/a\x7fb", false},
	{"refs/heads/a\x01b", false},
}

func TestValidateRefName(t *testing.T) {
	for _, tt := range refNameCases {
		if err := ValidateRefName(tt.name); (err == nil) != tt.ok {
			t.Errorf("ValidateRefName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
	// Slipway's own rules, stricter than git's.
	for _, n := range []string{"HEAD", "main", "heads/main", "refs/", "refs", "/refs/heads/a", "refs/heads/\xff", "refs/heads/" + strings.Repeat("a", MaxRefNameLen)} {
		if err := ValidateRefName(n); err == nil {
			t.Errorf("ValidateRefName(%q) = nil, want an error", n)
		}
	}
}

// TestValidateRefNameAgreesWithGit checks the table against the real git check-ref-format,
// so the table cannot drift from git.
func TestValidateRefNameAgreesWithGit(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git not installed")
	}
	for _, tt := range refNameCases {
		err := exec.Command(git, "check-ref-format", tt.name).Run()
		if (err == nil) != tt.ok {
			t.Errorf("git check-ref-format %q: %v, table says ok=%v", tt.name, err, tt.ok)
		}
	}
}

// FuzzValidateRefName checks that every name accepted is also accepted by git's rules as
// restated here independently (a second, naive implementation).
func FuzzValidateRefName(f *testing.F) {
	for _, tt := range refNameCases {
		f.Add(tt.name)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidateRefName(name) != nil {
			return
		}
		if !strings.HasPrefix(name, "refs/") || strings.HasSuffix(name, "/") || strings.HasSuffix(name, ".") ||
			strings.Contains(name, "//") || strings.Contains(name, "/.") || strings.Contains(name, "..") ||
			strings.Contains(name, "@{") || strings.Contains(name, ".lock/") || strings.HasSuffix(name, ".lock") ||
			strings.ContainsAny(name, " ~^:?*[\\\x7f") || len(name) > MaxRefNameLen {
			t.Fatalf("accepted %q", name)
		}
		for _, c := range []byte(name) {
			if c < 0x20 {
				t.Fatalf("accepted %q with a control byte", name)
			}
		}
	})
}

func FuzzValidateRepoName(f *testing.F) {
	for _, s := range []string{"app", ".", "..", "a.git", "a/b", strings.Repeat("x", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidateRepoName(name) != nil {
			return
		}
		if name == "" || len(name) > MaxRepoNameLen || name == "." || name == ".." || strings.HasSuffix(name, ".git") ||
			strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != "" {
			t.Fatalf("accepted %q", name)
		}
	})
}

package gitproto

import (
	"strings"
	"testing"
)

func TestParseSSHCommand(t *testing.T) {
	for _, c := range []struct {
		cmd  string
		svc  Service
		name string
	}{
		{"git-upload-pack 'app.git'", UploadPack, "app"},
		{"git-upload-pack '/app.git'", UploadPack, "app"},
		{"git-receive-pack '/my_repo-1.x.git'", ReceivePack, "my_repo-1.x"},
		{"git-receive-pack 'app'", ReceivePack, "app"},
		{"git upload-pack 'app.git'", UploadPack, "app"},
		{"git receive-pack '/app.git'", ReceivePack, "app"},
		{"git-upload-pack /app.git", UploadPack, "app"},
		{"git-upload-pack 'a'\\''b.git'", "", ""}, // a quote is not a name character
	} {
		svc, name, err := ParseSSHCommand(c.cmd)
		if c.svc == "" {
			if err == nil {
				t.Errorf("%q: accepted as %s %s", c.cmd, svc, name)
			}
			continue
		}
		if err != nil || svc != c.svc || name != c.name {
			t.Errorf("%q = %s, %q, %v; want %s, %q", c.cmd, svc, name, err, c.svc, c.name)
		}
	}
}

func TestParseSSHCommandRefusals(t *testing.T) {
	for cmd, want := range map[string]string{
		"":                                "not a git command",
		"ls -la":                          "not a command this server runs",
		"git-upload-archive 'app.git'":    "not a command this server runs",
		"git upload-archive 'app.git'":    "not a command this server runs",
		"git status":                      "not a git command this server runs",
		"sh -c 'id'":                      "not a command this server runs",
		"git-upload-pack":                 "not a git command",
		"git-upload-pack ''":              "repository name is empty",
		"git-upload-pack 'a/b.git'":       "names a directory",
		"git-upload-pack '../app.git'":    "names a directory",
		"git-upload-pack '..'":            "not allowed",
		"git-upload-pack 'app.git' extra": "text after the quoted path",
		"git-upload-pack 'app.git":        "unterminated quote",
		"git-upload-pack app.git; id":     "not one word",
		"git-receive-pack 'app.git.git'":  "ends in",
		"git-upload-pack '" + strings.Repeat("a", 600) + "'": "over the limit",
	} {
		_, _, err := ParseSSHCommand(cmd)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one saying %q", cmd, err, want)
		}
	}
}

func TestSqDequote(t *testing.T) {
	for in, want := range map[string]string{
		"'a'":          "a",
		"'a'\\''b'":    "a'b",
		"'a'\\!'b'":    "a!b",
		"'a'\\'":       "a'",
		"bare":         "bare",
		"'with space'": "with space",
	} {
		if got, err := sqDequote(in); err != nil || got != want {
			t.Errorf("sqDequote(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// FuzzParseSSHCommand: no input panics, and an accepted command names a valid repository
// and one of the two services.
func FuzzParseSSHCommand(f *testing.F) {
	for _, s := range []string{"git-upload-pack 'app.git'", "git receive-pack '/app.git'", "git-upload-pack 'a'\\''b'", "sh", "git-upload-pack '", "git-receive-pack 'x'\\!'y.git'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cmd string) {
		svc, name, err := ParseSSHCommand(cmd)
		if err != nil {
			return
		}
		if svc != UploadPack && svc != ReceivePack {
			t.Fatalf("%q: service %q", cmd, svc)
		}
		if verr := ValidateRepoName(name); verr != nil {
			t.Fatalf("%q: accepted name %q: %v", cmd, name, verr)
		}
	})
}

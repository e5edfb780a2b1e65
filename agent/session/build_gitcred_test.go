package session

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestGitCredentialEnv: with gitCredentialEnv's environment, real git's credential fill answers
// the token for each server (any path on it), and nothing for another host; a helper of the
// user's configuration is not asked for the servers.
func TestGitCredentialEnv(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	home := t.TempDir()
	// The user's own helper, which must not answer for the cluster.
	if err := os.WriteFile(home+"/.gitconfig", []byte("[credential]\n\thelper = \"!f() { echo username=user; echo password=users-own; }; f\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1"}
	for _, v := range gitCredentialEnv([]string{"http://127.0.0.1:7400/", "https://s2.example:7443", "http://127.0.0.1:7400"}, "slw_secret-token") {
		env = append(env, v.Name+"="+v.Value)
	}
	fill := func(input string) (string, error) {
		cmd := exec.Command("git", "credential", "fill")
		cmd.Env = env
		cmd.Dir = home
		cmd.Stdin = strings.NewReader(input)
		out, err := cmd.Output()
		return string(out), err
	}
	for _, in := range []string{"protocol=http\nhost=127.0.0.1:7400\npath=git/libs.git\n\n", "protocol=https\nhost=s2.example:7443\n\n"} {
		out, err := fill(in)
		if err != nil || !strings.Contains(out, "username=build\n") || !strings.Contains(out, "password=slw_secret-token\n") {
			t.Fatalf("credential fill %q: %v\n%s", in, err, out)
		}
	}
	if out, err := fill("protocol=https\nhost=github.com\n\n"); err != nil || !strings.Contains(out, "password=users-own") {
		t.Fatalf("another host: %v\n%s", err, out)
	}
	var count string
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "GIT_CONFIG_COUNT="); ok {
			count = v
		}
	}
	if count != "4" {
		t.Fatalf("GIT_CONFIG_COUNT=%s, want 4 (two servers, the duplicate dropped)", count)
	}
}

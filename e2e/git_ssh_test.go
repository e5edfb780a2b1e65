//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/api"
)

// TestGitOverSSHAcrossServers: on three real servers, a user with a key added by `slipway iam
// key add` pushes over SSH to one server and clones over SSH from another, with ONE known_hosts
// entry pinned under the alias slipway-cluster and StrictHostKeyChecking=yes: every server
// presents the same host key. Its clone URL and the host key come from the CLI; a read-only
// user's push is refused with the reason, and an unknown key is refused at authentication.
func TestGitOverSSHAcrossServers(t *testing.T) {
	for _, bin := range []string{"git", "ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed", bin)
		}
	}
	c := startCluster(t, 3, clusterOptions{})
	c.WaitToken(60 * time.Second) // every server has applied the management token
	if r := runCLI(t, "", c.Env(0), "repo", "create", "tools"); r.code != 0 {
		t.Fatalf("repo create: %s", r)
	}
	keys := t.TempDir()
	for _, u := range []struct{ name, policy string }{{"ana", "CodeCommitFullAccess"}, {"rey", "CodeCommitReadOnlyAccess"}} {
		if r := runCLI(t, "", c.Env(0), "iam", "user", "create", u.name); r.code != 0 {
			t.Fatalf("user create: %s", r)
		}
		if r := runCLI(t, "", c.Env(0), "iam", "policy", "attach", u.policy, "--user", u.name); r.code != 0 {
			t.Fatalf("policy attach: %s", r)
		}
	}
	for _, who := range []string{"ana", "rey", "nobody"} {
		key := filepath.Join(keys, who)
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", who, "-f", key).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
		if who != "nobody" {
			if r := runCLI(t, "", c.Env(1), "iam", "key", "add", who, key+".pub"); r.code != 0 {
				t.Fatalf("iam key add: %s", r)
			}
		}
	}

	// The host key, pinned once for every server under one alias.
	var hk api.GitSSHHostKey
	if r := runCLI(t, "", c.Env(2), "repo", "host-key", "--output", "json"); r.code != 0 || json.Unmarshal([]byte(r.stdout), &hk) != nil || hk.Port == 0 {
		t.Fatalf("repo host-key: %s", r)
	}
	known := filepath.Join(keys, "known_hosts")
	if err := os.WriteFile(known, []byte("slipway-cluster "+hk.PublicKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sshGit := func(dir, who string, args ...string) (string, error) {
		return gitRun(t, dir, append([]string{"-c", "core.sshCommand=ssh -F /dev/null -i " + filepath.Join(keys, who) +
			" -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=" + known +
			" -o StrictHostKeyChecking=yes -o HostKeyAlias=slipway-cluster -o LogLevel=ERROR"}, args...)...)
	}
	urlOf := func(i int) string {
		var repo api.Repository
		r := runCLI(t, "", c.Env(i), "repo", "get", "tools", "--output", "json")
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &repo) != nil {
			t.Fatalf("repo get: %s", r)
		}
		if want := "ssh://git@" + c.nodes[i].sshAddr + "/tools.git"; repo.CloneURLSSH != want {
			t.Fatalf("clone_url_ssh through server%d: %q; want %q", i, repo.CloneURLSSH, want)
		}
		return repo.CloneURLSSH
	}

	work := t.TempDir()
	mustGit(t, work, "init", "-q", "-b", "main", "src")
	src := filepath.Join(work, "src")
	if err := os.WriteFile(filepath.Join(src, "README"), []byte("tools\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustGit(t, src, "add", ".")
	mustGit(t, src, "commit", "-q", "-m", "first")
	// The user's key was added through another server: this one finds it at once (a key it does
	// not know yet is looked up again after a consistent read).
	if out, err := sshGit(src, "ana", "push", "-q", urlOf(0), "main"); err != nil {
		t.Fatalf("ana's push over SSH to server0: %v\n%s", err, out)
	}
	head := strings.TrimSpace(mustGit(t, src, "rev-parse", "HEAD"))
	for _, i := range []int{1, 2} {
		dir := filepath.Join(work, fmt.Sprintf("clone%d", i))
		if out, err := sshGit(work, "rey", "-c", "protocol.version=2", "clone", "-q", urlOf(i), dir); err != nil {
			t.Fatalf("clone over SSH through server%d with the same pinned key: %v\n%s", i, err, out)
		}
		if got := strings.TrimSpace(mustGit(t, dir, "rev-parse", "HEAD")); got != head {
			t.Fatalf("clone through server%d is at %s; want the push's %s", i, got, head)
		}
	}

	mustGit(t, src, "commit", "-q", "--allow-empty", "-m", "second")
	if out, err := sshGit(src, "rey", "push", urlOf(1), "main"); err == nil || !strings.Contains(out, "not allowed: codecommit:GitPush") || !strings.Contains(out, `user "rey"`) {
		t.Errorf("a read-only user's push: %v\n%s\nwant the denial named", err, out)
	}
	if out, err := sshGit(src, "nobody", "push", urlOf(1), "main"); err == nil || !strings.Contains(out, "Permission denied (publickey)") {
		t.Errorf("an unknown key: %v\n%s\nwant Permission denied (publickey)", err, out)
	}
}

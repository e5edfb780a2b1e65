package transport_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/server/core/audit"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/git/transport"
)

// keyOwners maps key fingerprints to users, as the identity service's KeyOwner does.
type keyOwners map[string]string

func (k keyOwners) KeyOwner(fp string) (string, error) {
	if u, ok := k[fp]; ok {
		return u, nil
	}
	return "", fault.New(fault.NotFound, "no user has the SSH key %s", fp)
}

// startSSH serves the fixture's transport over SSH on a free port: a key per user (admin,
// reader, feature, and "nobody", a user without policies; "stranger" has one no user owns), known_hosts pinning the host key under
// the alias slipway-cluster, and an ssh wrapper that picks the key by the URL's user name.
func startSSH(t *testing.T, f *fixture, tweak ...func(*transport.SSHConfig)) {
	t.Helper()
	for _, bin := range []string{"ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed", bin)
		}
	}
	dir := t.TempDir()
	owners := keyOwners{}
	for _, who := range []string{"admin", "reader", "feature", "nobody", "stranger"} {
		key := filepath.Join(dir, who)
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", who, "-f", key).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
		pubLine, err := os.ReadFile(key + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		pk, _, _, _, err := ssh.ParseAuthorizedKey(pubLine)
		if err != nil {
			t.Fatal(err)
		}
		if who != "stranger" {
			owners[ssh.FingerprintSHA256(pk)] = who
		}
	}
	hostKey, err := transport.HostKeySeed([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	known := "slipway-cluster " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(hostKey.PublicKey()))) + "\n"
	if err := os.WriteFile(filepath.Join(dir, "known_hosts"), []byte(known), 0o600); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(`#!/bin/sh
# The key is the one named by the URL's user (ssh://WHO@HOST:PORT/...).
who=admin
for a in "$@"; do case "$a" in *@*) who=${a%%%%@*};; esac; done
exec ssh -F /dev/null -i %[1]s/$who -o IdentitiesOnly=yes -o UserKnownHostsFile=%[1]s/known_hosts \
	-o StrictHostKeyChecking=yes -o HostKeyAlias=slipway-cluster -o BatchMode=yes -o LogLevel=ERROR "$@"
`, dir)
	if err := os.WriteFile(filepath.Join(dir, "ssh"), []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := transport.SSHConfig{HostKey: hostKey, Keys: owners}
	for _, tw := range tweak {
		tw(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.tr.ServeSSH(ctx, ln, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeSSH: %v", err)
		}
	})
	f.sshAddr, f.sshDir = ln.Addr().String(), dir
}

// TestSSHPushAndFetch runs TestPushAndFetch's git operations over SSH: clones in v0 and v2,
// shallow and deepen, partial, a new branch, force push, delete, push options, and --atomic
// with one failed compare-and-swap; plus tags, light and annotated.
func TestSSHPushAndFetch(t *testing.T) {
	f := newFixture(t)
	startSSH(t, f)
	pushAndFetch(t, f)

	src := f.clientRepo()
	f.git(src, "tag", "light")
	f.git(src, "tag", "-a", "-m", "annotated", "v1.0")
	f.git(src, "push", "-q", f.url("admin"), "light", "v1.0")
	if f.serverRef("refs/tags/light") != f.head(src, "light") || f.serverRef("refs/tags/v1.0") != f.head(src, "v1.0") {
		t.Fatal("the tags did not arrive")
	}
	if typ := strings.TrimSpace(f.git(f.bare, "--git-dir", f.bare, "cat-file", "-t", "refs/tags/v1.0")); typ != "tag" {
		t.Errorf("v1.0 on the server is a %s; want an annotated tag", typ)
	}
	out := f.git("", "ls-remote", "--tags", f.url("reader"))
	if !strings.Contains(out, "refs/tags/v1.0^{}") || !strings.Contains(out, "refs/tags/light") {
		t.Errorf("ls-remote --tags:\n%s", out)
	}
	if !f.audit.find(transport.ActionGitPull, audit.OutcomeAllowed, "reader") {
		t.Error("no audit record of the reader's SSH upload-pack")
	}
}

// TestSSHRefusals: an unknown key is refused at authentication (git's "Permission denied
// (publickey)"); a read-only user's push and a push of main by a user allowed
// refs/heads/feature/* only are refused whole with the reason on stderr, and audited; a
// shell, another command and a bad path get a message and a non-zero exit.
func TestSSHRefusals(t *testing.T) {
	f := newFixture(t)
	startSSH(t, f)
	src := f.clientRepo()
	f.git(src, "push", "-q", f.url("admin"), "main")

	out, err := f.try("", "clone", "-q", f.url("stranger"), filepath.Join(t.TempDir(), "c"))
	if err == nil || !strings.Contains(out, "Permission denied (publickey)") {
		t.Errorf("a clone with an unknown key: %v\n%s\nwant Permission denied (publickey)", err, out)
	}

	out, err = f.try("", "clone", "-q", f.url("nobody"), filepath.Join(t.TempDir(), "n"))
	if err == nil || !strings.Contains(out, `not allowed: codecommit:GitPull on srn:slipway:codecommit:repo/app (user "nobody")`) {
		t.Errorf("a clone by a user without policies: %v\n%s\nwant the denial named", err, out)
	}
	if n := f.audit.count(transport.ActionGitPull, audit.OutcomeDenied, "nobody"); n != 1 {
		t.Errorf("the refused clone has %d denied audit records; want 1", n)
	}

	f.git(src, "commit", "-q", "--allow-empty", "-m", "three")
	before := f.serverRef("refs/heads/main")
	out, err = f.try(src, "push", f.url("reader"), "main")
	t.Logf("a read-only user pushing:\n%s", out)
	if err == nil || !strings.Contains(out, `not allowed: codecommit:GitPush on srn:slipway:codecommit:repo/app (user "reader")`) {
		t.Errorf("a read-only user pushing: %v\n%s\nwant the denial named", err, out)
	}
	if n := f.audit.count(transport.ActionGitPush, audit.OutcomeDenied, "reader"); n != 1 {
		t.Errorf("the reader's refused push has %d denied audit records; want exactly 1", n)
	}

	out, err = f.try(src, "push", f.url("feature"), "main", "main:refs/heads/feature/ok")
	if err == nil || !strings.Contains(out, "! [remote rejected] main -> main (denied: ") || !strings.Contains(out, "slipway:ReferenceName=refs/heads/main") {
		t.Errorf("a feature-only user pushing main: %v\n%s\nwant main rejected in git's report with the denial", err, out)
	}
	// As git defines a push that is not atomic: the allowed ref moves, the denied one does not.
	if f.serverRef("refs/heads/feature/ok") != f.head(src, "main") || f.serverRef("refs/heads/main") != before {
		t.Error("a push with one denied ref: want the allowed ref moved and the denied one kept")
	}
	f.git(src, "push", "-q", f.url("feature"), "main:refs/heads/feature/ok")
	if f.serverRef("refs/heads/feature/ok") != f.head(src, "main") {
		t.Error("the feature user could not push refs/heads/feature/ok")
	}

	out, err = f.try("", "clone", "-q", strings.Replace(f.url("reader"), "app.git", "nope.git", 1), filepath.Join(t.TempDir(), "d"))
	if err == nil || !strings.Contains(out, "nope") {
		t.Errorf("a clone of an unknown repository: %v\n%s", err, out)
	}

	host, port, _ := net.SplitHostPort(f.sshAddr)
	for name, args := range map[string][]string{ // DEST is the server
		"shell":      {"DEST"},
		"command":    {"DEST", "ls", "-la"},
		"archive":    {"DEST", "git-upload-archive", "'app.git'"},
		"path":       {"DEST", "git-upload-pack", "'../etc.git'"},
		"subsystem":  {"-s", "DEST", "sftp"},
		"forwarding": {"-W", "127.0.0.1:1", "DEST"},
	} {
		full := []string{"-p", port, "-T"}
		for _, a := range args {
			full = append(full, strings.Replace(a, "DEST", "reader@"+host, 1))
		}
		cmd := exec.Command(filepath.Join(f.sshDir, "ssh"), full...)
		cmd.Stdin = strings.NewReader("")
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("%s: ssh %v succeeded:\n%s", name, args, out)
			continue
		}
		t.Logf("%s: %v\n%s", name, err, out)
		want := "lipway" // the server's message names Slipway
		if name == "forwarding" {
			want = "forwarding failed" // the channel is refused; ssh says so
		}
		if !strings.Contains(string(out), want) {
			t.Errorf("%s: no message from the server:\n%s", name, out)
		}
	}
}

// dialSSH connects as who (the fixture's key of that name), trusting the fixture's host key.
func dialSSH(t *testing.T, f *fixture, who string) (*ssh.Client, error) {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(f.sshDir, who))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	known, err := os.ReadFile(filepath.Join(f.sshDir, "known_hosts"))
	if err != nil {
		t.Fatal(err)
	}
	_, _, hostKey, _, _, err := ssh.ParseKnownHosts(known)
	if err != nil {
		t.Fatal(err)
	}
	return ssh.Dial("tcp", f.sshAddr, &ssh.ClientConfig{User: "git", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.FixedHostKey(hostKey)})
}

// TestSSHSession: GIT_PROTOCOL reaches git (v2 is spoken when asked for) and a bad one fails
// the command with a message; other variables are refused; a connection holds at most
// MaxChannels sessions, a user at most MaxConnsPerUser connections, and an idle connection is
// closed.
func TestSSHSession(t *testing.T) {
	f := newFixture(t)
	startSSH(t, f, func(c *transport.SSHConfig) {
		c.MaxChannels, c.MaxConnsPerUser = 2, 2
	})
	src := f.clientRepo()
	f.git(src, "push", "-q", f.url("admin"), "main")

	for version, want := range map[string]string{"2": "ls-remote< version 2", "0": ""} {
		cmd := exec.Command("git", "-c", "protocol.version="+version, "ls-remote", f.url("reader"))
		cmd.Env = []string{"HOME=" + f.home, "PATH=/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM=1", "GIT_TRACE_PACKET=1",
			"GIT_SSH_COMMAND=" + filepath.Join(f.sshDir, "ssh"), "GIT_SSH_VARIANT=ssh"}
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "refs/heads/main") {
			t.Fatalf("ls-remote in protocol v%s: %v\n%s", version, err, out)
		}
		if version == "2" && !strings.Contains(string(out), want) {
			t.Errorf("ls-remote asked for protocol v2 but the server did not speak it:\n%s", out)
		}
		if version == "0" && strings.Contains(string(out), "version 2") {
			t.Errorf("ls-remote in protocol v0 got v2:\n%s", out)
		}
	}

	cl, err := dialSSH(t, f, "reader")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cl.Close() }()
	sess, err := cl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Setenv("LD_PRELOAD", "/tmp/x.so"); err == nil {
		t.Error("a variable other than GIT_PROTOCOL was accepted")
	}
	if err := sess.Setenv("GIT_PROTOCOL", "version=2\x00evil"); err == nil {
		t.Error("an invalid GIT_PROTOCOL was accepted")
	}
	var stderr strings.Builder
	sess.Stderr = &stderr
	err = sess.Run("git-upload-pack 'app.git'")
	var exit *ssh.ExitError
	if !errors.As(err, &exit) || exit.ExitStatus() == 0 || !strings.Contains(stderr.String(), "GIT_PROTOCOL") {
		t.Errorf("upload-pack after an invalid GIT_PROTOCOL: %v, stderr %q; want a non-zero exit naming GIT_PROTOCOL", err, stderr.String())
	}

	// Two sessions at once are allowed on one connection, a third is refused. The finished
	// session's channel is released on the server when its goroutine ends, after the client saw
	// its exit: until then only one more fits.
	_ = sess.Close()
	var open []*ssh.Session
	testutil.Eventually(t, 30*time.Second, func() error {
		for _, s := range open {
			_ = s.Close()
		}
		open = open[:0]
		for range 2 {
			s, err := cl.NewSession()
			if err != nil {
				return fmt.Errorf("a session within MaxChannels: %w", err)
			}
			open = append(open, s)
		}
		return nil
	})
	if _, err := cl.NewSession(); err == nil || !strings.Contains(err.Error(), "at most 2 sessions") {
		t.Errorf("a third session on one connection: %v; want it refused", err)
	}
	for _, s := range open {
		_ = s.Close()
	}

	// reader holds two connections (cl and cl2): a third gets its sessions refused.
	cl2, err := dialSSH(t, f, "reader")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cl2.Close() }()
	cl3, err := dialSSH(t, f, "reader")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cl3.Close() }()
	if _, err := cl3.NewSession(); err == nil || !strings.Contains(err.Error(), "SSH connections to this server") {
		t.Errorf("a session on a user's third connection: %v; want it refused", err)
	}
	// Another user is not limited by reader's connections.
	out, err := f.try("", "ls-remote", f.url("admin"))
	if err != nil || !strings.Contains(out, "refs/heads/main") {
		t.Errorf("admin's ls-remote while reader holds the most connections: %v\n%s", err, out)
	}
}

// TestSSHIdle: a connection on which nothing happens is closed by the server.
func TestSSHIdle(t *testing.T) {
	f := newFixture(t)
	startSSH(t, f, func(c *transport.SSHConfig) { c.IdleTimeout = 200 * time.Millisecond })
	cl, err := dialSSH(t, f, "reader")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cl.Wait() }()
	select {
	case err := <-done: // the server closed it
		t.Logf("the idle connection ended: %v", err)
	case <-time.After(time.Minute):
		_ = cl.Close()
		t.Fatal("an idle connection was not closed within a minute (IdleTimeout 200ms)")
	}
}

// TestSSHAuthFailuresLimited: connections whose key no user has count against the address's
// budget of failed authentications (the HTTP edge's: 20 by default); past it, even a known key
// is refused from that address until the budget refills.
func TestSSHAuthFailuresLimited(t *testing.T) {
	f := newFixture(t)
	startSSH(t, f)
	cl, err := dialSSH(t, f, "admin")
	if err != nil {
		t.Fatalf("admin before any failure: %v", err)
	}
	_ = cl.Close()
	for i := range 21 {
		if cl, err := dialSSH(t, f, "stranger"); err == nil {
			_ = cl.Close()
			t.Fatalf("attempt %d: an unknown key was accepted", i)
		}
	}
	if cl, err := dialSSH(t, f, "admin"); err == nil {
		_ = cl.Close()
		t.Fatal("a known key was accepted from an address over its budget of failed authentications")
	}
}

// TestSSHPushLimit: a push over SSH bigger than MaxPushBytes is refused with the limit named,
// and nothing moves.
func TestSSHPushLimit(t *testing.T) {
	f := newFixture(t, func(c *transport.Config) { c.MaxPushBytes = 4096 })
	startSSH(t, f)
	src := f.clientRepo()
	big := make([]byte, 64<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rng.Uint32()) // incompressible: the pack is over the limit
	}
	if err := writeFile(filepath.Join(src, "big.bin"), big); err != nil {
		t.Fatal(err)
	}
	f.git(src, "add", "big.bin")
	f.git(src, "commit", "-q", "-m", "big")
	start := time.Now()
	out, err := f.try(src, "push", f.url("admin"), "main")
	t.Logf("the push over the limit (%s):\n%s", time.Since(start), out)
	if err == nil || !strings.Contains(out, "over the push size limit of 4096 bytes") {
		t.Errorf("a push over the limit: %v\n%s\nwant the limit named", err, out)
	}
	if f.serverRef("refs/heads/main") != "" {
		t.Error("main moved in a push over the limit")
	}
}

// TestSSHMaxConns: a server serving MaxConns connections closes the next one at once.
func TestSSHMaxConns(t *testing.T) {
	f := newFixture(t)
	startSSH(t, f, func(c *transport.SSHConfig) { c.MaxConns = 1 })
	cl, err := dialSSH(t, f, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if cl2, err := dialSSH(t, f, "reader"); err == nil {
		_ = cl2.Close()
		t.Fatal("a second connection was served with MaxConns 1")
	}
	_ = cl.Close()
	testutil.Eventually(t, 10*time.Second, func() error { // the slot is given back
		cl3, err := dialSSH(t, f, "reader")
		if err == nil {
			_ = cl3.Close()
		}
		return err
	})
	if !strings.Contains(f.logs.String(), "connections refused") {
		t.Errorf("the refusal is not logged:\n%s", f.logs.String())
	}
}

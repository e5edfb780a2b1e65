//go:build testbed

package testbed

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/pkg/tlsutil"
)

// Where a server container keeps its TLS files, and the flags that use them: the README's TLS
// cluster, with the CA key so that servers sign the agents' host certificates.
const (
	serverTLSDir = "/etc/slipway"
	agentCAFile  = "/etc/slipway/ca.pem"
)

var serverTLSFlags = []string{
	"--tls-ca-file", serverTLSDir + "/ca.pem",
	"--tls-ca-key-file", serverTLSDir + "/ca-key.pem",
	"--tls-cert-file", serverTLSDir + "/server.pem",
	"--tls-key-file", serverTLSDir + "/server-key.pem",
}

// bedTLS is one cluster CA, made with `slipway tls ca create` in a folder of the test, and the
// certificates issued from it with `slipway tls cert create`.
type bedTLS struct {
	t            testing.TB
	dir          string
	caPEM        []byte
	caKeyPEM     []byte
	clientConfig *tls.Config // trusts the CA: for the test's clients of the API
}

func newBedTLS(t testing.TB) *bedTLS {
	t.Helper()
	bt := &bedTLS{t: t, dir: t.TempDir()}
	bt.slipway("tls", "ca", "create", "--out", bt.dir, "--name", "testbed CA "+runID)
	bt.caPEM, bt.caKeyPEM = bt.read("ca.pem"), bt.read("ca-key.pem")
	pool, err := tlsutil.CertPool(filepath.Join(bt.dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	bt.clientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	return bt
}

// slipway runs the test side's slipway binary and fails the test on an error.
func (bt *bedTLS) slipway(args ...string) string {
	bt.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, slipwayBin, args...).CombinedOutput()
	if err != nil {
		bt.t.Fatalf("slipway %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (bt *bedTLS) read(name string) []byte {
	bt.t.Helper()
	b, err := os.ReadFile(filepath.Join(bt.dir, name))
	if err != nil {
		bt.t.Fatal(err)
	}
	return b
}

// issue makes a certificate of kind ("server", "client" or "cli") named name, with the
// addresses ips when it is a server's, and returns its PEM certificate and key.
func (bt *bedTLS) issue(kind, name string, ips ...string) (certPEM, keyPEM []byte) {
	bt.t.Helper()
	args := []string{"tls", "cert", "create", "--" + kind, "--ca", bt.dir, "--name", name, "--out", bt.dir}
	for _, ip := range ips {
		args = append(args, "--ip", ip)
	}
	bt.slipway(args...)
	return bt.read(name + ".pem"), bt.read(name + "-key.pem")
}

// serverFiles issues server id's certificate, valid for its addresses, and returns the files a
// server container needs (see serverTLSFlags).
func (bt *bedTLS) serverFiles(id string, ips ...string) map[string][]byte {
	bt.t.Helper()
	cert, key := bt.issue("server", id, ips...)
	return map[string][]byte{
		serverTLSDir + "/ca.pem":         bt.caPEM,
		serverTLSDir + "/ca-key.pem":     bt.caKeyPEM,
		serverTLSDir + "/server.pem":     cert,
		serverTLSDir + "/server-key.pem": key,
	}
}

// probeResult is one line of slipway-probe's output (see testbed/probe).
type probeResult struct {
	Attempt string `json:"attempt"`
	OK      bool   `json:"ok"`
	Stage   string `json:"stage"`
	Detail  string `json:"detail"`
}

// TestRaftPortRefusesStrangers puts strangers on the cluster network, in a container of their
// own, and has each dial every server's Raft port and try what the port serves: a forwarded
// apply creating a management token, a blob write and a blob read (testbed/probe). A stranger
// without TLS, with TLS and no certificate, with a client or a server certificate of another
// CA, and with a CLI certificate of this very cluster are all refused at the TLS handshake,
// and nothing of theirs reaches the state or the disk: their tokens do not exist and do not
// authenticate, their bytes are on no server. The same probe with a server certificate of the
// cluster succeeds at all three, so the refusals are the servers' doing, not the probe's.
func TestRaftPortRefusesStrangers(t *testing.T) {
	b := newBed(t, bedOptions{})
	cl := b.Client(0)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// A blob every server holds, for the strangers to try to read.
	if _, err := cl.AppCreate(ctx, api.AppCreateRequest{Name: "target"}); err != nil {
		t.Fatalf("app create: %v", err)
	}
	data := hookBundle(t, "v1", 0)
	rev, _, err := cl.RevisionPush(ctx, "target", bytes.NewReader(data), int64(len(data)), sha256Hex(data), "")
	if err != nil {
		t.Fatalf("revision push: %v", err)
	}

	// The strangers' credentials.
	other := newBedTLS(t)
	files := map[string][]byte{"/etc/slipway/ca.pem": b.tls.caPEM}
	for _, c := range []struct {
		name     string
		ca       *bedTLS
		kind, cn string
	}{
		{"other-client", other, "client", "stranger"},
		{"other-server", other, "server", "s0"},
		{"cli", b.tls, "cli", "stranger-cli"},
		{"server", b.tls, "server", "control"},
	} {
		files["/etc/slipway/"+c.name+".pem"], files["/etc/slipway/"+c.name+"-key.pem"] = c.ca.issue(c.kind, c.cn)
	}
	x := startContainer(t, containerSpec{Prefix: b.prefix, Role: "x0", Networks: []*network{b.cluster}, Files: files,
		Cmd: []string{"/bin/sleep", "86400"}})

	marker := "stranger-" + newSecret(t)
	type identity struct {
		name  string
		args  []string
		stage string // where every attempt must stop
	}
	strangers := []identity{
		{"no TLS", []string{"--plain"}, "closed"},
		{"TLS without a certificate", nil, "handshake"},
		{"client certificate of another CA", []string{"--cert", "/etc/slipway/other-client.pem", "--key", "/etc/slipway/other-client-key.pem"}, "handshake"},
		{"server certificate of another CA", []string{"--cert", "/etc/slipway/other-server.pem", "--key", "/etc/slipway/other-server-key.pem"}, "handshake"},
		{"CLI certificate of this cluster", []string{"--cert", "/etc/slipway/cli.pem", "--key", "/etc/slipway/cli-key.pem"}, "handshake"},
	}
	probe := func(srv *server, id identity, secret, accessor, put string) []probeResult {
		t.Helper()
		args := append([]string{"/bin/slipway-probe", "--addr", net.JoinHostPort(srv.clusterAddr(b), fmt.Sprint(raftPort)),
			"--secret", secret, "--accessor", accessor, "--get", rev.SHA256, "--put", put}, id.args...)
		out, err := x.Exec(args...)
		if err != nil {
			t.Fatalf("probe %s at %s: %v\n%s", id.name, srv.id, err, out)
		}
		var rs []probeResult
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var r probeResult
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("probe %s at %s: %q: %v", id.name, srv.id, line, err)
			}
			rs = append(rs, r)
		}
		if len(rs) != 3 {
			t.Fatalf("probe %s at %s: %d results, want apply, blob-put and blob-get:\n%s", id.name, srv.id, len(rs), out)
		}
		return rs
	}

	type tried struct{ accessor, secret string }
	var tokens []tried
	attempts, through := 0, 0
	for _, srv := range b.servers {
		for n, id := range strangers {
			tr := tried{accessor: fmt.Sprintf("5742a9e0-0000-4000-8000-%012d", len(tokens)+1), secret: newSecret(t)}
			tokens = append(tokens, tr)
			for _, r := range probe(srv, id, tr.secret, tr.accessor, fmt.Sprintf("%s-%s-%d", marker, srv.id, n)) {
				attempts++
				if r.OK || r.Stage != id.stage {
					through++
					t.Errorf("%s at %s: %s got to stage %q (ok %v), want refused at %q: %s", id.name, srv.id, r.Attempt, r.Stage, r.OK, id.stage, r.Detail)
				}
			}
		}
	}
	t.Logf("%d stranger attempts on %d servers, %d got past the handshake", attempts, len(b.servers), through)

	// The control: a server certificate of this cluster gets through, so the probe speaks the
	// protocols right. Servers exchange blob files as stored (encrypted at rest), so the
	// control's put of plaintext is refused by the blob protocol itself, after the handshake, and
	// its get reads the whole stored file, whose bytes are ciphertext (they do not hash to the
	// blob's address).
	control := tried{accessor: "5742a9e0-0000-4000-8000-999999999999", secret: newSecret(t)}
	controlPut := "control-" + newSecret(t)
	acked := 0
	for _, r := range probe(b.servers[0], identity{name: "control", args: []string{"--ca", "/etc/slipway/ca.pem", "--cert", "/etc/slipway/server.pem", "--key", "/etc/slipway/server-key.pem"}},
		control.secret, control.accessor, controlPut) {
		pastHandshake := r.OK ||
			r.Attempt == "blob-put" && r.Stage == "protocol" && strings.Contains(r.Detail, "not an encrypted blob file") ||
			r.Attempt == "blob-get" && r.Stage == "protocol" && strings.HasPrefix(r.Detail, "read ")
		if !pastHandshake {
			t.Errorf("control (a server certificate of the cluster): %s failed at %s: %s", r.Attempt, r.Stage, r.Detail)
			continue
		}
		acked++
	}

	// Nothing of the strangers reached the state.
	list, err := cl.TokenList(ctx, &api.QueryOptions{Consistent: true, Limit: 1000})
	if err != nil {
		t.Fatalf("token list: %v", err)
	}
	have := map[string]bool{}
	for _, tok := range list.Tokens {
		have[tok.AccessorID] = true
	}
	for _, tr := range tokens {
		if have[tr.accessor] {
			t.Errorf("a stranger's token %s is in the state", tr.accessor)
		}
	}
	if !have[control.accessor] {
		t.Errorf("the control's token %s is not in the state: the probe's apply does not work, so its refusals prove nothing", control.accessor)
	}
	for _, s := range b.servers {
		for _, tr := range tokens {
			c, err := api.NewClient(api.Config{Address: s.URL(b), Token: tr.secret, TLS: b.tls.clientConfig, RetryFor: -1})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.TokenSelf(ctx); api.ErrorCode(err) != api.CodeUnauthorized {
				t.Errorf("%s: a stranger's token secret: err = %v, want unauthorized", s.id, err)
			}
		}
		c, err := api.NewClient(api.Config{Address: s.URL(b), Token: control.secret, TLS: b.tls.clientConfig, RetryFor: -1})
		if err != nil {
			t.Fatal(err)
		}
		if err := poll(30*time.Second, func() error { _, err := c.TokenSelf(ctx); return err }); err != nil {
			t.Errorf("%s: the control's token does not authenticate: %v", s.id, err)
		}
		// Nor any server's disk: no file under the data dir holds a stranger's bytes (blobs,
		// partial uploads, Raft log, state).
		if out, err := grepFiles(s, marker); err == nil || strings.TrimSpace(out) != "" {
			t.Errorf("%s: files hold a stranger's bytes: %s (%v)", s.id, out, err)
		}
		if !strings.Contains(s.Logs(), "refused a connection on the cluster port") {
			t.Errorf("%s logged no refused connection on the cluster port", s.id)
		}
	}
	if out, err := grepFiles(b.servers[0], controlPut); err == nil || strings.TrimSpace(out) != "" {
		t.Errorf("s0: the control's plaintext put reached the disk: %s (%v)", out, err)
	}
	// The cluster still works for its own.
	if _, err := cl.AppCreate(ctx, api.AppCreateRequest{Name: "after-strangers"}); err != nil {
		t.Errorf("app create after the strangers: %v", err)
	}

	addReport(t, reportRow{Scenario: "raft-port-strangers", Faults: fmt.Sprintf("%d strangers x %d servers: apply, blob put, get", len(strangers), len(b.servers)),
		Acknowledged: acked, Lost: through})
}

// grepFiles lists the regular files under the server's data dir that hold s (grep -l); it
// fails (exit 1, no output) when none does. Only regular files: grep -r would fail on the git
// hooks' unix socket.
func grepFiles(c *server, s string) (string, error) {
	return c.Exec("sh", "-c", `find /data/server -type f -exec grep -l -F -e "$1" {} +`, "grep-files", s)
}

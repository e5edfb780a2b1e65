//go:build e2e

package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/api"
)

// TestTLSClusterFromTheREADME runs the README's three-server TLS example with the real
// binaries: `slipway tls ca create`, one `slipway tls cert create --server` per server and a
// `--cli` certificate, the KEK file, three servers with the TLS flags and --tls-require-client-cert, then the
// CLI with SLIPWAY_CACERT and its certificate: acl bootstrap and list-peers over HTTPS, every
// server advertising an https:// URL. Without the CA the CLI refuses the servers, without its
// certificate the servers refuse the CLI, and --tls-skip-verify works but warns.
func TestTLSClusterFromTheREADME(t *testing.T) {
	logMachine(t)
	dir := t.TempDir()
	tlsDir := filepath.Join(dir, "tls")
	mustCLI := func(env []string, args ...string) cliResult {
		t.Helper()
		r := runCLI(t, "", env, args...)
		if r.code != 0 {
			t.Fatal(r.String())
		}
		return r
	}
	if r := mustCLI(nil, "tls", "ca", "create", "--out", tlsDir); !strings.Contains(r.stdout, "sha256:") {
		t.Errorf("tls ca create printed no pin:\n%s", r.stdout)
	}
	for i := 1; i <= 3; i++ {
		mustCLI(nil, "tls", "cert", "create", "--server", "--ca", tlsDir, "--name", fmt.Sprintf("s%d", i), "--ip", fmt.Sprintf("10.0.0.%d", i), "--out", tlsDir)
	}
	mustCLI(nil, "tls", "cert", "create", "--cli", "--ca", tlsDir, "--name", "me", "--out", tlsDir)
	kek := filepath.Join(tlsDir, "keyring.kek")
	mustCLI(nil, "operator", "keyring", "kek", "create", "--out", kek)

	ports := freePorts(t, 6)
	var join []string
	for i := range 3 {
		join = append(join, fmt.Sprintf("127.0.0.1:%d", ports[2*i+1]))
	}
	for i := range 3 {
		name := fmt.Sprintf("s%d", i+1)
		startProc(t, name, nil, "server", "--node-id", name, "--data-dir", filepath.Join(dir, name),
			"--http-addr", fmt.Sprintf("127.0.0.1:%d", ports[2*i]), "--raft-addr", join[i], "--ssh-addr", "off",
			"--tls-ca-file", filepath.Join(tlsDir, "ca.pem"), "--tls-ca-key-file", filepath.Join(tlsDir, "ca-key.pem"),
			"--tls-cert-file", filepath.Join(tlsDir, name+".pem"), "--tls-key-file", filepath.Join(tlsDir, name+"-key.pem"),
			"--tls-require-client-cert", "--keyring-kek-file", kek,
			"--bootstrap-expect", "3", "--join", strings.Join(join, ","))
	}
	addr := fmt.Sprintf("https://127.0.0.1:%d", ports[2])
	env := []string{"SLIPWAY_ADDR=" + addr, "SLIPWAY_CACERT=" + filepath.Join(tlsDir, "ca.pem"),
		"SLIPWAY_CLIENT_CERT=" + filepath.Join(tlsDir, "me.pem"), "SLIPWAY_CLIENT_KEY=" + filepath.Join(tlsDir, "me-key.pem")}

	var boot api.Token
	eventually(t, 60*time.Second, "acl bootstrap over HTTPS with a CLI certificate", func() error {
		r := runCLI(t, "", env, "acl", "bootstrap", "--output", "json")
		if r.code != 0 {
			return errors.New(r.String())
		}
		return json.Unmarshal([]byte(r.stdout), &boot)
	})
	env = append(env, "SLIPWAY_TOKEN="+boot.SecretID)
	var conf api.RaftConfiguration
	eventually(t, 30*time.Second, "list-peers shows three voters with https URLs", func() error {
		r := runCLI(t, "", env, "operator", "raft", "list-peers", "--output", "json")
		if r.code != 0 {
			return errors.New(r.String())
		}
		if err := json.Unmarshal([]byte(r.stdout), &conf); err != nil {
			return err
		}
		if err := checkThreeVoters(conf); err != nil {
			return err
		}
		for _, s := range conf.Servers {
			if !strings.HasPrefix(s.HTTPAddr, "https://") {
				return fmt.Errorf("%s advertises %q, want an https:// URL", s.ID, s.HTTPAddr)
			}
		}
		return nil
	})

	refusals := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no CA", []string{"SLIPWAY_ADDR=" + addr, "SLIPWAY_TOKEN=" + boot.SecretID}, nil, "--ca-file or SLIPWAY_CACERT"},
		{"no client certificate", []string{"SLIPWAY_ADDR=" + addr, "SLIPWAY_TOKEN=" + boot.SecretID, "SLIPWAY_CACERT=" + filepath.Join(tlsDir, "ca.pem")}, nil,
			"requires a client certificate"},
		{"plain http to the TLS API", append(append([]string{}, env...), "SLIPWAY_ADDR="+strings.Replace(addr, "https://", "http://", 1)), nil,
			"use an https:// address"},
		{"localhost, which every server certificate names", env, []string{"--addr", strings.Replace(addr, "127.0.0.1", "localhost", 1) + "/"}, ""},
	}
	for _, rf := range refusals {
		r := runCLI(t, "", rf.env, append(rf.args, "app", "list")...)
		if rf.want == "" {
			// localhost is in every server certificate: this one must work.
			if r.code != 0 {
				t.Errorf("%s: %s", rf.name, r)
			}
			continue
		}
		if r.code != 1 || !strings.Contains(r.stderr, rf.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%s: want exit 1 with one line saying %q; %s", rf.name, rf.want, r)
		}
	}

	skip := []string{"SLIPWAY_ADDR=" + addr, "SLIPWAY_TOKEN=" + boot.SecretID, "SLIPWAY_TLS_SKIP_VERIFY=true",
		"SLIPWAY_CLIENT_CERT=" + filepath.Join(tlsDir, "me.pem"), "SLIPWAY_CLIENT_KEY=" + filepath.Join(tlsDir, "me-key.pem")}
	if r := runCLI(t, "", skip, "app", "list"); r.code != 0 || !strings.Contains(r.stderr, "WARNING: TLS certificate verification is OFF") {
		t.Errorf("SLIPWAY_TLS_SKIP_VERIFY: want success with the warning; %s", r)
	}
}

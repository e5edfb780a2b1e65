package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/pkg/tlsutil"
)

// certs makes a CA in dir with a server, a client certificate and a server certificate of
// another CA, and returns dir.
func certs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ca, err := tlsutil.NewCA("", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	for name, kind := range map[string]tlsutil.Kind{"server": tlsutil.KindServer, "client": tlsutil.KindClient} {
		if err := ca.IssueFiles(tlsutil.Request{Kind: kind, Name: name}, dir, name); err != nil {
			t.Fatal(err)
		}
	}
	other, err := tlsutil.NewCA("Other CA", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.WriteFiles(filepath.Join(dir, "other")); err != nil {
		t.Fatal(err)
	}
	if err := other.IssueFiles(tlsutil.Request{Kind: tlsutil.KindServer, Name: "foreign"}, dir, "foreign"); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestTLSValidation(t *testing.T) {
	d := certs(t)
	f := func(n string) string { return filepath.Join(d, n) }
	ok := []string{"--tls-ca-file", f("ca.pem"), "--tls-cert-file", f("server.pem"), "--tls-key-file", f("server-key.pem")}
	with := func(extra ...string) []string { return append(append([]string{}, ok...), extra...) }
	cases := []struct {
		name string
		args []string
		want []string // every string must be in the error
	}{
		{"cert without CA", []string{"--tls-cert-file", f("server.pem"), "--tls-key-file", f("server-key.pem")},
			[]string{"go together", "--tls-ca-file is missing", "slipway tls ca create"}},
		{"CA alone", []string{"--tls-ca-file", f("ca.pem")}, []string{"--tls-cert-file and --tls-key-file are missing"}},
		{"unreadable CA", []string{"--tls-ca-file", f("nope.pem"), "--tls-cert-file", f("server.pem"), "--tls-key-file", f("server-key.pem")},
			[]string{"--tls-ca-file (tls.ca_file)", "nope.pem"}},
		{"CA file holds a leaf", []string{"--tls-ca-file", f("server.pem"), "--tls-cert-file", f("server.pem"), "--tls-key-file", f("server-key.pem")},
			[]string{"--tls-ca-file (tls.ca_file)", "not a CA certificate"}},
		{"key of another cert", []string{"--tls-ca-file", f("ca.pem"), "--tls-cert-file", f("server.pem"), "--tls-key-file", f("client-key.pem")},
			[]string{"--tls-cert-file, --tls-key-file", "server.pem"}},
		{"client certificate", []string{"--tls-ca-file", f("ca.pem"), "--tls-cert-file", f("client.pem"), "--tls-key-file", f("client-key.pem")},
			[]string{"--tls-cert-file (tls.cert_file)", "not a server certificate", "--server"}},
		{"certificate of another CA", []string{"--tls-ca-file", f("ca.pem"), "--tls-cert-file", f("foreign.pem"), "--tls-key-file", f("foreign-key.pem")},
			[]string{"--tls-cert-file (tls.cert_file)", "not signed by the cluster CA"}},
		{"CA key of another CA", with("--tls-ca-key-file", f("other/ca-key.pem")), []string{"--tls-ca-key-file (tls.ca_key_file)", "is not the key"}},
		{"CA key without TLS", []string{"--tls-ca-key-file", f("ca-key.pem")}, []string{"--tls-ca-key-file (tls.ca_key_file) needs TLS"}},
		{"client certs required without TLS", []string{"--tls-require-client-cert"}, []string{"--tls-require-client-cert (tls.require_client_cert) needs TLS"}},
		{"raft on the network", []string{"--raft-addr", "10.0.0.5:7401"},
			[]string{"--raft-addr (raft_addr) 10.0.0.5:7401 is reachable", "--tls-ca-file, --tls-cert-file and --tls-key-file", "slipway tls ca create", "slipway tls cert create --server", "--insecure-plaintext-cluster"}},
		{"raft on every interface", []string{"--raft-addr", "0.0.0.0:7401", "--advertise", "127.0.0.1"}, []string{"--raft-addr (raft_addr) 0.0.0.0:7401 is reachable"}},
		{"advertised on the network", []string{"--advertise", "10.0.0.5"}, []string{"--advertise (advertise) 10.0.0.5 is reachable"}},
		{"advertised by name", []string{"--advertise", "s1.example.com:7401"}, []string{"--advertise (advertise) s1.example.com:7401 is reachable"}},
		{"plain HTTP API on the network", []string{"--http-addr", "0.0.0.0:7400"},
			[]string{"--http-addr (http_addr)", "plain HTTP", "--insecure-plaintext-cluster (which also allows a plaintext API)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.args, nil)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("want ErrInvalid, got %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
		})
	}

	accepted := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"TLS", ok, nil},
		{"TLS with the CA key and client certs required", with("--tls-ca-key-file", f("ca-key.pem"), "--tls-require-client-cert"), nil},
		{"TLS on the network", with("--raft-addr", "0.0.0.0:7401", "--advertise", "10.0.0.5", "--http-addr", "0.0.0.0:7400"), nil},
		{"plaintext on loopback", []string{"--raft-addr", "127.0.0.1:7401", "--http-addr", "localhost:7400"}, nil},
		{"plaintext on the network, insecure", []string{"--raft-addr", "0.0.0.0:7401", "--advertise", "10.0.0.5", "--http-addr", "0.0.0.0:7400", "--insecure-plaintext-cluster"}, nil},
		{"insecure from the environment", []string{"--raft-addr", "10.0.0.5:7401"}, map[string]string{"SLIPWAY_INSECURE_PLAINTEXT_CLUSTER": "true"}},
		{"TLS from the environment", nil, map[string]string{"SLIPWAY_TLS_CA_FILE": f("ca.pem"), "SLIPWAY_TLS_CERT_FILE": f("server.pem"), "SLIPWAY_TLS_KEY_FILE": f("server-key.pem")}},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			c, err := load(t, tc.args, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if c.InsecurePlaintextCluster != (c.PlaintextWarning() != "") {
				t.Fatalf("insecure %v but warning %q", c.InsecurePlaintextCluster, c.PlaintextWarning())
			}
		})
	}
}

func TestTLSFromFileAndAdvertisedHTTPS(t *testing.T) {
	d := certs(t)
	file := filepath.Join(t.TempDir(), "server.yaml")
	yaml := "http_addr: 0.0.0.0:7400\nraft_addr: 0.0.0.0:7401\nadvertise: 10.0.0.5\ntls:\n  ca_file: " + filepath.Join(d, "ca.pem") +
		"\n  cert_file: " + filepath.Join(d, "server.pem") + "\n  key_file: " + filepath.Join(d, "server-key.pem") +
		"\n  ca_key_file: " + filepath.Join(d, "ca-key.pem") + "\n  require_client_cert: true\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := load(t, []string{"--config", file}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.TLS.Enabled() || !c.TLS.RequireClientCert || c.TLS.CAKeyFile == "" {
		t.Fatalf("tls %+v", c.TLS)
	}
	cl, err := c.TLS.Load()
	if err != nil || cl.CA.Key == nil {
		t.Fatalf("load: %v (CA key loaded: %v)", err, cl != nil && cl.CA.Key != nil)
	}
	if _, h := c.Advertised(7401, 7400); h != "https://10.0.0.5:7400" {
		t.Fatalf("advertised %s", h)
	}
}

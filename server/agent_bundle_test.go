package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/pkg/api"
)

// TestBundleOnlyToItsHosts: a deployment's bundle is served to a host the deployment runs on,
// byte for byte, and refused to another registered host (an agent acts only as itself) and to a
// caller without a host secret.
func TestBundleOnlyToItsHosts(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: fastAgents})
	base := c.URL(c.WaitLeader())
	tok, err := c.Client(0).HostTokenCreate(context.Background(), api.HostTokenCreateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	secret := map[string]string{}
	for _, name := range []string{"host-a", "host-b"} {
		secret[name] = "slwh_" + name + "-secret-0123456789abcdefghijklmnop"
		reg, _ := json.Marshal(agentproto.Register{HostID: name, Secret: secret[name], Name: name, OS: "linux", Arch: "amd64", Hostname: name, AgentVersion: "test"})
		if st, body := hostDo(t, base, "POST", "/v1/agent/register", tok.Token, bytes.NewReader(reg)); st != http.StatusOK {
			t.Fatalf("register %s: %d %s", name, st, body)
		}
	}
	dir := t.TempDir()
	b := hookBundle(t, filepath.Join(dir, "record"), "", nil)
	_, d := deployRevision(t, c, "web", b, "host-a")
	path := "/v1/agent/deployments/" + d.ID + "/bundle"

	if st, body := hostDo(t, base, "GET", path, secret["host-a"], nil); st != http.StatusOK || !bytes.Equal(body, b) {
		t.Fatalf("host-a, which the deployment runs on: %d, %d bytes (want the %d of the bundle)", st, len(body), len(b))
	}
	if st, body := hostDo(t, base, "GET", path, secret["host-b"], nil); st != http.StatusForbidden || !strings.Contains(string(body), "does not run on host host-b") {
		t.Fatalf("host-b, which it does not run on: %d %s", st, body)
	}
	if st, body := hostDo(t, base, "GET", path, "", nil); st != http.StatusUnauthorized {
		t.Fatalf("no host secret: %d %s", st, body)
	}
}

// hostDo sends a request with a bearer secret ("" for none) and returns the status and body.
func hostDo(t *testing.T, base, method, path, secret string, body io.Reader) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

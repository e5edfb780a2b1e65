package api_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/agentproto"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/pkg/tlsutil"
)

// TestRegistrationWithAnUnsignableCSRWritesNothing: over TLS, a registration whose certificate
// request the server would not sign (an RSA or P-521 key, junk) is refused with 400 before
// anything is committed: no host, and the token's only use is still there.
func TestRegistrationWithAnUnsignableCSRWritesNothing(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{TLS: true})
	ctx := context.Background()
	tok, err := c.Client(0).HostTokenCreate(ctx, pub.HostTokenCreateRequest{MaxUses: 1})
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	rsaCSR, _ := tlsutil.NewCSR(rsaKey, "h")
	p521CSR, _ := tlsutil.NewCSR(p521, "h")
	post := func(reg agentproto.Register) (int, pub.ErrorBody) {
		t.Helper()
		body, _ := json.Marshal(reg)
		req, _ := http.NewRequestWithContext(ctx, "POST", c.URL(0)+"/v1/agent/register", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		raw, _ := io.ReadAll(resp.Body)
		var eb pub.ErrorBody
		_ = json.Unmarshal(raw, &eb)
		return resp.StatusCode, eb
	}
	answers := map[string]func(){}
	for name, csr := range map[string]string{"rsa": string(rsaCSR), "p521": string(p521CSR), "junk": "junk"} {
		reg := agent("h-"+name, "h-"+name, nil)
		reg.CSR = csr
		status, eb := post(reg)
		answers[name] = func() {
			refused(t, name+" csr", status, eb, http.StatusBadRequest, "certificate request", "nothing was registered")
		}
	}
	hosts, err := c.Client(0).HostList(ctx, nil)
	if err != nil || len(hosts.Hosts) != 0 {
		t.Fatalf("refused registrations left hosts: %+v %v", hosts, err)
	}
	got, err := c.Client(0).HostTokenGet(ctx, tok.AccessorID, nil)
	if err != nil || got.Uses != 0 {
		t.Fatalf("refused registrations spent the token's use: %+v %v", got, err)
	}
	for _, check := range answers {
		check()
	}
	// The token's one use is still good for a request the server signs.
	key, _ := tlsutil.NewKey()
	good, _ := tlsutil.NewCSR(key, "h")
	reg := agent("h-good", "h-good", nil)
	reg.CSR = string(good)
	if status, eb := post(reg); status != http.StatusOK {
		t.Fatalf("a P-256 request after the refusals: %d %+v", status, eb)
	}
}

package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/agentproto"
	pub "github.com/slipwayhq/slipway/pkg/api"
)

// TestAgentHeaders: registration and the session refuse malformed agent headers (400, naming
// the header) before anything is registered; well-formed ones and none at all (an agent of
// protocol 1) register.
func TestAgentHeaders(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	tok, err := c.Client(0).HostTokenCreate(ctx, pub.HostTokenCreateRequest{MaxUses: 10})
	if err != nil {
		t.Fatal(err)
	}
	post := func(reg agentproto.Register, hdr map[string]string) (int, pub.ErrorBody) {
		body, _ := json.Marshal(reg)
		h := map[string]string{"Content-Type": "application/json"}
		for k, v := range hdr {
			h[k] = v
		}
		status, eb, _ := call(t, "POST", c.URL(0)+"/v1/agent/register", tok.Token, bytes.NewReader(body), h)
		return status, eb
	}
	for _, bad := range []map[string]string{
		{agentproto.HeaderProtocol: "0"},
		{agentproto.HeaderProtocol: "two"},
		{agentproto.HeaderCapabilities: "deploy,Build"},
		{agentproto.HeaderPlugins: "a b"},
	} {
		status, eb := post(agent("host-bad", "bad", nil), bad)
		for k := range bad {
			refused(t, "headers "+k+": "+bad[k], status, eb, http.StatusBadRequest, k)
		}
	}
	if status, eb := post(agent("host-bad", "bad", nil), nil); status != http.StatusOK {
		t.Fatalf("the refused registrations left something behind, or an agent without headers is refused: %d %+v", status, eb)
	}
	if status, eb := post(agent("host-v2", "v2", nil), map[string]string{agentproto.HeaderProtocol: "2", agentproto.HeaderCapabilities: "deploy", agentproto.HeaderPlugins: ""}); status != http.StatusOK {
		t.Fatalf("protocol 2 registration: %d %+v", status, eb)
	}
	secret := agent("host-v2", "v2", nil).Secret
	status, eb, _ := call(t, "GET", c.URL(0)+"/v1/agent/session", secret, nil, map[string]string{agentproto.HeaderProtocol: "1001"})
	refused(t, "session with protocol 1001", status, eb, http.StatusBadRequest, agentproto.HeaderProtocol, "from 1 to 1000")
}

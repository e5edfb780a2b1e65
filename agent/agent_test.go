package agent

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/slipwayhq/slipway/agent/config"
	"github.com/slipwayhq/slipway/agent/session"
	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// registrar is a registration endpoint that records every registration it receives and answers
// with the status answer returns (200: a RegisterReply).
type registrar struct {
	mu     sync.Mutex
	seen   []agentproto.Register
	peers  []agentproto.Peer // what each registration's headers said (agentproto.ParsePeer)
	answer func(n int) int
}

func (rg *registrar) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var reg agentproto.Register
	_ = json.NewDecoder(r.Body).Decode(&reg)
	rg.mu.Lock()
	rg.seen = append(rg.seen, reg)
	peer, err := agentproto.ParsePeer(r.Header)
	if err != nil {
		peer = agentproto.Peer{} // recorded as protocol 0, which the test refuses
	}
	rg.peers = append(rg.peers, peer)
	n := len(rg.seen)
	rg.mu.Unlock()
	if code := rg.answer(n); code != http.StatusOK {
		http.Error(w, "refused", code)
		return
	}
	_ = json.NewEncoder(w).Encode(agentproto.RegisterReply{HostID: reg.HostID, Name: reg.Name})
}

var quiet = slog.New(slog.DiscardHandler)

func plainTLSState(t *testing.T, dir string) *tlsState {
	t.Helper()
	trust, err := session.NewTrust("", "", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := session.LoadHostCert(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &tlsState{trust: trust, cert: cert, client: session.NewFetchClient(nil), peer: workerSet{}.advertised()}
}

// TestIdentityIsSavedBeforeTheFirstRegistration: the agent saves a new identity (0600) before it
// sends its first registration, so that when the server committed the registration but the
// reply was lost, or the token was refused, the next start registers the same host ID and
// secret again instead of a second host.
func TestIdentityIsSavedBeforeTheFirstRegistration(t *testing.T) {
	dir := t.TempDir()
	// The first registration reaches the server, whose reply is lost (a 502 from a proxy, a
	// timeout); the second is refused for its token; the third succeeds.
	rg := &registrar{answer: func(n int) int {
		switch n {
		case 1:
			return http.StatusBadGateway
		case 2:
			return http.StatusUnauthorized
		}
		return http.StatusOK
	}}
	srv := httptest.NewServer(rg)
	t.Cleanup(srv.Close)
	cfg := config.Config{Servers: []string{srv.URL}, RegistrationToken: "slwr_x", Name: "web-1", DataDir: dir}
	ctx := context.Background()
	_, first := ensureIdentity(ctx, cfg, quiet, plainTLSState(t, dir))
	if first == nil {
		t.Fatal("a registration whose reply was lost succeeded")
	}
	path := filepath.Join(dir, identityFile)
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("identity not saved 0600 before registering: %v %v", st, err)
	}
	if !strings.Contains(first.Error(), "registered again on the next start") {
		t.Fatalf("the failed first registration does not say the identity is kept: %v", first)
	}
	// A start without a token cannot use a pending identity, and says so.
	if _, err := ensureIdentity(ctx, config.Config{Servers: cfg.Servers, DataDir: dir}, quiet, plainTLSState(t, dir)); err == nil || !strings.Contains(err.Error(), "has not completed") {
		t.Fatalf("pending identity without a token: %v", err)
	}
	if _, err := ensureIdentity(ctx, cfg, quiet, plainTLSState(t, dir)); err == nil {
		t.Fatal("a refused registration succeeded")
	}
	id, err := ensureIdentity(ctx, cfg, quiet, plainTLSState(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(rg.seen) != 3 {
		t.Fatalf("%d registrations, want 3", len(rg.seen))
	}
	for i, reg := range rg.seen {
		if reg.HostID != id.HostID || reg.Secret != id.Secret {
			t.Fatalf("registration %d sent host %s: a restart made a new identity (want %s throughout)", i+1, reg.HostID, id.HostID)
		}
		if p := rg.peers[i]; p.Protocol != agentproto.ProtocolVersion || !slices.Equal(p.Capabilities, []string{agentproto.KindDeploy}) {
			t.Fatalf("registration %d advertised %+v, want protocol %d with [deploy]", i+1, p, agentproto.ProtocolVersion)
		}
	}
	raw, _ := os.ReadFile(path)
	if strings.Contains(string(raw), "pending") {
		t.Fatalf("a registered identity is still marked pending: %s", raw)
	}
	// Registered: a later start without a token uses it.
	if again, err := ensureIdentity(ctx, config.Config{Servers: cfg.Servers, DataDir: dir}, quiet, plainTLSState(t, dir)); err != nil || again.HostID != id.HostID {
		t.Fatalf("registered identity without a token: %+v %v", again, err)
	}
}

// TestAdvertisedKindsAreTheWorkers: registration advertises workerKinds before the workers
// exist; they must be exactly the kinds of the workers newWorkers builds, which the session
// advertises.
func TestAdvertisedKindsAreTheWorkers(t *testing.T) {
	for _, set := range []workerSet{{}, {builds: true}, {builds: true, docker: true}} {
		ws := newWorkers(set, t.TempDir(), nil, nil, nil, nil, quiet)
		if got, want := session.Peer(ws), set.advertised(); got.Protocol != want.Protocol || !slices.Equal(got.Capabilities, want.Capabilities) {
			t.Fatalf("%+v: the session advertises %+v, registration %+v", set, got, want)
		}
	}
}

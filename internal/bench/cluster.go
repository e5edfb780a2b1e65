package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/pkg/tlsutil"
	"github.com/slipwayhq/slipway/server"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/config"
	"github.com/slipwayhq/slipway/server/core/keyring"
	"github.com/slipwayhq/slipway/server/core/state"
)

// cluster is an in-process cluster on loopback.
type cluster struct {
	servers []*server.Server
	urls    []string
	token   string
	ca      *tlsutil.CA  // the cluster CA with TLS, else nil
	hc      *http.Client // API client trusting ca (nil: the default)
}

// startCluster starts n servers forming one cluster in dir, with production Raft timings,
// and waits until they have a leader and accept the management token. withTLS makes a CA in
// DIR/tls and gives every server a certificate and the CA key (so it signs host certificates).
func startCluster(ctx context.Context, n int, dir string, log *slog.Logger, withTLS bool) (*cluster, error) {
	bc := &cluster{token: auth.NewSecret()}
	tlsDir := filepath.Join(dir, "tls")
	if withTLS {
		ca, err := tlsutil.NewCA("Slipway bench CA", 0)
		if err != nil {
			return nil, err
		}
		if err := ca.WriteFiles(tlsDir); err != nil {
			return nil, err
		}
		bc.ca = ca
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: ca.Pool()}
		bc.hc = &http.Client{Transport: tr}
	}
	tokenFile := filepath.Join(dir, "management.token")
	if err := os.WriteFile(tokenFile, []byte(bc.token+"\n"), 0o600); err != nil {
		return nil, err
	}
	kekFile := filepath.Join(dir, "keyring.kek")
	if _, err := keyring.CreateKEKFile(kekFile); err != nil {
		return nil, err
	}
	ports, err := freeLoopbackPorts(2 * n)
	if err != nil {
		return nil, err
	}
	var join []string
	for i := 0; i < n; i++ {
		join = append(join, fmt.Sprintf("127.0.0.1:%d", ports[2*i+1]))
	}
	for i := 0; i < n; i++ {
		cfg := config.Default()
		cfg.NodeID = fmt.Sprintf("node%d", i)
		cfg.DataDir = filepath.Join(dir, cfg.NodeID)
		cfg.HTTPAddr = fmt.Sprintf("127.0.0.1:%d", ports[2*i])
		cfg.RaftAddr = join[i]
		cfg.InitialManagementTokenFile = tokenFile
		cfg.Keyring.KEKFile = kekFile
		cfg.Raft = config.Raft{} // hashicorp/raft's defaults, as a production server has them
		cfg.Agents = config.Agents{Heartbeat: 10 * time.Second, HostTimeout: 60 * time.Second}
		cfg.BootstrapExpect = n
		if n > 1 {
			cfg.Join = join
		}
		if bc.ca != nil {
			if err := bc.ca.IssueFiles(tlsutil.Request{Kind: tlsutil.KindServer, Name: cfg.NodeID}, tlsDir, cfg.NodeID); err != nil {
				return nil, err
			}
			cfg.TLS = config.TLS{CAFile: filepath.Join(tlsDir, "ca.pem"), CAKeyFile: filepath.Join(tlsDir, "ca-key.pem"),
				CertFile: filepath.Join(tlsDir, cfg.NodeID+".pem"), KeyFile: filepath.Join(tlsDir, cfg.NodeID+"-key.pem")}
		}
		if err := cfg.Validate(); err != nil {
			bc.stop()
			return nil, err
		}
		var s *server.Server
		for attempt := 0; ; attempt++ {
			s, err = server.Start(cfg, log.With("node", cfg.NodeID))
			if err == nil || !strings.Contains(err.Error(), "address already in use") || attempt == 50 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			bc.stop()
			return nil, fmt.Errorf("start %s: %w", cfg.NodeID, err)
		}
		bc.servers = append(bc.servers, s)
		bc.urls = append(bc.urls, s.HTTPAddr())
	}
	if err := bc.waitReady(ctx, time.Minute); err != nil {
		bc.stop()
		return nil, err
	}
	return bc, nil
}

// waitReady waits for a leader that every server knows, and for the token to work everywhere.
func (bc *cluster) waitReady(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		err := bc.ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the bench cluster did not become ready: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (bc *cluster) ready(ctx context.Context) error {
	var leader string
	for _, s := range bc.servers {
		if s.Node().IsLeader() {
			leader = s.NodeID()
		}
	}
	if leader == "" {
		return errors.New("no leader yet")
	}
	for _, s := range bc.servers {
		if id, _, _ := s.Node().Leader(); id != leader {
			return fmt.Errorf("%s sees leader %q, not %q", s.NodeID(), id, leader)
		}
		cl, err := api.NewClient(api.Config{Address: s.HTTPAddr(), Token: bc.token, RetryFor: -1, HTTPClient: bc.hc})
		if err != nil {
			return err
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err = cl.TokenSelf(rctx)
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

func (bc *cluster) leader() *server.Server {
	for _, s := range bc.servers {
		if s.Node().IsLeader() {
			return s
		}
	}
	return bc.servers[0]
}

// quiesce waits until every server has applied the same index and none has moved for quiet
// (at most limit), so that a run does not start while followers still apply the previous one.
// It returns how long it waited.
func (bc *cluster) quiesce(ctx context.Context, quiet, limit time.Duration) time.Duration {
	start := time.Now()
	applied := func() (lo, hi uint64) {
		for i, s := range bc.servers {
			a := s.Node().AppliedIndex()
			if i == 0 || a < lo {
				lo = a
			}
			hi = max(hi, a)
		}
		return lo, hi
	}
	_, last := applied()
	since := time.Now()
	for time.Since(start) < limit && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
		lo, hi := applied()
		if hi != last || lo != hi {
			last, since = hi, time.Now()
		} else if time.Since(since) >= quiet {
			break
		}
	}
	return time.Since(start)
}

// waitAllApplied waits until every server's state holds stateIndex (a CreateIndex or
// ModifyIndex) and returns when that happened.
func (bc *cluster) waitAllApplied(ctx context.Context, stateIndex uint64) (time.Time, error) {
	for _, s := range bc.servers {
		for stateIndexOf(s.Node()) < stateIndex {
			if err := s.Node().WaitApplied(ctx, s.Node().AppliedIndex()+1); err != nil {
				return time.Time{}, err
			}
		}
	}
	return time.Now(), nil
}

// stateIndexOf reads the newest state index a node's state holds.
func stateIndexOf(node interface{ State() *state.Store }) uint64 {
	var i uint64
	_ = node.State().View(func(tx *state.Tx) error { i = tx.StateIndex(); return nil })
	return i
}

func (bc *cluster) stop() {
	var wg sync.WaitGroup
	for _, s := range bc.servers {
		wg.Add(1)
		go func() { defer wg.Done(); s.Kill() }()
	}
	wg.Wait()
}

// freeLoopbackPorts returns n distinct free loopback ports.
func freeLoopbackPorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	ports := make([]int, n)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

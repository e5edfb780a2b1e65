//go:build unix

package server_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/tlsutil"
	"github.com/slipwayhq/slipway/server"
	"github.com/slipwayhq/slipway/server/core/config"
	"github.com/slipwayhq/slipway/server/core/keyring"
)

// TestSIGHUPReloadsCertificate: a server run by server.Run (as `slipway server` runs it) puts a
// reissued certificate in use when the process gets SIGHUP, without a restart.
func TestSIGHUPReloadsCertificate(t *testing.T) {
	ct := testutil.NewClusterTLS(t, filepath.Join(t.TempDir(), "tls"))
	ports := testutil.FreePorts(t, 2)
	cfg := config.Default()
	cfg.NodeID, cfg.DataDir = "hup", filepath.Join(t.TempDir(), "data")
	cfg.HTTPAddr, cfg.RaftAddr = fmt.Sprintf("127.0.0.1:%d", ports[0]), fmt.Sprintf("127.0.0.1:%d", ports[1])
	cfg.BootstrapExpect = 1
	cfg.Raft = testutil.FastRaft()
	cfg.TLS = ct.ServerConfig(t, "hup")
	cfg.Keyring.KEKFile = filepath.Join(t.TempDir(), "keyring.kek")
	if _, err := keyring.CreateKEKFile(cfg.Keyring.KEKFile); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Run(ctx, cfg, testutil.Logger(t)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})

	peer := &tls.Config{RootCAs: ct.CA.Pool(), ServerName: tlsutil.ServerName, MinVersion: tls.VersionTLS12,
		Certificates: []tls.Certificate{ct.KeyPair(t, tlsutil.KindServer, "peer")}}
	serial := func() (string, error) {
		conn, err := tls.Dial("tcp", cfg.HTTPAddr, peer)
		if err != nil {
			return "", err
		}
		defer func() { _ = conn.Close() }()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String(), nil
	}
	certFile, _ := ct.Files("hup")
	first := fileSerial(t, certFile)
	testutil.Eventually(t, 20*time.Second, func() error {
		s, err := serial()
		if err == nil && s != first {
			err = fmt.Errorf("serial %s, want %s", s, first)
		}
		return err
	})
	ct.Issue(t, tlsutil.KindServer, "hup")
	second := fileSerial(t, certFile)
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, func() error {
		s, err := serial()
		if err == nil && s != second {
			err = fmt.Errorf("serial %s after SIGHUP, want %s", s, second)
		}
		return err
	})
}

//go:build testbed

// Command slipway-probe is the test bed's stranger on the cluster network. It dials a server's
// Raft port as one identity and tries what that port serves, the way an attacker on the network
// would:
//
//   - apply: the forwarding RPC (protocol byte 'P', net/rpc) with a command that creates a
//     management token whose secret the probe chose (it asks Status for the leader first, and
//     follows it);
//   - blob-put: the blob protocol (byte 'B') writing new content under its own hash;
//   - blob-get: the blob protocol reading an existing blob by hash.
//
// Identities: --plain dials without TLS (the Raft port before TLS); otherwise it speaks TLS with
// the client certificate given by --cert/--key, or none, and verifies the server against --ca
// by the cluster's server name (without --ca it accepts any server, as an attacker would).
//
// It prints one JSON line per attempt: {"attempt","ok","stage","detail"}, where stage says how
// far the attempt got: "dial", "handshake" (the TLS handshake failed, on either side: with TLS
// 1.3 a client learns that the server refused its certificate from the alert that ends the
// handshake, at its first read), "closed" (the server closed the connection without a word),
// "protocol" (an answer came and said no) or "done" (the operation succeeded).
//
// The test bed builds it (testbed/main_test.go) into its image for TestRaftPortRefusesStrangers;
// it ships in no release.
package main

import (
	"bufio"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"os"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/pkg/tlsutil"
	"github.com/slipwayhq/slipway/server/acl"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/raftstore"
)

type result struct {
	Attempt string `json:"attempt"`
	OK      bool   `json:"ok"`
	Stage   string `json:"stage"`
	Detail  string `json:"detail,omitempty"`
}

type prober struct {
	plain  bool
	tlsCfg *tls.Config
}

func main() {
	var (
		addr, certFile, keyFile, caFile string
		secret, accessor, getSHA, put   string
		plain                           bool
	)
	flag.StringVar(&addr, "addr", "", "a server's Raft address, host:port")
	flag.BoolVar(&plain, "plain", false, "dial without TLS")
	flag.StringVar(&certFile, "cert", "", "client certificate to present")
	flag.StringVar(&keyFile, "key", "", "key of --cert")
	flag.StringVar(&caFile, "ca", "", "CA to verify the server with (by the cluster's server name)")
	flag.StringVar(&secret, "secret", "", "secret of the management token the apply tries to create")
	flag.StringVar(&accessor, "accessor", "", "accessor ID of that token")
	flag.StringVar(&getSHA, "get", "", "sha256 of an existing blob to read")
	flag.StringVar(&put, "put", "", "content to write as a new blob")
	flag.Parse()
	if addr == "" || secret == "" || accessor == "" || getSHA == "" || put == "" {
		fmt.Fprintln(os.Stderr, "slipway-probe: --addr, --secret, --accessor, --get and --put are required")
		os.Exit(2)
	}
	p := &prober{plain: plain}
	if !plain {
		p.tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: caFile == ""} //nolint:gosec // a stranger does not care who answers
		if caFile != "" {
			pool, err := tlsutil.CertPool(caFile)
			if err != nil {
				fmt.Fprintln(os.Stderr, "slipway-probe:", err)
				os.Exit(2)
			}
			p.tlsCfg.RootCAs, p.tlsCfg.ServerName = pool, tlsutil.ServerName
		}
		if certFile != "" {
			c, err := tlsutil.LoadKeyPair(certFile, keyFile)
			if err != nil {
				fmt.Fprintln(os.Stderr, "slipway-probe:", err)
				os.Exit(2)
			}
			p.tlsCfg.Certificates = []tls.Certificate{c}
		}
	}
	out := json.NewEncoder(os.Stdout)
	for _, r := range []result{p.apply(addr, secret, accessor), p.blobPut(addr, []byte(put)), p.blobGet(addr, getSHA)} {
		_ = out.Encode(r)
	}
}

// dial opens a connection to addr and sends the protocol byte. When it fails, ok is false and
// failed is what to report for attempt: the stage is "dial" or "handshake", or as failAfter
// finds it when the connection broke at the protocol byte.
func (p *prober) dial(attempt, addr string, proto byte) (conn net.Conn, failed result, ok bool) {
	conn, stage, err := p.dialOnly(addr)
	if err != nil {
		return nil, fail(attempt, stage, err), false
	}
	if _, err := conn.Write([]byte{proto}); err != nil {
		_ = conn.Close()
		return nil, p.failAfter(attempt, addr, err), false
	}
	return conn, result{}, true
}

// dialOnly opens a connection to addr and, unless --plain, completes the client's side of the
// TLS handshake.
func (p *prober) dialOnly(addr string) (net.Conn, string, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, "dial", err
	}
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if !p.plain {
		tc := tls.Client(conn, p.tlsCfg)
		if err := tc.Handshake(); err != nil {
			_ = conn.Close()
			return nil, "handshake", err
		}
		conn = tc
	}
	return conn, "", nil
}

// stageOf says how far an attempt that failed with err after the dial got.
func stageOf(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "remote error: tls:"):
		return "handshake" // the server's alert ending the handshake
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, rpc.ErrShutdown),
		strings.Contains(msg, "connection reset"), strings.Contains(msg, "broken pipe"):
		return "closed"
	}
	return "protocol"
}

func fail(attempt, stage string, err error) result {
	return result{Attempt: attempt, Stage: stage, Detail: err.Error()}
}

// failAfter reports an attempt whose connection broke after the client's side of the handshake.
// With TLS 1.3 the client finishes its handshake before the server has checked its certificate;
// when the server refuses it, its alert can lose the race with the client's first write (a
// broken pipe). A fresh connection that only reads then learns the server's verdict: the alert
// comes at once, while a server that accepted the handshake would wait for the protocol byte.
func (p *prober) failAfter(attempt, addr string, err error) result {
	stage := stageOf(err)
	if stage != "closed" || p.plain {
		return fail(attempt, stage, err)
	}
	conn, dstage, derr := p.dialOnly(addr)
	if derr != nil {
		return result{Attempt: attempt, Stage: dstage, Detail: derr.Error() + " (first: " + err.Error() + ")"}
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	var b [1]byte
	_, rerr := conn.Read(b[:])
	if rerr != nil && stageOf(rerr) == "handshake" {
		return result{Attempt: attempt, Stage: "handshake", Detail: rerr.Error() + " (first: " + err.Error() + ")"}
	}
	return fail(attempt, stage, err)
}

func (p *prober) apply(addr, secret, accessor string) result {
	const attempt = "apply"
	cmd, err := acl.CmdCreateToken.New("probe/"+accessor, time.Now(), acl.CreateTokenPayload{Token: acl.Token{
		AccessorID: accessor, SecretHash: auth.HashSecret(secret), Name: "probe", Type: "management",
	}})
	if err != nil {
		return fail(attempt, "protocol", err)
	}
	data, err := command.Encode(cmd)
	if err != nil {
		return fail(attempt, "protocol", err)
	}
	for range 3 { // at most two hops to the leader
		conn, failed, ok := p.dial(attempt, addr, 'P')
		if !ok {
			return failed
		}
		c := rpc.NewClient(conn)
		var st raftstore.StatusReply
		if err := c.Call("Cluster.Status", raftstore.StatusArgs{}, &st); err != nil {
			_ = c.Close()
			return p.failAfter(attempt, addr, err)
		}
		if st.LeaderAddr != "" && st.LeaderAddr != st.RaftAddr {
			_ = c.Close()
			addr = st.LeaderAddr
			continue
		}
		var reply raftstore.ApplyReply
		err = c.Call("Cluster.Apply", raftstore.ApplyArgs{Data: data}, &reply)
		_ = c.Close()
		switch {
		case err != nil:
			return p.failAfter(attempt, addr, err)
		case reply.NotLeader:
			continue
		case reply.Result.Err() != nil:
			return fail(attempt, "protocol", reply.Result.Err())
		}
		return result{Attempt: attempt, OK: true, Stage: "done", Detail: fmt.Sprintf("applied at index %d on %s", reply.Result.Index, addr)}
	}
	return fail(attempt, "protocol", errors.New("found no leader"))
}

func (p *prober) blobPut(addr string, content []byte) result {
	const attempt = "blob-put"
	sum := sha256.Sum256(content)
	sha := hex.EncodeToString(sum[:])
	conn, failed, ok := p.dial(attempt, addr, 'B')
	if !ok {
		return failed
	}
	defer func() { _ = conn.Close() }()
	br := bufio.NewReader(conn)
	var rep struct {
		Have  bool   `json:"have"`
		Error string `json:"error"`
	}
	if err := exchange(conn, br, map[string]any{"op": "put", "sha256": sha, "size": len(content)}, &rep); err != nil {
		return p.failAfter(attempt, addr, err)
	}
	if rep.Error != "" {
		return fail(attempt, "protocol", errors.New(rep.Error))
	}
	if !rep.Have {
		if _, err := conn.Write(content); err != nil {
			return p.failAfter(attempt, addr, err)
		}
		if err := readLine(br, &rep); err != nil {
			return p.failAfter(attempt, addr, err)
		}
		if rep.Error != "" {
			return fail(attempt, "protocol", errors.New(rep.Error))
		}
	}
	return result{Attempt: attempt, OK: true, Stage: "done", Detail: "wrote blob " + sha}
}

func (p *prober) blobGet(addr, sha string) result {
	const attempt = "blob-get"
	conn, failed, ok := p.dial(attempt, addr, 'B')
	if !ok {
		return failed
	}
	defer func() { _ = conn.Close() }()
	br := bufio.NewReader(conn)
	var rep struct {
		Size  int64  `json:"size"`
		Error string `json:"error"`
	}
	if err := exchange(conn, br, map[string]any{"op": "get", "sha256": sha}, &rep); err != nil {
		return p.failAfter(attempt, addr, err)
	}
	if rep.Error != "" {
		return fail(attempt, "protocol", errors.New(rep.Error))
	}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(br, rep.Size))
	if err != nil {
		return p.failAfter(attempt, addr, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != rep.Size || got != sha {
		return fail(attempt, "protocol", fmt.Errorf("read %d of %d bytes hashing to %s", n, rep.Size, got))
	}
	return result{Attempt: attempt, OK: true, Stage: "done", Detail: fmt.Sprintf("read blob %s (%d bytes)", sha, n)}
}

// exchange writes req as a JSON line and reads the JSON line that answers it.
func exchange(conn net.Conn, br *bufio.Reader, req, reply any) error {
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if _, err := conn.Write(append(b, '\n')); err != nil {
		return err
	}
	return readLine(br, reply)
}

func readLine(br *bufio.Reader, v any) error {
	line, err := br.ReadBytes('\n')
	if err != nil {
		if len(line) == 0 && errors.Is(err, io.EOF) {
			return io.EOF
		}
		return err
	}
	return json.Unmarshal(line, v)
}

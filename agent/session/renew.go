package session

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// Renewer keeps the host certificate fresh: it renews it over POST /v1/agent/certificate once
// two thirds of its lifetime have passed, or at once when there is none (see pkg/agentproto,
// "Host certificates").
type Renewer struct {
	Cert    *HostCert
	Trust   *Trust
	HostID  string
	Secret  string
	Servers func() []string // in the order to try them
	Client  *http.Client    // built on Trust.ClientConfig(Cert.Current)
	Logger  *slog.Logger
	// Retry is the first wait after a failed renewal; it doubles up to MaxRetry (defaults 5 s
	// and 5 min).
	Retry, MaxRetry time.Duration
}

// Renew renews the certificate once, trying every server in turn.
func (r *Renewer) Renew(ctx context.Context) error {
	csr, err := r.Cert.CSR(r.HostID)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(agentproto.CertificateRequest{CSR: csr})
	var errs []error
	for _, srv := range r.Servers() {
		if err := r.Trust.CheckURL(srv); err != nil {
			errs = append(errs, err)
			continue
		}
		err := r.renewAt(ctx, srv, body)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("renew the host certificate: %w", errors.Join(errs...))
}

func (r *Renewer) renewAt(ctx context.Context, srv string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(srv, "/")+"/v1/agent/certificate", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+r.Secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.Client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s refused the renewal (%s): %s", srv, resp.Status, bytes.TrimSpace(data))
	}
	var reply agentproto.CertificateReply
	if err := json.Unmarshal(data, &reply); err != nil {
		return fmt.Errorf("%s: bad renewal answer: %w", srv, err)
	}
	r.Trust.Confirm(resp.TLS) // a request completed: the server proved its certificate
	if err := r.Cert.Set([]byte(reply.Certificate), r.HostID, r.Trust.Roots(), []byte(reply.CA)); err != nil {
		return fmt.Errorf("%s: %w", srv, err)
	}
	r.Client.CloseIdleConnections() // a client certificate is bound to its connection: use the new one
	r.logger().Info("host certificate renewed", "server", srv, "not_after", r.Cert.Leaf().NotAfter)
	return nil
}

func (r *Renewer) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.Default()
	}
	return r.Logger
}

// Run renews the certificate whenever it is due until ctx ends, retrying failures with
// jittered backoff.
func (r *Renewer) Run(ctx context.Context) {
	retry, maxRetry := r.Retry, r.MaxRetry
	if retry <= 0 {
		retry = 5 * time.Second
	}
	if maxRetry <= 0 {
		maxRetry = 5 * time.Minute
	}
	wait := retry
	for {
		due := time.Until(r.Cert.RenewAt())
		if due > 0 {
			t := time.NewTimer(due)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		err := r.Renew(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			wait = retry
			continue
		}
		d := wait/2 + rand.N(wait/2+1)
		lvl := slog.LevelWarn
		if r.Cert.Current() == nil {
			lvl = slog.LevelError
		}
		r.logger().Log(ctx, lvl, "host certificate renewal failed; retrying", "error", err, "retry_in", d.Round(time.Millisecond), "valid", r.Cert.Current() != nil)
		select {
		case <-ctx.Done():
			return
		case <-time.After(d):
		}
		wait = min(wait*2, maxRetry)
	}
}

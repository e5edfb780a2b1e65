package session

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// Fetcher downloads bundles from any known server with the host's secret, resuming a partial
// download and verifying the sha256 before the file is put in place.
type Fetcher struct {
	Servers func() []string // in the order to try them
	Secret  string
	Client  *http.Client // NewFetchClient: bounded connect and answer times
	// Trust, when set, refuses servers the agent must not send its secret to (see Trust.CheckURL).
	Trust *Trust
	// Stall bounds how long a download may go without receiving a byte before the next server
	// is tried, resuming where it stopped (default DefaultStall).
	Stall time.Duration
}

// DefaultStall is the default Fetcher.Stall.
const DefaultStall = 30 * time.Second

// NewFetchClient returns the HTTP client for bundle downloads: a server that is down must cost
// seconds, not the default transport's 30 s connect timeout, before the next one is tried.
// tlsConfig (Trust.ClientConfig) verifies https servers and presents the host certificate; nil
// for plain HTTP.
func NewFetchClient(tlsConfig *tls.Config) *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:       tlsConfig,
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		IdleConnTimeout:       90 * time.Second,
	}}
}

// Fetch implements lifecycle.Fetcher.
func (f *Fetcher) Fetch(ctx context.Context, rev agentproto.Revision, dst string) error {
	var errs []error
	for _, srv := range f.Servers() {
		err := f.fetchFrom(ctx, srv, rev, dst)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("download bundle %s: %w", rev.SHA256, errors.Join(errs...))
}

func (f *Fetcher) fetchFrom(ctx context.Context, srv string, rev agentproto.Revision, dst string) error {
	if f.Trust != nil {
		if err := f.Trust.CheckURL(srv); err != nil {
			return err
		}
	}
	part := dst + ".part"
	file, err := os.OpenFile(part, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer func() { _ = file.Close() }()
	h := sha256.New()
	have, err := io.Copy(h, file)
	if err != nil {
		return err
	}
	if have > rev.Size {
		if err := file.Truncate(0); err != nil {
			return err
		}
		h.Reset()
		have = 0
	}
	if have < rev.Size {
		stall := f.Stall
		if stall <= 0 {
			stall = DefaultStall
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		watchdog := time.AfterFunc(stall, cancel)
		defer watchdog.Stop()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv+rev.Path, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+f.Secret)
		if have > 0 {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
		}
		resp, err := f.Client.Do(req)
		if err != nil {
			return err
		}
		defer func() { _ = resp.Body.Close() }()
		switch resp.StatusCode {
		case http.StatusOK:
			if err := file.Truncate(0); err != nil {
				return err
			}
			if _, err := file.Seek(0, io.SeekStart); err != nil {
				return err
			}
			h.Reset()
		case http.StatusPartialContent:
		default:
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			return fmt.Errorf("%s answered %s: %s", srv, resp.Status, body)
		}
		f.Trust.Confirm(resp.TLS) // a request completed: the server proved its certificate
		body := &progressReader{r: resp.Body, progress: func() { watchdog.Reset(stall) }}
		if _, err := io.Copy(io.MultiWriter(file, h), body); err != nil {
			if !watchdog.Stop() && ctx.Err() != nil {
				return fmt.Errorf("from %s: no data for %s (will resume from another server)", srv, stall)
			}
			return fmt.Errorf("from %s (will resume): %w", srv, err)
		}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != rev.SHA256 {
		_ = os.Remove(part)
		return fmt.Errorf("bundle from %s has sha256 %s, want %s; discarded", srv, got, rev.SHA256)
	}
	if err := file.Sync(); err != nil {
		return err
	}
	return os.Rename(part, dst)
}

// progressReader calls progress after every read that returned bytes.
type progressReader struct {
	r        io.Reader
	progress func()
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.progress()
	}
	return n, err
}

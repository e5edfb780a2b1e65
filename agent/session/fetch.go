package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// Fetcher downloads bundles from any known server with the host's secret, resuming a partial
// download and verifying the sha256 before the file is put in place.
type Fetcher struct {
	Servers func() []string
	Secret  string
	Client  *http.Client
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
		if _, err := io.Copy(io.MultiWriter(file, h), resp.Body); err != nil {
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

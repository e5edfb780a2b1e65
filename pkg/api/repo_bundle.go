package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// BundleStatusTrailer is the HTTP trailer of GET /v1/repos/{name}/bundle: BundleStatusOK when
// the bundle is whole, else "error: ..." saying why it was cut short. The body streams as git
// writes it, so only the trailer can say how it ended.
const BundleStatusTrailer = "Slipway-Bundle-Status"

// BundleStatusOK is the trailer's value for a whole bundle.
const BundleStatusOK = "ok"

// RepoBundle writes the repository as a git bundle (`git bundle create --all`: every branch
// and tag) to w, as the server streams it. A repository without refs is a conflict
// (IsConflict). An error after the first byte (the server's git failed, the connection broke)
// means what w holds is incomplete and must be discarded. Like any read it is retried
// (no leader, a dropped connection) only before the answer begins.
func (c *Client) RepoBundle(ctx context.Context, name string, w io.Writer) error {
	var trailer http.Header
	if err := c.do(ctx, request{method: http.MethodGet, path: repoPath(name) + "/bundle", rawOut: w, trailer: &trailer}); err != nil {
		return err
	}
	switch status := trailer.Get(BundleStatusTrailer); status {
	case BundleStatusOK:
		return nil
	case "":
		return fmt.Errorf("the bundle of %s ended without the server's status: it may be incomplete; try again", name)
	default:
		return fmt.Errorf("the bundle of %s is incomplete: %s", name, strings.TrimPrefix(status, "error: "))
	}
}

// RepositoryMaintenance is what POST /v1/repos/{name}/maintenance did to the answering
// server's copy: its packs before and after, whether the repack was full (unreachable objects
// older than two weeks dropped), and how long it took.
type RepositoryMaintenance struct {
	PacksBefore int   `json:"packs_before"`
	PacksAfter  int   `json:"packs_after"`
	Full        bool  `json:"full"`
	DurationMS  int64 `json:"duration_ms"`
}

// RepoMaintain repacks the answering server's copy of the repository now (each server also
// does it in the background).
func (c *Client) RepoMaintain(ctx context.Context, name string) (RepositoryMaintenance, error) {
	var out RepositoryMaintenance
	err := c.do(ctx, request{method: http.MethodPost, path: repoPath(name) + "/maintenance", out: &out})
	return out, err
}

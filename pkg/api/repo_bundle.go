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

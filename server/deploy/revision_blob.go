package deploy

import (
	"context"
	"errors"
	"io"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/pkg/bundle"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// CreateFromBlob records a blob already in the cluster's blob store (a pipeline's artifact:
// a source's tar, a build's zip) as a revision of app, under the same rules as an upload: its
// format detected from its first bytes, then the bundle checks (a readable archive, a valid
// AppSpec at its top). created is false when app already had a revision of that content (that
// one is answered). ctx may carry a request ID (command.WithRequestID): a repeated call is
// answered with the first one's revision. Callers authorize first
// (codedeploy:RegisterApplicationRevision on app/APP).
func (s *Revisions) CreateFromBlob(ctx context.Context, app, sha, description string) (rev pub.Revision, created bool, err error) {
	if err := state.ValidateDescription("revision", description); err != nil {
		return pub.Revision{}, false, err
	}
	if err := (&Apps{core: s.core}).Exists(ctx, app); err != nil {
		return pub.Revision{}, false, err
	}
	if s.core.Blobs == nil {
		return pub.Revision{}, false, fault.New(fault.Unavailable, "this server has no blob store")
	}
	f, blob, err := s.core.Blobs.Open(ctx, sha)
	if err != nil {
		return pub.Revision{}, false, err
	}
	defer func() { _ = f.Close() }()
	ra, ok := f.(io.ReaderAt)
	if !ok {
		return pub.Revision{}, false, fault.New(fault.Internal, "the blob store's reader cannot read at offsets")
	}
	head := make([]byte, bundle.HeaderSize)
	n, err := ra.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return pub.Revision{}, false, fault.New(fault.Internal, "read blob %s: %v", sha, err)
	}
	format := bundle.Detect(head[:n])
	if format == bundle.Unknown {
		return pub.Revision{}, false, fault.New(fault.Invalid, "blob %s is not a tar, tar.gz or zip archive, so it cannot be a revision", sha)
	}
	if err := checkBundle(ra, blob.Size); err != nil {
		return pub.Revision{}, false, err
	}
	return s.Create(ctx, app, Uploaded{Blob: blob, Format: format, Description: description})
}

package deploy

import (
	"bufio"
	"context"
	"errors"
	"io"

	"github.com/google/uuid"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/pkg/bundle"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Revisions is the revisions' Go API. Pushing a revision is two steps, so that each runs under
// the context it needs: Upload streams the bundle into the blob store (as long as the client
// sends it), then Create records the revision (a write, bounded as writes are).
type Revisions struct{ core *module.Core }

// Revisions returns the revisions' API.
func (m *Module) Revisions() *Revisions { return &Revisions{core: m.core} }

func revisionView(r Revision) pub.Revision {
	return pub.Revision{ID: r.ID, App: r.App, SHA256: r.SHA256, Size: r.Size, Format: r.Format,
		Description: r.Description, CreateTime: r.CreateTime, CreateIndex: r.CreateIndex}
}

// Bundle is a bundle a client uploads for a revision.
type Bundle struct {
	Body        io.Reader
	Size        int64  // the client's announced size, -1 when unknown
	SHA256      string // the client's announced digest, "" when none
	Description string // the revision's description
}

// Uploaded is a bundle stored in the blob store, ready to be recorded as a revision.
type Uploaded struct {
	Blob        state.Blob
	Format      bundle.Format
	Description string
}

// Upload streams a bundle into the blob store (a quorum of servers); nothing is buffered in
// memory. Before the blob is stored, checkBundle refuses an upload that agents could not
// deploy. ctx is the upload's: it lasts as long as the client sends.
func (s *Revisions) Upload(ctx context.Context, b Bundle) (Uploaded, error) {
	if err := state.ValidateDescription("revision", b.Description); err != nil {
		return Uploaded{}, err
	}
	if max := s.core.Blobs.MaxSize(); b.Size > max {
		return Uploaded{}, fault.New(fault.TooLarge, "the bundle is %d bytes, over this cluster's %d byte limit (server flag --max-bundle-size)", b.Size, max)
	}
	body := bufio.NewReaderSize(b.Body, 64<<10)
	head, err := body.Peek(bundle.HeaderSize)
	if err != nil && !errors.Is(err, io.EOF) {
		return Uploaded{}, fault.New(fault.Invalid, "read bundle: %v", err)
	}
	format := bundle.Detect(head)
	if format == bundle.Unknown {
		return Uploaded{}, fault.New(fault.Invalid, "the upload is not a tar, tar.gz or zip archive: push a bundle folder or archive with slipway revision push")
	}
	blob, err := s.core.Blobs.Upload(ctx, body, b.SHA256, b.Size, checkBundle)
	if err != nil {
		return Uploaded{}, err
	}
	return Uploaded{Blob: blob, Format: format, Description: b.Description}, nil
}

// Create records an uploaded bundle as a revision of app. When app already has a revision with
// the same content, that one is returned and created is false.
func (s *Revisions) Create(ctx context.Context, app string, up Uploaded) (rev pub.Revision, created bool, err error) {
	id := uuid.NewString()
	res, err := command.Propose(ctx, s.core.Cluster, CmdRevisionCreate, s.core.Now(), RevisionCreatePayload{
		ID: id, App: app, SHA256: up.Blob.SHA256, Size: up.Blob.Size, Format: up.Format.String(), Description: up.Description,
	})
	if err != nil {
		return pub.Revision{}, false, err
	}
	r, err := command.Data[Revision](res)
	if err != nil {
		return pub.Revision{}, false, err
	}
	return revisionView(r), r.ID == id, nil
}

// List returns an app's revisions, oldest first.
func (s *Revisions) List(app string) ([]pub.Revision, error) {
	var out []pub.Revision
	err := s.core.State.View(func(tx *state.Tx) error {
		if _, err := getApp(tx, app); err != nil {
			return err
		}
		revs, err := listRevisions(tx, app)
		for _, rv := range revs {
			out = append(out, revisionView(rv))
		}
		return err
	})
	return out, err
}

// Get returns a revision. One this server has not heard of yet is looked up again after a
// consistent read (ctx bounds it): it may have been pushed through another server a moment ago,
// and whoever was told its ID must be able to fetch it from any server.
func (s *Revisions) Get(ctx context.Context, id string) (pub.Revision, error) {
	var rev Revision
	get := func() error {
		return s.core.State.View(func(tx *state.Tx) error {
			var err error
			rev, err = getRevision(tx, id)
			return err
		})
	}
	err := s.core.ReadYourWrites(ctx, get)
	return revisionView(rev), err
}

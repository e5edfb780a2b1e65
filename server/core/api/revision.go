package api

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/slipwayhq/slipway/appspec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/pkg/bundle"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Blobs is what the API needs from the blob store.
type Blobs interface {
	// Upload stores r as a blob; verify (nil: none) sees the complete content (plaintext) before
	// anything is stored, and its error refuses the upload (see blob.Service.Upload).
	Upload(ctx context.Context, r io.Reader, wantSHA string, wantSize int64, verify func(r io.ReaderAt, size int64) error) (state.Blob, error)
	// Open returns the blob's plaintext, seekable (decrypted chunk by chunk as read).
	Open(ctx context.Context, sha string) (io.ReadSeekCloser, state.Blob, error)
	MaxSize() int64
}

func revisionView(r state.Revision) pub.Revision {
	return pub.Revision{ID: r.ID, App: r.App, SHA256: r.SHA256, Size: r.Size, Format: r.Format,
		Description: r.Description, CreateTime: r.CreateTime, CreateIndex: r.CreateIndex}
}

// appExists checks the app locally and, if it is not there, once more after a consistent read
// (it may have been created through another server a moment ago).
func (s *Server) appExists(r *http.Request, name string) error {
	get := func() error {
		return s.cfg.State.View(func(tx *state.Tx) error { _, err := tx.GetApp(name); return err })
	}
	err := get()
	if fault.CodeOf(err) != fault.NotFound {
		return err
	}
	ctx, cancel := contextWithTimeout(r, s.cfg.WriteTimeout)
	defer cancel()
	if s.cfg.Cluster.ConsistentRead(ctx) != nil {
		return err
	}
	return get()
}

// revisionPush streams a bundle into the blob store (a quorum of servers) and records a revision.
// The body is the archive itself; nothing is buffered in memory. Before the blob is stored,
// checkBundle refuses with 400 an upload that agents could not deploy.
func (s *Server) revisionPush(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	app := r.PathValue("app")
	if err := s.appExists(r, app); err != nil {
		return err
	}
	desc := r.URL.Query().Get("description")
	if err := state.ValidateDescription("revision", desc); err != nil {
		return err
	}
	if max := s.cfg.Blobs.MaxSize(); r.ContentLength > max {
		return fault.New(fault.TooLarge, "the bundle is %d bytes, over this cluster's %d byte limit (server flag --max-bundle-size)", r.ContentLength, max)
	}
	body := bufio.NewReaderSize(r.Body, 64<<10)
	head, err := body.Peek(bundle.HeaderSize)
	if err != nil && !errors.Is(err, io.EOF) {
		return fault.New(fault.Invalid, "read bundle: %v", err)
	}
	format := bundle.Detect(head)
	if format == bundle.Unknown {
		return fault.New(fault.Invalid, "the upload is not a tar, tar.gz or zip archive: push a bundle folder or archive with slipway revision push")
	}
	blob, err := s.cfg.Blobs.Upload(r.Context(), body, r.Header.Get(pub.HeaderSHA256), r.ContentLength, checkBundle)
	if err != nil {
		return err
	}
	revID := uuid.NewString()
	res, err := s.apply(r, id, command.TypeRevisionCreate, command.RevisionCreate{
		ID: revID, App: app, SHA256: blob.SHA256, Size: blob.Size, Format: format.String(), Description: desc,
	})
	if err != nil {
		return err
	}
	var rev state.Revision
	if err := decodeData(res, &rev); err != nil {
		return err
	}
	status := http.StatusCreated
	if rev.ID != revID {
		status = http.StatusOK // the app already had this content
	}
	writeJSON(w, status, revisionView(rev))
	return nil
}

// checkBundle is CodeDeploy's upload rule and a bit more: the upload must be a readable tar,
// tar.gz or zip archive (bundle.Inspect: every tar header read, a zip's directory loaded, names
// that agents would refuse refused) with a valid AppSpec where agents look for it
// (appspec.yml or appspec.yaml at its root, or inside its only folder). The API is open to
// clients that skip the CLI's checks, so the server makes them itself. The work is bounded:
// a tar.gz is decompressed up to what an agent unpacks by default (100 times its size, at least
// 64 MiB, at most 8 GiB); past that the entries read so far are judged and the agents' own
// limits do the rest.
func checkBundle(r io.ReaderAt, size int64) error {
	in, err := bundle.Inspect(r, size, bundle.Limits{MaxExpansion: uploadScanExpansion})
	switch {
	case errors.Is(err, bundle.ErrUnknownFormat):
		return fault.New(fault.Invalid, "the upload is not a tar, tar.gz or zip archive: push a bundle folder or archive with slipway revision push")
	case errors.Is(err, bundle.ErrNoSpec):
		return fault.New(fault.Invalid, "%v: put the AppSpec file at the top of the bundle (CodeDeploy's rule); nothing was stored", err)
	case errors.Is(err, bundle.ErrDamaged):
		return fault.New(fault.Invalid, "the upload is not a readable archive (%v); nothing was stored: was it cut short or corrupted?", err)
	case err != nil:
		return fault.New(fault.Invalid, "agents would refuse this bundle: %v; nothing was stored", err)
	}
	_, diags := appspec.Load(in.SpecPath, in.Spec)
	if diags.HasErrors() {
		errs := diags.Errors()
		return fault.New(fault.Invalid, "the bundle's %s has %d error(s); nothing was stored (slipway appspec validate shows them too):\n%s",
			in.SpecPath, len(errs), strings.TrimRight(errs.String(), "\n"))
	}
	return nil
}

// uploadScanExpansion bounds checkBundle's work on a tar.gz, as the agent's default
// bundle_max_expansion bounds unpacking.
const uploadScanExpansion = 100

func (s *Server) revisionList(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	if err := s.readBarrier(r); err != nil {
		return err
	}
	app := r.PathValue("app")
	out := pub.RevisionList{Revisions: []pub.Revision{}}
	err := s.cfg.State.View(func(tx *state.Tx) error {
		if _, err := tx.GetApp(app); err != nil {
			return err
		}
		revs, err := tx.ListRevisions(app)
		for _, rv := range revs {
			out.Revisions = append(out.Revisions, revisionView(rv))
		}
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getRevision reads the revision named in the path. One this server has not heard of yet is
// looked up again after a consistent read: it may have been pushed through another server a
// moment ago, and whoever was told its ID must be able to fetch it from any server.
func (s *Server) getRevision(r *http.Request) (state.Revision, error) {
	var rev state.Revision
	get := func() error {
		return s.cfg.State.View(func(tx *state.Tx) error {
			var err error
			rev, err = tx.GetRevision(r.PathValue("id"))
			return err
		})
	}
	err := get()
	if fault.CodeOf(err) != fault.NotFound {
		return rev, err
	}
	ctx, cancel := contextWithTimeout(r, s.cfg.WriteTimeout)
	defer cancel()
	if s.cfg.Cluster.ConsistentRead(ctx) != nil {
		return rev, err
	}
	return rev, get()
}

func (s *Server) revisionGet(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	if err := s.readBarrier(r); err != nil {
		return err
	}
	rev, err := s.getRevision(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, revisionView(rev))
	return nil
}

// revisionContent serves a revision's bundle with Range support, fetching it from a peer first
// if this server does not hold it yet.
func (s *Server) revisionContent(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	rev, err := s.getRevision(r)
	if err != nil {
		return err
	}
	return s.serveBlob(w, r, rev.SHA256, rev.ID+"."+rev.Format)
}

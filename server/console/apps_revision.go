package console

import (
	"archive/tar"
	"archive/zip"
	"cmp"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/pkg/bundle"
	"github.com/slipwayhq/slipway/server/core/auth"
)

// Bounds on what a revision's page reads of its bundle: at most maxEntriesShown entries are
// listed, a tar.gz is decompressed at most maxListBytes for the listing, and the AppSpec is
// shown up to maxSpecShown bytes.
const (
	maxEntriesShown = 1000
	maxListBytes    = 64 << 20
	maxSpecShown    = 64 << 10
)

// revisionResource is a revision route's resource as the API names it: its application's
// (app/NAME), so policies on an app cover its revisions; an unknown revision is named by the ID
// given, which only a caller allowed every revision matches.
func (m *Module) revisionResource(r *http.Request) (string, error) {
	ctx, cancel := m.core.HTTP.ReadContext(r)
	defer cancel()
	rev, err := m.deploy.Revisions().Get(ctx, r.PathValue("id"))
	if err != nil {
		return "revision/" + r.PathValue("id"), nil
	}
	return "app/" + rev.App, nil
}

// bundleEntry is one entry of a bundle's listing.
type bundleEntry struct {
	Name string
	Size int64
	Dir  bool
}

// revisionData is a revision's page: the revision, its bundle's entries (at most
// maxEntriesShown; Partial when there were more or the listing stopped at its bound) and its
// AppSpec (Spec, cut at maxSpecShown: SpecCut).
type revisionData struct {
	Revision       pub.Revision
	Entries        []bundleEntry
	Sort           tableSort // ?sort=path|size; the archive's order by default
	Partial        bool
	SpecPath, Spec string
	SpecCut        bool
	BundleError    string
	CanDownload    bool
}

// revisionPage shows a revision: its record, its bundle's contents list and its AppSpec, read
// from the blob store within bounds (see maxEntriesShown).
func (m *Module) revisionPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	ctx, cancel := m.core.HTTP.ReadContext(r)
	defer cancel()
	rev, err := m.deploy.Revisions().Get(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	d := revisionData{Revision: rev, CanDownload: m.core.HTTP.Allowed(r, id, "codedeploy:GetApplicationRevisionContent", "app/"+rev.App)}
	if err := m.readBundle(ctx, rev, &d); err != nil {
		d.BundleError = errText(err)
	}
	d.Sort = sortTable(r, "sort", "", d.Entries, map[string]func(a, b bundleEntry) int{
		"path": func(a, b bundleEntry) int { return strings.Compare(a.Name, b.Name) },
		"size": func(a, b bundleEntry) int { return cmp.Compare(a.Size, b.Size) },
	})
	return m.render(w, http.StatusOK, "revision", frame(r, id.Token.User, "Revision "+rev.ID, d))
}

// readBundle lists rev's bundle into d and finds its AppSpec the way agents do (bundle.Inspect,
// the upload's own check).
func (m *Module) readBundle(ctx context.Context, rev pub.Revision, d *revisionData) error {
	f, blob, err := m.core.Blobs.Open(ctx, rev.SHA256)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	ra := &seekReaderAt{r: f}
	if in, err := bundle.Inspect(ra, blob.Size, bundle.Limits{MaxBytes: maxListBytes}); err == nil {
		d.SpecPath = in.SpecPath
		spec := in.Spec
		if len(spec) > maxSpecShown {
			spec, d.SpecCut = spec[:maxSpecShown], true
		}
		d.Spec = string(spec)
	}
	format, err := bundle.DetectReaderAt(ra)
	if err != nil {
		return err
	}
	add := func(name string, size int64, dir bool) bool {
		if len(d.Entries) == maxEntriesShown {
			d.Partial = true
			return false
		}
		d.Entries = append(d.Entries, bundleEntry{name, size, dir})
		return true
	}
	switch format {
	case bundle.Zip:
		zr, err := zip.NewReader(ra, blob.Size)
		if err != nil {
			return err
		}
		for _, e := range zr.File {
			if !add(e.Name, int64(e.UncompressedSize64), e.FileInfo().IsDir()) {
				break
			}
		}
		return nil
	case bundle.TarGzip:
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		gz, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		lr := &io.LimitedReader{R: gz, N: maxListBytes}
		err = listTar(tar.NewReader(lr), add)
		if lr.N <= 0 {
			d.Partial = true
			return nil
		}
		return err
	default:
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		return listTar(tar.NewReader(f), add)
	}
}

// listTar adds tr's entries until add says stop or the archive ends.
func listTar(tr *tar.Reader, add func(string, int64, bool) bool) error {
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if !add(h.Name, h.Size, h.Typeflag == tar.TypeDir) {
			return nil
		}
	}
}

// seekReaderAt reads at an offset by seeking (one reader at a time: not for concurrent use).
type seekReaderAt struct{ r io.ReadSeeker }

func (s *seekReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if _, err := s.r.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	n, err := io.ReadFull(s.r, p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF // fewer bytes than asked: the end, as io.ReaderAt says
	}
	return n, err
}

// revisionContent streams a revision's bundle as a download (the API's content route needs a
// bearer token; the browser has the session cookie).
func (m *Module) revisionContent(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	rev, err := m.deploy.Revisions().Get(ctx, r.PathValue("id"))
	cancel()
	if err != nil {
		return err
	}
	securityHeaders(w)
	return m.core.HTTP.ServeBlob(w, r, rev.SHA256, rev.ID+"."+rev.Format)
}

package build

import (
	"archive/tar"
	"archive/zip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/slipwayhq/slipway/server/core/fault"
)

// serveSourceArtifact answers a build's source artifact as a tar: a tar blob as it is, a zip
// blob converted entry by entry as it streams (the agent unpacks tars only). A conversion
// that fails once the answer has begun breaks the tar, as agentSource does, so that the agent
// does not take a cut archive for a whole one.
func (m *Module) serveSourceArtifact(w http.ResponseWriter, r *http.Request, b Build) error {
	blobs := m.blobStore()
	if blobs == nil {
		return fault.New(fault.Unavailable, "this server has no blob store")
	}
	a := b.SourceArtifact
	f, _, err := blobs.Open(r.Context(), a.SHA256)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Cache-Control", "no-store")
	cw := &countingWriter{w: w}
	if a.Format == ArtifactZip {
		err = zipToTar(r.Context(), f, a.Size, cw)
	} else {
		_, err = io.Copy(cw, f)
	}
	if err != nil && cw.n > 0 {
		_, _ = io.WriteString(w, strings.Repeat("slipway: the archive failed on the server\n", 13)[:512])
		m.core.Log.Warn("build source artifact failed midway", "build", b.ID, "sha256", a.SHA256, "error", err)
		return nil
	}
	return err
}

// zipToTar writes the entries of the zip in r (size bytes) to w as a tar: directories,
// regular files (with their permission bits) and symbolic links; anything else is refused.
// Names are written as the zip has them: the agent refuses those that would leave its
// workspace.
func zipToTar(ctx context.Context, r io.Reader, size int64, w io.Writer) error {
	ra, ok := r.(io.ReaderAt)
	if !ok {
		return fault.New(fault.Internal, "the blob store's reader cannot read at offsets")
	}
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return fault.New(fault.Invalid, "the source artifact is not a zip archive: %v", err)
	}
	tw := tar.NewWriter(w)
	for _, f := range zr.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := zipEntryToTar(tw, f); err != nil {
			return err
		}
	}
	return tw.Close()
}

func zipEntryToTar(tw *tar.Writer, f *zip.File) error {
	mode := f.Mode()
	hdr := &tar.Header{Name: f.Name, ModTime: f.Modified, Mode: int64(mode.Perm())}
	switch {
	case mode.IsDir() || strings.HasSuffix(f.Name, "/"):
		hdr.Typeflag, hdr.Name = tar.TypeDir, path.Clean(f.Name)+"/"
		if hdr.Mode == 0 {
			hdr.Mode = 0o755
		}
		return tw.WriteHeader(hdr)
	case mode&fs.ModeSymlink != 0: // the entry's content is the target
		rc, err := f.Open()
		if err != nil {
			return fault.New(fault.Invalid, "source artifact entry %q: %v", f.Name, err)
		}
		target, err := io.ReadAll(io.LimitReader(rc, 4096))
		_ = rc.Close()
		if err != nil {
			return fault.New(fault.Invalid, "source artifact entry %q: %v", f.Name, err)
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, string(target)
		return tw.WriteHeader(hdr)
	case mode.IsRegular():
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
		}
		hdr.Typeflag, hdr.Size = tar.TypeReg, int64(f.UncompressedSize64)
		if hdr.Size < 0 {
			return fault.New(fault.Invalid, "source artifact entry %q is too large", f.Name)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		rc, err := f.Open()
		if err != nil {
			return fault.New(fault.Invalid, "source artifact entry %q: %v", f.Name, err)
		}
		defer func() { _ = rc.Close() }()
		n, err := io.Copy(tw, io.LimitReader(rc, hdr.Size))
		if err == nil && n != hdr.Size {
			err = fmt.Errorf("it holds %d bytes, its header says %d", n, hdr.Size)
		}
		if err != nil {
			return fault.New(fault.Invalid, "source artifact entry %q: %v", f.Name, err)
		}
		return nil
	}
	return fault.New(fault.Invalid, "source artifact entry %q is a %v; a source holds files, directories and links only", f.Name, mode.Type())
}

package session

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// SourceLimits bound what a build's source tar may unpack to.
type SourceLimits struct {
	// MaxBytes bounds the regular files' bytes together; 0 is DefaultSourceMaxBytes.
	MaxBytes int64
	// MaxEntries bounds the entries (files, directories, links); 0 is DefaultSourceMaxEntries.
	MaxEntries int
}

// Defaults of SourceLimits.
const (
	DefaultSourceMaxBytes   = 4 << 30
	DefaultSourceMaxEntries = 200_000
)

func (l SourceLimits) withDefaults() SourceLimits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultSourceMaxBytes
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultSourceMaxEntries
	}
	return l
}

// SourceError is a source tar the agent refused to unpack (an entry leaving the workspace, a
// device file, too big): the build's fault (CLIENT_ERROR), not worth retrying elsewhere.
type SourceError struct{ Msg string }

func (e *SourceError) Error() string { return e.Msg }

func sourceErrorf(format string, args ...any) error {
	return &SourceError{Msg: fmt.Sprintf(format, args...)}
}

// Untar unpacks the tar r into dir (which must exist) through an os.Root, so that nothing is
// written outside dir whatever the tar holds. It refuses, with a *SourceError naming the entry:
// absolute names, names with a ".." element, symbolic links whose target is absolute or leaves
// dir, hard links to outside, device files, FIFOs and sockets, and more than lim's bytes or
// entries. Modes keep their permission bits only (no setuid, setgid or sticky bit). git
// archive's pax global header (the commit ID) is skipped.
func Untar(r io.Reader, dir string, lim SourceLimits) error {
	lim = lim.withDefaults()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer func() { _ = root.Close() }()
	tr := tar.NewReader(r)
	var total int64
	entries := 0
	var links []string
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return linksInside(dir, links)
		}
		if err != nil {
			return fmt.Errorf("read the source tar: %w", err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		if entries++; entries > lim.MaxEntries {
			return sourceErrorf("the source has more than %d entries", lim.MaxEntries)
		}
		name, err := entryName(hdr.Name)
		if err != nil {
			return err
		}
		if name == "." {
			continue
		}
		if dir := path.Dir(name); dir != "." {
			if err := root.MkdirAll(dir, 0o755); err != nil {
				return sourceErrorf("source entry %q: %v", hdr.Name, err)
			}
		}
		perm := fs.FileMode(hdr.Mode) & fs.ModePerm
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, perm|0o700); err != nil {
				return sourceErrorf("source entry %q: %v", hdr.Name, err)
			}
		case tar.TypeReg, tar.TypeRegA: //nolint:staticcheck // TypeRegA: old tars write it
			if hdr.Size < 0 || total+hdr.Size > lim.MaxBytes {
				return sourceErrorf("the source unpacks to more than %d bytes (at %q)", lim.MaxBytes, hdr.Name)
			}
			total += hdr.Size
			rd := &readErr{r: tr}
			if err := writeEntry(root, name, perm, rd, hdr.Size); err != nil {
				if rd.err != nil || errors.Is(err, io.ErrUnexpectedEOF) {
					// The stream broke (a cut connection): another server may do better.
					return fmt.Errorf("read the source tar at %q: %w", hdr.Name, err)
				}
				return sourceErrorf("source entry %q: %v", hdr.Name, err)
			}
		case tar.TypeSymlink:
			if err := linkInside(name, hdr.Linkname); err != nil {
				return sourceErrorf("source entry %q: a symbolic link to %q %v", hdr.Name, hdr.Linkname, err)
			}
			if err := root.Symlink(hdr.Linkname, name); err != nil {
				return sourceErrorf("source entry %q: %v", hdr.Name, err)
			}
			links = append(links, name)
		case tar.TypeLink:
			target, err := entryName(hdr.Linkname)
			if err != nil {
				return sourceErrorf("source entry %q: a hard link to %q leaves the workspace", hdr.Name, hdr.Linkname)
			}
			if err := root.Link(target, name); err != nil {
				return sourceErrorf("source entry %q: %v", hdr.Name, err)
			}
		default:
			return sourceErrorf("source entry %q is a %s; a source holds files, directories and links only", hdr.Name, typeName(hdr.Typeflag))
		}
	}
}

// entryName is a tar entry's name cleaned, relative to the workspace; absolute names and names
// with a ".." element are refused.
func entryName(name string) (string, error) {
	n := strings.ReplaceAll(name, "\\", "/")
	if strings.HasPrefix(n, "/") || filepath.IsAbs(name) || filepath.VolumeName(name) != "" {
		return "", sourceErrorf("source entry %q has an absolute name; entries must stay inside the workspace", name)
	}
	for _, el := range strings.Split(n, "/") {
		if el == ".." {
			return "", sourceErrorf("source entry %q has a \"..\" element; entries must stay inside the workspace", name)
		}
	}
	return path.Clean(n), nil
}

// linkInside checks that a symbolic link at name (relative to the workspace) to target stays
// inside the workspace.
func linkInside(name, target string) error {
	t := strings.ReplaceAll(target, "\\", "/")
	if target == "" || strings.HasPrefix(t, "/") || filepath.IsAbs(target) || filepath.VolumeName(target) != "" {
		return errors.New("is absolute; links must stay inside the workspace")
	}
	joined := path.Join(path.Dir(name), t)
	if joined == ".." || strings.HasPrefix(joined, "../") {
		return errors.New("leaves the workspace")
	}
	return nil
}

// linksInside checks, once everything is unpacked, that each symbolic link resolves inside dir:
// a link's target checked on its own can still leave through another link on its way ("b" to
// "a/l/.." where "a/l" is a link to "."). A dangling link is checked from its real directory.
func linksInside(dir string, links []string) error {
	if len(links) == 0 {
		return nil
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	for _, name := range links {
		p := filepath.Join(real, filepath.FromSlash(name))
		resolved, err := filepath.EvalSymlinks(p)
		if err != nil {
			target, rerr := os.Readlink(p)
			parent, perr := filepath.EvalSymlinks(filepath.Dir(p))
			if rerr != nil || perr != nil {
				return sourceErrorf("source entry %q: a symbolic link that cannot be resolved: %v", name, err)
			}
			resolved = filepath.Join(parent, target)
		}
		if !within(real, resolved) {
			return sourceErrorf("source entry %q: a symbolic link that leaves the workspace (through another link)", name)
		}
	}
	return nil
}

// within reports whether p is dir or inside it (both clean and absolute).
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// readErr remembers the first error of its reader other than io.EOF.
type readErr struct {
	r   io.Reader
	err error
}

func (e *readErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && e.err == nil {
		e.err = err
	}
	return n, err
}

func writeEntry(root *os.Root, name string, perm fs.FileMode, r io.Reader, size int64) error {
	f, err := root.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm|0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(r, size))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != size {
		err = io.ErrUnexpectedEOF
	}
	return err
}

func typeName(t byte) string {
	switch t {
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeFifo:
		return "FIFO"
	}
	return fmt.Sprintf("entry of type %q", t)
}

// DownloadSource fetches the source tar at urlPath from any server (as bundles are fetched:
// the host secret, the agent's TLS client) and unpacks it into dir with Untar. A server that
// fails or cuts the stream is left for the next one, dir emptied first, going through the list
// up to three times (as uploads); a refused tar (*SourceError) or a refusal by a server (4xx:
// the build is not in progress on this host) ends the download at once.
func (f *Fetcher) DownloadSource(ctx context.Context, urlPath, dir string, lim SourceLimits) error {
	tried := false
	err := f.eachServer(ctx, func(srv string) error {
		if tried {
			if err := emptyDir(dir); err != nil {
				return &SourceError{Msg: fmt.Sprintf("empty the workspace: %v", err)}
			}
		}
		tried = true
		err := f.sourceFrom(ctx, srv, urlPath, dir, lim)
		var se *SourceError
		if errors.As(err, &se) {
			return &refusedError{srv: srv, status: "refused by the agent", body: []byte(err.Error()), cause: err}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("download the source: %w", err)
	}
	return nil
}

func (f *Fetcher) sourceFrom(ctx context.Context, srv, urlPath, dir string, lim SourceLimits) error {
	resp, err := f.request(ctx, srv, http.MethodGet, urlPath, nil, "")
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	return Untar(resp.Body, dir, lim)
}

// refusedError is a server's 4xx answer: another server would say the same.
type refusedError struct {
	srv, status string
	body        []byte
	cause       error // the agent's own refusal (a *SourceError), when it is one
}

func (e *refusedError) Error() string {
	if e.cause != nil {
		return e.cause.Error()
	}
	return fmt.Sprintf("%s refused (%s): %s", e.srv, e.status, bytes.TrimSpace(e.body))
}

func (e *refusedError) Unwrap() error { return e.cause }

// request sends one host-authenticated request to srv and returns a 2xx response (whose body
// the caller closes). A 4xx answer is a *refusedError, others a plain error.
func (f *Fetcher) request(ctx context.Context, srv, method, urlPath string, body io.Reader, contentType string) (*http.Response, error) {
	if f.Trust != nil {
		if err := f.Trust.CheckURL(srv); err != nil {
			return nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, srv+urlPath, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+f.Secret)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := f.Client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		_ = resp.Body.Close()
		if resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests {
			return nil, &refusedError{srv: srv, status: resp.Status, body: msg}
		}
		return nil, fmt.Errorf("%s answered %s: %s", srv, resp.Status, bytes.TrimSpace(msg))
	}
	f.Trust.Confirm(resp.TLS)
	return resp, nil
}

// emptyDir removes everything inside dir, keeping dir.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

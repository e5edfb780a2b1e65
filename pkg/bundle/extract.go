package bundle

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"
)

// maxLinkHops bounds symlink resolution when checking links (as in Linux).
const maxLinkHops = 40

// extractor writes entries below one target folder through an os.Root, so
// that even a missed check cannot write outside it, and enforces the rules
// and limits shared by every archive format.
type extractor struct {
	root    *os.Root
	lim     Limits
	max     int64 // the unpacked bytes allowed (see Limits.MaxUnpacked)
	byRatio bool  // max comes from Limits.MaxExpansion
	bytes   int64
	entries int
	links   map[string]bool        // symlinks created
	files   map[string]bool        // regular files and hard links created
	dirs    map[string]fs.FileMode // folders and the mode to give them last
}

func newExtractor(dest string, lim Limits) (*extractor, error) {
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return nil, fmt.Errorf("unpack bundle: %w", err)
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		return nil, fmt.Errorf("unpack bundle: %w", err)
	}
	lim = lim.withDefaults()
	limit, byRatio := lim.MaxUnpacked()
	return &extractor{root: root, lim: lim, max: limit, byRatio: byRatio, links: map[string]bool{}, files: map[string]bool{}, dirs: map[string]fs.FileMode{}}, nil
}

// tooLarge is the refusal of entry orig for the unpacked size.
func (x *extractor) tooLarge(orig string) error {
	e := &SizeError{Limit: x.max, ByExpansion: x.byRatio, MaxBytes: x.lim.MaxBytes}
	if x.byRatio {
		e.ArchiveSize, e.MaxExpansion = x.lim.ArchiveSize, x.lim.MaxExpansion
	}
	return &EntryError{Name: orig, Err: e}
}

// specialBits are the mode bits an archive entry never brings onto disk.
const specialBits = fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

// close releases the root. After a failed unpack it first removes every
// symlink that resolves outside the target, so that even a partial result
// holds no escape hatch.
func (x *extractor) close(failed bool) {
	if failed {
		_ = x.checkLinks()
	}
	x.root.Close()
}

func entryErr(name string, sentinel error, format string, args ...any) error {
	if format == "" {
		return &EntryError{Name: name, Err: sentinel}
	}
	return &EntryError{Name: name, Err: fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))}
}

// count enforces MaxEntries.
func (x *extractor) count(name string) error {
	x.entries++
	if x.entries > x.lim.MaxEntries {
		return entryErr(name, ErrTooManyEntries, "more than %d entries", x.lim.MaxEntries)
	}
	return nil
}

// cleanName checks an archive entry name and returns it as a clean
// slash path relative to the target ("" for the target itself).
func cleanName(name string) (string, error) {
	switch {
	case strings.ContainsRune(name, 0):
		return "", entryErr(name, ErrUnsafePath, "the name holds a NUL byte")
	case strings.HasPrefix(name, "/"), strings.HasPrefix(name, `\`):
		return "", entryErr(name, ErrUnsafePath, "the name is absolute")
	case len(name) >= 2 && name[1] == ':':
		return "", entryErr(name, ErrUnsafePath, "the name starts with a drive letter")
	}
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return "", entryErr(name, ErrUnsafePath, "the name has a .. component")
		}
	}
	c := path.Clean(name)
	if c == "." {
		return "", nil
	}
	return c, nil
}

// checkParents refuses a name whose parent folders include a symlink or a
// file created by an earlier entry, and a name already used by a non-folder.
func (x *extractor) checkParents(orig, name string) error {
	for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
		if x.links[dir] || x.files[dir] {
			return entryErr(orig, ErrThroughLink, "%s is a symlink or file from an earlier entry", dir)
		}
	}
	if x.links[name] || x.files[name] {
		return entryErr(orig, ErrThroughLink, "%s was already unpacked", name)
	}
	return nil
}

func (x *extractor) mkParent(orig, name string) error {
	if dir := path.Dir(name); dir != "." {
		if err := x.root.MkdirAll(dir, 0o755); err != nil {
			return &EntryError{Name: orig, Err: err}
		}
	}
	return nil
}

// dir creates a folder; its mode is applied by finish, so that a read-only
// folder can still receive its entries. Only its permission bits are kept.
func (x *extractor) dir(orig, name string, mode fs.FileMode) error {
	mode &^= specialBits
	if err := x.checkParents(orig, name); err != nil {
		return err
	}
	if err := x.root.MkdirAll(name, 0o700); err != nil {
		return &EntryError{Name: orig, Err: err}
	}
	x.dirs[name] = mode
	return nil
}

// file streams one regular file, counting the bytes it writes against the
// size limit (declared, the size the archive announces or -1, only allows an
// early refusal). Only the permission bits of mode are kept: a setuid,
// setgid or sticky bit from an archive is dropped.
func (x *extractor) file(orig, name string, mode fs.FileMode, r io.Reader, declared int64, mtime time.Time) error {
	mode &^= specialBits
	if err := x.checkParents(orig, name); err != nil {
		return err
	}
	if _, isDir := x.dirs[name]; isDir {
		return entryErr(orig, ErrThroughLink, "%s was already unpacked as a folder", name)
	}
	remaining := x.max - x.bytes
	if declared > remaining {
		return x.tooLarge(orig)
	}
	if err := x.mkParent(orig, name); err != nil {
		return err
	}
	f, err := x.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return &EntryError{Name: orig, Err: err}
	}
	x.files[name] = true
	n, err := io.Copy(f, io.LimitReader(r, remaining+1))
	x.bytes += n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return &EntryError{Name: orig, Err: err}
	}
	if x.bytes > x.max {
		return x.tooLarge(orig)
	}
	if err := x.root.Chmod(name, mode); err != nil {
		return &EntryError{Name: orig, Err: err}
	}
	if !mtime.IsZero() {
		if err := x.root.Chtimes(name, mtime, mtime); err != nil {
			return &EntryError{Name: orig, Err: err}
		}
	}
	return nil
}

// symlink creates a link whose target must stay inside the target folder.
func (x *extractor) symlink(orig, name, target string) error {
	if err := x.checkParents(orig, name); err != nil {
		return err
	}
	if _, isDir := x.dirs[name]; isDir {
		return entryErr(orig, ErrThroughLink, "%s was already unpacked as a folder", name)
	}
	if target == "" || strings.ContainsRune(target, 0) || strings.HasPrefix(target, "/") || strings.HasPrefix(target, `\`) || (len(target) >= 2 && target[1] == ':') {
		return entryErr(orig, ErrUnsafeLink, "target %q is empty or absolute", target)
	}
	if climbs(path.Dir(name), target) {
		return entryErr(orig, ErrUnsafeLink, "target %q leaves the target folder", target)
	}
	if err := x.mkParent(orig, name); err != nil {
		return err
	}
	if err := x.root.Symlink(target, name); err != nil {
		return &EntryError{Name: orig, Err: err}
	}
	x.links[name] = true
	return nil
}

// hardlink links name to a regular file unpacked earlier.
func (x *extractor) hardlink(orig, name, target string) error {
	if err := x.checkParents(orig, name); err != nil {
		return err
	}
	t, err := cleanName(target)
	if err != nil || t == "" || !x.files[t] {
		return entryErr(orig, ErrUnsafeLink, "hard link target %q is not a file unpacked earlier", target)
	}
	if err := x.mkParent(orig, name); err != nil {
		return err
	}
	if err := x.root.Link(t, name); err != nil {
		return &EntryError{Name: orig, Err: err}
	}
	x.files[name] = true
	return nil
}

// climbs reports whether target, read from folder dir (slash, relative to
// the root), climbs above the root lexically.
func climbs(dir, target string) bool {
	depth := 0
	if dir != "." {
		depth = strings.Count(dir, "/") + 1
	}
	for _, part := range strings.FieldsFunc(target, func(r rune) bool { return r == '/' || r == '\\' }) {
		switch part {
		case ".":
		case "..":
			depth--
			if depth < 0 {
				return true
			}
		default:
			depth++
		}
	}
	return false
}

// finish checks every symlink against the final tree, then applies folder
// modes deepest first.
func (x *extractor) finish() error {
	if err := x.checkLinks(); err != nil {
		return err
	}
	dirs := make([]string, 0, len(x.dirs))
	for d := range x.dirs {
		dirs = append(dirs, d)
	}
	sort.Slice(dirs, func(i, j int) bool {
		if len(dirs[i]) != len(dirs[j]) {
			return len(dirs[i]) > len(dirs[j])
		}
		return dirs[i] < dirs[j]
	})
	for _, d := range dirs {
		if err := x.root.Chmod(d, x.dirs[d]); err != nil {
			return &EntryError{Name: d, Err: err}
		}
	}
	return nil
}

// checkLinks removes every symlink that resolves outside the target and
// returns the first such problem.
func (x *extractor) checkLinks() error {
	links := make([]string, 0, len(x.links))
	for l := range x.links {
		links = append(links, l)
	}
	sort.Strings(links)
	var firstErr error
	for _, l := range links {
		if err := x.resolveInside(l); err != nil {
			// Never leave an escaping link behind, even in a partial result.
			_ = x.root.Remove(l)
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	return firstErr
}

// resolveInside follows the symlink at link through the unpacked tree,
// symlink by symlink, and fails if any step climbs above the root: a link
// that is lexically inside can still escape through another link (a -> .,
// b -> a/..).
func (x *extractor) resolveInside(link string) error {
	target, err := x.root.Readlink(link)
	if err != nil {
		return &EntryError{Name: link, Err: err}
	}
	var parts []string
	if d := path.Dir(link); d != "." {
		parts = strings.Split(d, "/")
	}
	queue := splitLink(target)
	for hops := 0; len(queue) > 0; {
		c := queue[0]
		queue = queue[1:]
		switch c {
		case ".":
			continue
		case "..":
			if len(parts) == 0 {
				return entryErr(link, ErrUnsafeLink, "target %q resolves outside the target folder", target)
			}
			parts = parts[:len(parts)-1]
			continue
		}
		cand := strings.Join(append(append([]string(nil), parts...), c), "/")
		fi, err := x.root.Lstat(cand)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			parts = append(parts, c)
			continue
		}
		if hops++; hops > maxLinkHops {
			return entryErr(link, ErrUnsafeLink, "too many levels of symlinks")
		}
		t, err := x.root.Readlink(cand)
		if err != nil {
			return &EntryError{Name: link, Err: err}
		}
		if strings.HasPrefix(t, "/") || strings.HasPrefix(t, `\`) || (len(t) >= 2 && t[1] == ':') {
			return entryErr(link, ErrUnsafeLink, "target %q goes through an absolute link", target)
		}
		queue = append(splitLink(t), queue...)
	}
	return nil
}

func splitLink(t string) []string {
	return strings.FieldsFunc(t, func(r rune) bool { return r == '/' || r == '\\' })
}

// isInsecurePath reports the archive packages' own insecure-path error,
// returned only under GODEBUG tarinsecurepath=0/zipinsecurepath=0; the
// extractor applies its own, stricter checks instead.
func isInsecurePath(err error, sentinel error) bool { return errors.Is(err, sentinel) }

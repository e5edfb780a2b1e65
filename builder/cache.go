package builder

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/buildspec"
)

// Bounds of a build cache.
const (
	// DefaultCacheMaxBytes bounds the files one cache entry saves when
	// Options.CacheMaxBytes is 0; a larger cache is not saved.
	DefaultCacheMaxBytes = 4 << 30
	// MaxCacheFiles bounds the files of one cache entry.
	MaxCacheFiles = 200000
	// MaxCacheEntries is the most entries (keys) a cache directory keeps;
	// saving one more removes the least recently used.
	MaxCacheEntries = 16
	// MaxCacheKey bounds a cache key once expanded.
	MaxCacheKey = 1024
)

// cacheKeyFile, in an entry's directory, holds its key; its modification
// time is when the entry was last saved or restored.
const cacheKeyFile = "key"

// cachePlan is a buildspec's cache as one build uses it.
type cachePlan struct {
	dir      string   // Options.CacheDir
	key      string   // expanded; "" for the unkeyed cache
	fallback []string // expanded fallback keys
	patterns []string // cache paths relative to the source directory
	restore  bool
	save     bool
}

// cachePatterns turns cache paths into patterns relative to the source
// directory srcDir (as the commands see it). A relative path is relative to
// it already; an absolute one inside it is made relative. Paths that leave
// it (../.., /root/.m2, ~/.cache) are not cached, and logf says why: a
// local cache never writes outside the workspace.
func cachePatterns(paths []string, srcDir string, logf func(string, ...any)) []string {
	var out []string
	for _, p := range paths {
		p = strings.TrimSpace(p)
		switch {
		case strings.HasPrefix(p, "~"):
			logf("Cache path %s is in the home directory: not cached; local builds cache only paths inside CODEBUILD_SRC_DIR", p)
			continue
		case path.IsAbs(p):
			rel := strings.TrimPrefix(path.Clean(p), strings.TrimSuffix(filepath.ToSlash(srcDir), "/")+"/")
			if rel == path.Clean(p) || srcDir == "" {
				logf("Cache path %s is outside CODEBUILD_SRC_DIR: not cached; local builds cache only paths inside it", p)
				continue
			}
			p = rel
		}
		clean := path.Clean(p)
		if clean == ".." || strings.HasPrefix(clean, "../") {
			logf("Cache path %s leaves CODEBUILD_SRC_DIR: refused", p)
			continue
		}
		if clean == "." {
			logf("Cache path %s is the whole source directory: refused; name the directories to cache, such as node_modules/**/*", p)
			continue
		}
		out = append(out, clean)
	}
	return out
}

// planCache decides what the build does with its cache; nil for nothing.
func (r *runner) planCache(ctx context.Context) *cachePlan {
	c := r.spec.Cache
	if c == nil || r.opts.CacheDir == "" {
		if c != nil {
			r.logf("The cache is not restored nor saved: no cache directory")
		}
		return nil
	}
	p := &cachePlan{dir: r.opts.CacheDir, restore: c.Action != "save", save: c.Action != "restore"}
	p.patterns = cachePatterns(c.Paths, r.ws.SrcDir(), r.logf)
	if len(p.patterns) == 0 {
		r.logf("The cache has no path inside CODEBUILD_SRC_DIR: nothing is restored nor saved")
		return nil
	}
	if c.Key != "" {
		var ok bool
		if p.key, ok = r.cacheKey(ctx, c.Key); !ok {
			return nil
		}
		for _, k := range c.FallbackKeys {
			if v, ok := r.cacheKey(ctx, k); ok && v != "" {
				p.fallback = append(p.fallback, v)
			}
		}
	}
	return p
}

var hashFilesRe = regexp.MustCompile(`\$\(\s*codebuild-hash-files\s+([^)]*)\)`)

// cacheKey expands a cache key: $(codebuild-hash-files GLOB...) here, then
// variables and command substitutions in a shell of the build, which is
// closed afterwards (the phases start their own).
func (r *runner) cacheKey(ctx context.Context, key string) (string, bool) {
	dir, err := r.ws.Export(ctx)
	if err != nil {
		r.logf("Cannot read the workspace for the cache key: %v", err)
		return "", false
	}
	key = hashFilesRe.ReplaceAllStringFunc(key, func(m string) string {
		globs := strings.Fields(hashFilesRe.FindStringSubmatch(m)[1])
		return hashFiles(dir, globs, r.logf)
	})
	if strings.ContainsAny(key, "$`") {
		s, err := startSession(ctx, r.ws, r.startRequest(r.spec.RunAs))
		if err != nil {
			r.logf("Cannot expand the cache key %s: %v", key, err)
			return "", false
		}
		v, ok := s.value(ctx, "key", s.expansion(key))
		s.close(r.output)
		if !ok {
			r.logf("Cannot expand the cache key %s: the shell ended", key)
			return "", false
		}
		key = v
	}
	key = strings.TrimSpace(key)
	if len(key) > MaxCacheKey {
		r.logf("The cache key is longer than %d bytes: the cache is not used", MaxCacheKey)
		return "", false
	}
	return key, true
}

// hashFiles is codebuild-hash-files: a SHA-256 over the paths and contents
// of the files of the source matching the globs, in path order.
func hashFiles(dir string, globs []string, logf func(string, ...any)) string {
	h := sha256.New()
	byRel, rels, err := match(dir, buildspec.Artifact{Files: globs}, logf)
	if err != nil {
		logf("codebuild-hash-files %s: %v", strings.Join(globs, " "), err)
	}
	for _, rel := range rels {
		f, err := os.Open(byRel[rel].src)
		if err != nil {
			continue
		}
		fmt.Fprintf(h, "%s\x00", rel)
		_, _ = io.Copy(h, f)
		_ = f.Close()
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// entryDir is where the entry of a key lives.
func (p *cachePlan) entryDir(key string) string {
	if key == "" {
		return filepath.Join(p.dir, "default")
	}
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(p.dir, "key-"+hex.EncodeToString(sum[:12]))
}

// lookup finds the entry to restore: the key's own, else the most recently
// used entry whose key starts with a fallback key, in the fallback keys'
// order (CodeBuild's prefix search).
func (p *cachePlan) lookup() (dir, key string, ok bool) {
	if st, err := os.Stat(filepath.Join(p.entryDir(p.key), "files")); err == nil && st.IsDir() {
		return p.entryDir(p.key), p.key, true
	}
	if len(p.fallback) == 0 {
		return "", "", false
	}
	entries := p.entries()
	for _, fb := range p.fallback {
		for _, e := range entries {
			if strings.HasPrefix(e.key, fb) {
				return e.dir, e.key, true
			}
		}
	}
	return "", "", false
}

type cacheEntry struct {
	dir, key string
	used     time.Time
}

// entries lists the keyed entries, most recently used first.
func (p *cachePlan) entries() []cacheEntry {
	dirs, _ := filepath.Glob(filepath.Join(p.dir, "key-*"))
	var out []cacheEntry
	for _, d := range dirs {
		kf := filepath.Join(d, cacheKeyFile)
		b, err := os.ReadFile(kf)
		st, err2 := os.Stat(kf)
		if err != nil || err2 != nil {
			continue
		}
		out = append(out, cacheEntry{dir: d, key: string(b), used: st.ModTime()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].used.After(out[j].used) })
	return out
}

// restoreCache copies the cache's files into the workspace before INSTALL,
// over the source's files of the same names (as CodeBuild's local cache).
func (r *runner) restoreCache(ctx context.Context, p *cachePlan) {
	dir, key, ok := p.lookup()
	if !ok {
		r.logf("No cache to restore%s", keyNote(p.key))
		return
	}
	ws, err := r.ws.Export(ctx)
	if err != nil {
		r.logf("Cannot restore the cache: %v", err)
		return
	}
	n, err := restoreFiles(filepath.Join(dir, "files"), ws, r.logf)
	if err != nil {
		r.logf("Cannot restore the cache: %v", err)
	}
	now := time.Now()
	_ = os.Chtimes(filepath.Join(dir, cacheKeyFile), now, now)
	if key == p.key {
		r.logf("Cache restored%s: %d files", keyNote(key), n)
	} else {
		r.logf("Cache restored from fallback key %q: %d files", key, n)
	}
}

// restoreFiles copies the files below from into the directory to. It never
// writes through a symbolic link of to: a file whose parent directory in to
// is a link is skipped, and a link where a file goes is replaced.
func restoreFiles(from, to string, logf func(string, ...any)) (int, error) {
	n := 0
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == from && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, rel)
		if !realDirs(to, filepath.Dir(rel)) {
			logf("Cache file %s is not restored: a directory on its way is a link or a file", filepath.ToSlash(rel))
			return nil
		}
		if st, err := os.Lstat(dst); err == nil {
			switch {
			case st.IsDir():
				logf("Cache file %s is not restored: the source has a directory there", filepath.ToSlash(rel))
				return nil
			case st.Mode()&fs.ModeSymlink != 0:
				if err := os.Remove(dst); err != nil {
					return err
				}
			}
		}
		if err := copyRegular(p, dst); err != nil {
			return err
		}
		n++
		return nil
	})
	return n, err
}

// realDirs makes the directories of rel below root, and reports whether
// each of them is a directory, not a link.
func realDirs(root, rel string) bool {
	cur := root
	for _, part := range strings.Split(filepath.ToSlash(rel), "/") {
		if part == "" || part == "." {
			continue
		}
		cur = filepath.Join(cur, part)
		st, err := os.Lstat(cur)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Mkdir(cur, 0o755); err != nil {
				return false
			}
		case err != nil || !st.IsDir():
			return false
		}
	}
	return true
}

// saveCache saves the cache's paths from the workspace at the end of the
// build. A keyed entry is never updated once saved (CodeBuild's cache
// versions); the unkeyed one is replaced. A cache beyond the bounds is not
// saved.
func (r *runner) saveCache(ctx context.Context, p *cachePlan) {
	entry := p.entryDir(p.key)
	if p.key != "" {
		if _, err := os.Stat(filepath.Join(entry, "files")); err == nil {
			r.logf("Cache key %q is already saved: not saved again (a keyed cache is not updated; change the key)", p.key)
			return
		}
	}
	ws, err := r.ws.Export(ctx)
	if err != nil {
		r.logf("Cannot save the cache: %v", err)
		return
	}
	max := r.opts.CacheMaxBytes
	if max <= 0 {
		max = DefaultCacheMaxBytes
	}
	byRel, rels, err := match(ws, buildspec.Artifact{Files: p.patterns}, func(string, ...any) {})
	switch {
	case err != nil:
		r.logf("Cannot save the cache: %v", err)
		return
	case len(rels) == 0:
		r.logf("No file matches the cache paths: nothing saved")
		return
	case len(rels) > MaxCacheFiles:
		r.logf("The cache has more than %d files: not saved; narrow its paths", MaxCacheFiles)
		return
	}
	var size int64
	for _, rel := range rels {
		if st, err := os.Stat(byRel[rel].src); err == nil {
			size += st.Size()
		}
	}
	if size > max {
		r.logf("The cache is %d MiB, more than the %d MiB a cache may be: not saved; narrow its paths", size>>20, max>>20)
		return
	}
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		r.logf("Cannot save the cache: %v", err)
		return
	}
	tmp := filepath.Join(p.dir, "tmp-"+randomHex())
	defer os.RemoveAll(tmp)
	if err := writeArtifact(filepath.Join(tmp, "files"), rels, byRel); err != nil {
		r.logf("Cannot save the cache: %v", err)
		return
	}
	if err := os.WriteFile(filepath.Join(tmp, cacheKeyFile), []byte(p.key), 0o600); err != nil {
		r.logf("Cannot save the cache: %v", err)
		return
	}
	old := entry + ".old-" + randomHex()
	if err := os.Rename(entry, old); err == nil {
		defer os.RemoveAll(old)
	}
	if err := os.Rename(tmp, entry); err != nil {
		r.logf("Cannot save the cache: %v", err)
		return
	}
	r.logf("Cache saved%s: %d files, %d KiB", keyNote(p.key), len(rels), size>>10)
	p.evict(entry)
}

// evict removes the least recently used keyed entries beyond
// MaxCacheEntries, never keep.
func (p *cachePlan) evict(keep string) {
	entries := p.entries()
	for i := MaxCacheEntries; i < len(entries); i++ {
		if entries[i].dir != keep {
			_ = os.RemoveAll(entries[i].dir)
		}
	}
}

// keyNote names a cache key in a log line; nothing for the unkeyed cache.
func keyNote(key string) string {
	if key == "" {
		return ""
	}
	return fmt.Sprintf(" (key %q)", key)
}

func randomHex() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

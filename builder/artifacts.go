package builder

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/slipwayhq/slipway/buildspec"
)

// ErrNoArtifacts is returned by Collect when an artifact's files match
// nothing, which fails UPLOAD_ARTIFACTS as in CodeBuild.
var ErrNoArtifacts = errors.New("no matching artifact paths found")

// MaxArtifactFiles bounds the files of one artifact.
const MaxArtifactFiles = 100000

// collected is one file of an artifact: where it is and where it goes.
type collected struct {
	src  string // host path
	rel  string // path in the artifact
	link string // symlink target kept as a link ("" for a file)
}

// Collect applies an artifact's rules (docs/BUILDSPEC.md, artifacts) to the
// source tree at root and, when out is not "", copies the files into out
// (which must not exist or be empty) laid out as in the artifact. It
// returns the files' paths in the artifact, sorted. Nothing outside root is
// read: files are found by walking root, and a symbolic link whose target
// leaves root is skipped. logf receives notes (links skipped, names that
// collide with discard-paths).
func Collect(root string, a buildspec.Artifact, out string, logf func(string, ...any)) ([]string, error) {
	byRel, rels, err := match(root, a, logf)
	if err != nil {
		return nil, err
	}
	if len(byRel) == 0 {
		return nil, ErrNoArtifacts
	}
	if out != "" {
		if err := writeArtifact(out, rels, byRel); err != nil {
			return nil, err
		}
	}
	return rels, nil
}

// match applies the files, base-directory, exclude-paths, discard-paths
// and enable-symlinks rules of a to the tree at root: the files by their
// path in the artifact, and those paths sorted. Reports use it too.
func match(root string, a buildspec.Artifact, logf func(string, ...any)) (map[string]collected, []string, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	rootAbs, err := filepath.Abs(root)
	if err != nil {
		return nil, nil, err
	}
	if rootAbs, err = filepath.EvalSymlinks(rootAbs); err != nil {
		return nil, nil, err
	}
	bases, err := baseDirs(rootAbs, a.BaseDirectory)
	if err != nil {
		return nil, nil, err
	}
	byRel := map[string]collected{}
	for _, base := range bases {
		if err := walkBase(rootAbs, base, a, byRel, logf); err != nil {
			return nil, nil, err
		}
	}
	rels := make([]string, 0, len(byRel))
	for rel := range byRel {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	return byRel, rels, nil
}

// baseDirs resolves base-directory: root itself, one directory, or the
// directories a glob matches, in path order.
func baseDirs(root, base string) ([]string, error) {
	base = strings.Trim(path.Clean("/"+base), "/")
	if base == "" {
		return []string{root}, nil
	}
	if !buildspec.HasMeta(base) {
		dir := filepath.Join(root, filepath.FromSlash(base))
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("base-directory %s is not a directory of the source", base)
		}
		return []string{dir}, nil
	}
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		rel := filepath.ToSlash(mustRel(root, p))
		if buildspec.Match(base, rel) {
			dirs = append(dirs, p)
			return fs.SkipDir
		}
		if !buildspec.MatchPrefix(base, rel) {
			return fs.SkipDir
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("base-directory %s matches no directory of the source", base)
	}
	return dirs, nil
}

func mustRel(base, p string) string {
	rel, err := filepath.Rel(base, p)
	if err != nil {
		return p
	}
	return rel
}

// selected reports whether rel (relative to the base) is taken by the
// files patterns: matched by one, or below a directory one names.
func selected(a buildspec.Artifact, rel string) bool {
	for _, p := range a.Files {
		p = strings.TrimPrefix(path.Clean(p), "./")
		if buildspec.Match(p, rel) {
			return true
		}
		if !buildspec.HasMeta(p) && strings.HasPrefix(rel, strings.TrimSuffix(p, "/")+"/") {
			return true
		}
	}
	return false
}

// excluded reports whether rel or one of its parent directories matches an
// exclude-paths pattern.
func excluded(a buildspec.Artifact, rel string) bool {
	for _, p := range a.ExcludePaths {
		p = strings.TrimPrefix(path.Clean(p), "./")
		for r := rel; r != "." && r != ""; r = path.Dir(r) {
			if buildspec.Match(p, r) {
				return true
			}
		}
	}
	return false
}

func walkBase(root, base string, a buildspec.Artifact, byRel map[string]collected, logf func(string, ...any)) error {
	return filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == base {
			return nil
		}
		rel := filepath.ToSlash(mustRel(base, p))
		if d.IsDir() {
			if excluded(a, rel) {
				return fs.SkipDir
			}
			return nil
		}
		if !selected(a, rel) || excluded(a, rel) {
			return nil
		}
		c := collected{src: p, rel: rel}
		if d.Type()&fs.ModeSymlink != 0 {
			var ok bool
			if c, ok = symlink(root, base, p, rel, a.EnableSymlinks, logf); !ok {
				return nil
			}
		} else if !d.Type().IsRegular() {
			return nil
		}
		if a.DiscardPaths {
			c.rel = path.Base(rel)
		}
		if prev, dup := byRel[c.rel]; dup {
			logf("%s and %s both land at %s (discard-paths); the later one, %s, is kept", prev.src, c.src, c.rel, c.src)
		}
		byRel[c.rel] = c
		if len(byRel) > MaxArtifactFiles {
			return fmt.Errorf("the artifact has more than %d files; narrow its files patterns", MaxArtifactFiles)
		}
		return nil
	})
}

// symlink decides what a link becomes: a link (enable-symlinks, target
// inside the base), the file it points to (target inside root), or nothing.
func symlink(root, base, p, rel string, keep bool, logf func(string, ...any)) (collected, bool) {
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		logf("Skipping %s: the link points nowhere", rel)
		return collected{}, false
	}
	if !within(root, target) {
		logf("Skipping %s: the link points outside the source", rel)
		return collected{}, false
	}
	if keep && within(base, target) {
		if t, err := os.Readlink(p); err == nil && !filepath.IsAbs(t) {
			return collected{src: p, rel: rel, link: t}, true
		}
		if r, err := filepath.Rel(filepath.Dir(p), target); err == nil {
			return collected{src: p, rel: rel, link: r}, true
		}
	}
	st, err := os.Stat(target)
	if err != nil || !st.Mode().IsRegular() {
		logf("Skipping %s: the link does not point to a file", rel)
		return collected{}, false
	}
	return collected{src: target, rel: rel}, true
}

func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../") && !filepath.IsAbs(rel)
}

// writeArtifact copies the files into out.
func writeArtifact(out string, rels []string, byRel map[string]collected) error {
	if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty; give a new or empty directory for the artifacts", out)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, rel := range rels {
		c := byRel[rel]
		dst := filepath.Join(out, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if c.link != "" {
			if err := os.Symlink(c.link, dst); err != nil {
				return err
			}
			continue
		}
		if err := copyRegular(c.src, dst); err != nil {
			return fmt.Errorf("copy %s: %w", rel, err)
		}
	}
	return nil
}

func copyRegular(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	outF, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, st.Mode().Perm()|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(outF, in); err != nil {
		_ = outF.Close()
		return err
	}
	return outF.Close()
}

package doccheck

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// cited finds a file path a document names, in backquotes or as a link: it has a folder and
// ends in a source or document extension.
var cited = regexp.MustCompile("(?:`|\\]\\()([A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+\\.(?:go|md|sh|yml|yaml|json))[`)#]")

// TestDocumentsCiteRealFiles reads README.md, CHANGELOG.md aside (it records history), every
// docs/*.md and every DESIGN.md, and fails on a cited file that is in neither the repository
// root, the document's folder nor a parent of it, and on any path out of the repository.
func TestDocumentsCiteRealFiles(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var docs []string
	docs = append(docs, filepath.Join(root, "README.md"))
	more, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	docs = append(docs, more...)
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || strings.HasPrefix(d.Name(), ".slipway")) {
			return filepath.SkipDir
		}
		if d.Name() == "DESIGN.md" {
			docs = append(docs, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) < 10 {
		t.Fatalf("found only %d documents under %s", len(docs), root)
	}
	for _, doc := range docs {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, doc)
		for _, m := range cited.FindAllStringSubmatch(string(b), -1) {
			path := m[1]
			if placeholder.MatchString(path) {
				continue // a folder on a server or host (DATA/node.json), not a repository file
			}
			if strings.HasPrefix(path, "../") && !strings.HasPrefix(path, "../docs/") {
				t.Errorf("%s cites %s, outside the repository", rel, path)
				continue
			}
			if !exists(root, filepath.Dir(doc), path) {
				t.Errorf("%s cites %s, which is not in the repository", rel, path)
			}
		}
	}
}

// placeholder is a path that starts with a capitalised stand-in for a folder chosen at run time.
var placeholder = regexp.MustCompile(`^[A-Z]+/`)

// exists looks for path from dir and each of its parents up to the repository root, and from
// server/core (the core's packages are named without it, as "blob/crypt.go").
func exists(root, dir, path string) bool {
	if strings.Contains(path, "shared/") {
		return false
	}
	if _, err := os.Stat(filepath.Join(root, "server", "core", filepath.FromSlash(path))); err == nil {
		return true
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, filepath.FromSlash(path))); err == nil {
			return true
		}
		if d == root || len(d) < len(root) {
			return false
		}
	}
}

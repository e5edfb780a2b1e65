package simagent

import (
	"io"
	"os"
	"path/filepath"

	"github.com/slipwayhq/slipway/pkg/bundle"
)

// AppSpec is the appspec.yml of the bundle WriteBundle makes: one file, no hooks.
const AppSpec = `version: 0.0
os: linux
files:
  - source: index.html
    destination: /var/www/slipway-bench
`

// WriteBundle writes a small valid revision bundle (tar.gz made by bundle.Create from a temporary
// folder holding AppSpec and one file) to w.
func WriteBundle(w io.Writer) (bundle.Info, error) {
	dir, err := os.MkdirTemp("", "slipway-simagent-bundle-")
	if err != nil {
		return bundle.Info{}, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	if err := os.WriteFile(filepath.Join(dir, "appspec.yml"), []byte(AppSpec), 0o644); err != nil {
		return bundle.Info{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("<h1>slipway bench</h1>\n"), 0o644); err != nil {
		return bundle.Info{}, err
	}
	return bundle.Create(w, dir)
}

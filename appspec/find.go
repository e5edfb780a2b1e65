package appspec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/slipwayhq/slipway/internal/yamlwalk"
)

// SpecNames are the file names looked up at a bundle root, in order.
var SpecNames = []string{"appspec.yaml", "appspec.yml"}

// ErrSpecNotFound is wrapped by FindSpec when a bundle holds no AppSpec file.
var ErrSpecNotFound = errors.New("no appspec found")

// FindSpec finds the AppSpec file of the bundle unpacked in dir, the way the
// agent does: dir/appspec.yaml, then dir/appspec.yml; if neither exists and
// the only entry of dir is a folder, the same two names inside that folder.
// The bundle root is filepath.Dir of the returned path. Only regular files
// count. When nothing is found the error wraps ErrSpecNotFound and names
// every place it looked; other errors are I/O errors reading dir.
func FindSpec(dir string) (string, error) {
	var looked []string
	try := func(d string) (string, bool) {
		for _, name := range SpecNames {
			p := filepath.Join(d, name)
			looked = append(looked, p)
			if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() {
				return p, true
			}
		}
		return "", false
	}
	if p, ok := try(dir); ok {
		return p, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("find appspec: %w", err)
	}
	if len(entries) == 1 && entries[0].IsDir() {
		if p, ok := try(filepath.Join(dir, entries[0].Name())); ok {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: looked for %s", ErrSpecNotFound, strings.Join(looked, ", "))
}

// ValidateFile reads, parses and validates the AppSpec file at path alone
// (no bundle checks). Diagnostics name the file as path. The error is
// non-nil only when the file cannot be read; an invalid spec is reported
// through diagnostics with errors (Diagnostics.HasErrors).
func ValidateFile(path string) (*Spec, Diagnostics, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read appspec: %w", err)
	}
	s, diags := Load(path, data)
	return s, diags, nil
}

// ValidateBundle validates the bundle folder dir: it finds the spec with
// FindSpec, validates it like ValidateFile, then checks against the bundle
// contents that every files source and every hook script exists (a script
// must be a file), and, when the spec has no errors so far, plans an install
// onto an empty destination to catch sources that write the same path and
// permission entries that cannot apply. Problems are diagnostics; the error
// is non-nil only when no spec was found (wrapping ErrSpecNotFound) or
// reading failed.
func ValidateBundle(dir string) (*Spec, Diagnostics, error) {
	path, err := FindSpec(dir)
	if err != nil {
		return nil, nil, err
	}
	s, diags, err := ValidateFile(path)
	if err != nil {
		return nil, nil, err
	}
	bundle := os.DirFS(filepath.Dir(path))
	more := checkContents(s, bundle)
	if !diags.HasErrors() && !more.HasErrors() {
		_, perr := Plan(PlanInput{Spec: s, Bundle: bundle, Destination: EmptyDestination{}})
		more = append(more, planDiagnostics(s, perr)...)
	}
	diags = append(diags, more...)
	diags.Sort()
	return s, diags, nil
}

// checkContents reports files sources and hook scripts missing from bundle.
func checkContents(s *Spec, bundle fs.FS) Diagnostics {
	v := &validator{s: s}
	for i, f := range s.Files {
		field := yamlwalk.IndexField("files", i) + ".source"
		src, ok := BundlePath(s.OS, f.Source)
		if !ok || !s.has(field) {
			continue
		}
		if _, err := fs.Lstat(bundle, fsName(src)); err != nil {
			v.errorf(field, "source %s is not in the bundle; write a path that exists relative to the bundle root", quote(f.Source))
		}
	}
	for _, name := range s.hookOrder {
		for i, sc := range s.Hooks[name] {
			field := yamlwalk.IndexField("hooks."+name, i) + ".location"
			loc, ok := BundlePath(s.OS, sc.Location)
			if !ok || loc == "" {
				continue
			}
			fi, err := fs.Stat(bundle, loc)
			switch {
			case err != nil:
				v.errorf(field, "script %s is not in the bundle; write its path relative to the bundle root", quote(sc.Location))
			case !fi.Mode().IsRegular():
				v.errorf(field, "script %s is a folder, not a file; write the path of the script itself", quote(sc.Location))
			}
		}
	}
	return v.diags
}

// planDiagnostics turns Plan's errors into diagnostics at their fields.
func planDiagnostics(s *Spec, err error) Diagnostics {
	if err == nil {
		return nil
	}
	v := &validator{s: s}
	var pe PlanErrors
	if !errors.As(err, &pe) {
		v.errorf("", "%v", err)
		return v.diags
	}
	for _, e := range pe {
		v.errorf(e.Field, "%s", e.Message)
	}
	return v.diags
}

// fsName maps a cleaned bundle path ("" for the root) to an fs.FS name.
func fsName(p string) string {
	if p == "" {
		return "."
	}
	return p
}

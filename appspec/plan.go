package appspec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/slipwayhq/slipway/internal/yamlwalk"
)

// Destination is the host file system as Plan sees it: read-only lookups of
// host paths in the spec's notation. Errors that satisfy
// errors.Is(err, fs.ErrNotExist) mean the path is absent; any other error
// stops the plan.
type Destination interface {
	// Lstat describes path without following a final symlink.
	Lstat(path string) (fs.FileInfo, error)
	// Stat describes path, following symlinks.
	Stat(path string) (fs.FileInfo, error)
}

// OSDestination is the real host file system.
type OSDestination struct{}

// Lstat calls os.Lstat.
func (OSDestination) Lstat(p string) (fs.FileInfo, error) { return os.Lstat(p) }

// Stat calls os.Stat.
func (OSDestination) Stat(p string) (fs.FileInfo, error) { return os.Stat(p) }

// EmptyDestination is a host with nothing on it, for dry runs.
type EmptyDestination struct{}

// Lstat always reports fs.ErrNotExist.
func (EmptyDestination) Lstat(p string) (fs.FileInfo, error) {
	return nil, &fs.PathError{Op: "lstat", Path: p, Err: fs.ErrNotExist}
}

// Stat always reports fs.ErrNotExist.
func (EmptyDestination) Stat(p string) (fs.FileInfo, error) {
	return nil, &fs.PathError{Op: "stat", Path: p, Err: fs.ErrNotExist}
}

// PlanInput is what an install is planned from.
type PlanInput struct {
	// Spec must have validated without errors.
	Spec *Spec
	// Bundle is the bundle root (the folder holding the spec). It should
	// implement fs.ReadLinkFS (os.DirFS does) so symlinks are kept as links.
	Bundle fs.FS
	// Previous is the cleanup record of the previous install of the same
	// deployment group on this host (paths it created, in creation order);
	// nil on the first install.
	Previous []string
	// Destination is the host as it is before the install.
	Destination Destination
}

// Action is what Install does at one destination path.
type Action string

// Actions recorded in Decisions.
const (
	ActionCreate    Action = "create"    // the path was absent (or created by the previous install)
	ActionOverwrite Action = "overwrite" // OVERWRITE replaced a file that was there
	ActionRetain    Action = "retain"    // RETAIN kept the file that was there
)

// Decision records what file_exists_behavior decided for a path that
// existed before the install and was not created by the previous one.
type Decision struct {
	Path     string             `json:"path"`
	Behavior FileExistsBehavior `json:"behavior"`
	Action   Action             `json:"action"`
}

// Mkdir is a folder to create. An already existing folder is not an error.
type Mkdir struct {
	Path string      `json:"path"`
	Mode fs.FileMode `json:"mode"`
}

// CopyKind tells a regular file from a symlink in a Copy.
type CopyKind string

// Copy kinds.
const (
	CopyFile    CopyKind = "file"
	CopySymlink CopyKind = "symlink"
)

// Copy installs one bundle entry. Source is slash-separated and relative to
// the bundle root; Destination is a host path. A file keeps Mode and the
// source's modification time; a symlink is recreated pointing at
// LinkTarget. Overwrite means a file is already there and is replaced.
type Copy struct {
	Kind        CopyKind    `json:"kind"`
	Source      string      `json:"source"`
	Destination string      `json:"destination"`
	Mode        fs.FileMode `json:"mode"`
	LinkTarget  string      `json:"link_target,omitempty"`
	Overwrite   bool        `json:"overwrite,omitempty"`
	Field       string      `json:"field"` // the files entry, e.g. "files[0]"
}

// InstallPlan is the data the agent's Install event executes, in this
// order: Remove every path of Remove (files and symlinks are deleted, a
// folder only when empty, missing paths ignored); create every Mkdir in
// order (parents come first); perform every Copy in order; apply every
// Permissions step in order; then write the plan as the group's install
// record and Cleanup as its cleanup record.
type InstallPlan struct {
	OS          string           `json:"os"`
	Remove      []string         `json:"remove"`
	Mkdirs      []Mkdir          `json:"mkdirs"`
	Copies      []Copy           `json:"copies"`
	Decisions   []Decision       `json:"decisions"`
	Permissions []PermissionStep `json:"permissions"`
	// Cleanup lists every path this install creates, in creation order;
	// the next install of the group removes them in reverse. Retained
	// files are not in it.
	Cleanup []string `json:"cleanup"`
	// Warnings are non-fatal findings, such as a permissions object that
	// matches nothing.
	Warnings []string `json:"warnings,omitempty"`
}

// PlanError is one reason an install cannot be planned. Field is the spec
// field at fault (for diagnostics), Path the destination path if any.
type PlanError struct {
	Field   string
	Path    string
	Message string
	Err     error // a sentinel such as ErrFileExists, or nil
}

func (e *PlanError) Error() string { return e.Field + ": " + e.Message }

// Unwrap returns the sentinel, if any.
func (e *PlanError) Unwrap() error { return e.Err }

// PlanErrors is every PlanError of one Plan call.
type PlanErrors []*PlanError

func (es PlanErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return "plan install: " + strings.Join(msgs, "; ")
}

// Unwrap lets errors.Is and errors.As see each PlanError.
func (es PlanErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Sentinels wrapped by PlanError.
var (
	// ErrFileExists: DISALLOW found a file the previous install did not create.
	ErrFileExists = errors.New("file already exists")
	// ErrConflict: two files entries write the same path, or a file and a
	// folder meet at one path.
	ErrConflict = errors.New("conflicting destination")
	// ErrSourceMissing: a files source is not in the bundle.
	ErrSourceMissing = errors.New("source not in bundle")
	// ErrPermission: a permissions entry cannot be applied as written.
	ErrPermission = errors.New("invalid permission")
)

// entryKind is what a planned path is.
type entryKind int

const (
	kindDir entryKind = iota + 1
	kindFile
	kindLink
)

// planned is one destination path claimed by the plan.
type planned struct {
	kind    entryKind
	field   string
	created bool // created (and recorded) by this install
}

// planner holds the state of one Plan call. Paths are canonical
// (slash-separated, volume included on windows) until rendered.
type planner struct {
	in       PlanInput
	os       string
	prev     map[string]bool
	paths    map[string]*planned
	order    []string // created paths in creation order (canonical)
	plan     *InstallPlan
	errs     PlanErrors
	fatalErr error
}

// Plan computes the install plan of in.Spec from in.Bundle onto
// in.Destination, after the previous install (in.Previous) is removed.
// Plan reads the bundle and stats destination paths; it writes nothing. It
// follows CodeDeploy: a folder source is copied recursively into its
// destination, a file source lands at destination/<basename>, missing
// ancestors are created and recorded, and file_exists_behavior applies only
// to paths the previous install did not create. On failure the error is
// PlanErrors (every problem found) or an I/O error from the bundle or
// destination; the returned plan is nil then.
func Plan(in PlanInput) (*InstallPlan, error) {
	if in.Spec == nil || in.Bundle == nil || in.Destination == nil {
		return nil, errors.New("plan install: spec, bundle and destination are required")
	}
	p := &planner{
		in:    in,
		os:    in.Spec.OS,
		prev:  map[string]bool{},
		paths: map[string]*planned{},
		plan:  &InstallPlan{OS: in.Spec.OS, Remove: []string{}, Mkdirs: []Mkdir{}, Copies: []Copy{}, Decisions: []Decision{}, Permissions: []PermissionStep{}, Cleanup: []string{}},
	}
	for i := len(in.Previous) - 1; i >= 0; i-- {
		c := canonHost(p.os, in.Previous[i])
		p.prev[c] = true
		p.plan.Remove = append(p.plan.Remove, in.Previous[i])
	}
	for i, f := range in.Spec.Files {
		p.files(yamlwalk.IndexField("files", i), f)
		if p.fatalErr != nil {
			return nil, p.fatalErr
		}
	}
	p.permissions()
	if p.fatalErr != nil {
		return nil, p.fatalErr
	}
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	for _, c := range p.order {
		p.plan.Cleanup = append(p.plan.Cleanup, renderHost(p.os, c))
	}
	return p.plan, nil
}

func (p *planner) fail(field, hostPath string, sentinel error, format string, args ...any) {
	p.errs = append(p.errs, &PlanError{Field: field, Path: hostPath, Message: fmt.Sprintf(format, args...), Err: sentinel})
}

// stat looks a canonical path up on the destination as it will be after the
// previous install is removed: paths the previous install created count as
// absent. follow selects Stat over Lstat.
func (p *planner) stat(c string, follow bool) (fs.FileInfo, bool) {
	if p.prev[c] {
		return nil, false
	}
	host := renderHost(p.os, c)
	var fi fs.FileInfo
	var err error
	if follow {
		fi, err = p.in.Destination.Stat(host)
	} else {
		fi, err = p.in.Destination.Lstat(host)
	}
	if err == nil {
		return fi, true
	}
	if !errors.Is(err, fs.ErrNotExist) && p.fatalErr == nil {
		p.fatalErr = fmt.Errorf("plan install: inspect %s: %w", host, err)
	}
	return nil, false
}

// splitCanon splits a canonical host path into volume and rooted rest.
func (p *planner) splitCanon(c string) (vol, rest string) {
	if p.os != OSWindows {
		return "", c
	}
	if hasDrive(c) {
		return c[:2], c[2:]
	}
	// UNC: //server/share/rest
	parts := strings.SplitN(strings.TrimPrefix(c, "//"), "/", 3)
	vol = "//" + parts[0] + "/" + parts[1]
	if len(parts) == 3 {
		return vol, "/" + parts[2]
	}
	return vol, "/"
}

func (p *planner) parent(c string) (string, bool) {
	vol, rest := p.splitCanon(c)
	if rest == "/" {
		return "", false
	}
	return vol + path.Dir(rest), true
}

func (p *planner) join(c, name string) string {
	vol, rest := p.splitCanon(c)
	return vol + path.Join(rest, name)
}

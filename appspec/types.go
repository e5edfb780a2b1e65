package appspec

// The types below mirror the AppSpec file. Their yaml tags are the keys a
// user writes and are kept in step with docs/appspec.schema.json by
// TestSchemaMatchesTypes. Values are as CodeDeploy reads them; fields tagged
// yaml:"-" are filled by Parse and are not keys.

// OS values accepted by the os key.
const (
	OSLinux   = "linux"
	OSWindows = "windows"
)

// FileExistsBehavior decides what Install does with a destination path that
// already exists and that the previous install of the group did not create.
type FileExistsBehavior string

// File exists behaviors. DISALLOW is the default.
const (
	Disallow  FileExistsBehavior = "DISALLOW"
	Overwrite FileExistsBehavior = "OVERWRITE"
	Retain    FileExistsBehavior = "RETAIN"
)

// DefaultTimeout is the timeout of a hook script without a timeout key, in
// seconds.
const DefaultTimeout = 3600

// MaxTimeout is the longest timeout a hook script may have, in seconds: the
// limit CodeDeploy puts on a script. Validate refuses a longer one.
const MaxTimeout = 3600

// Spec is a parsed AppSpec file.
type Spec struct {
	// Version is the version as written ("0.0"); Validate accepts only a YAML
	// number equal to zero, as CodeDeploy does.
	Version string `yaml:"version"`
	// OS is "linux" or "windows".
	OS string `yaml:"os"`
	// Files lists what Install copies, in order.
	Files []FileMapping `yaml:"files"`
	// FileExistsBehavior is DISALLOW when the key is absent.
	FileExistsBehavior FileExistsBehavior `yaml:"file_exists_behavior"`
	// Permissions are applied after copying, in order (Linux only).
	Permissions []Permission `yaml:"permissions"`
	// Hooks maps an event name to its scripts. Names not in Events are kept so
	// that Validate can report them.
	Hooks map[string][]Script `yaml:"hooks"`

	// Path is the file name given to Parse, used in diagnostics.
	Path string `yaml:"-"`
	// Positions maps a field path (as in Diagnostic.Field) to the position
	// of its value in the file; "" is the document itself.
	Positions map[string]Pos `yaml:"-"`

	// versionTag is the YAML tag of version (e.g. "!!float") for Validate.
	versionTag string
	// hookOrder keeps the hook names in file order.
	hookOrder []string
	// nulls holds the fields written with a null value.
	nulls map[string]bool
	// reported holds the fields Parse already reported, which Validate skips.
	reported map[string]bool
	// broken is set when the document could not be read at all (syntax
	// error, empty, not a mapping); Validate then adds nothing.
	broken bool
}

// Pos is a 1-based line and column in the spec file.
type Pos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// FileMapping is one entry of files.
type FileMapping struct {
	// Source is relative to the bundle root; "/", "." and "" mean the root.
	Source string `yaml:"source"`
	// Destination is an absolute path on the host.
	Destination string `yaml:"destination"`
}

// Permission is one entry of permissions.
type Permission struct {
	Object  string   `yaml:"object"`
	Pattern string   `yaml:"pattern"` // "**" when absent
	Except  []string `yaml:"except"`
	Owner   string   `yaml:"owner"`
	Group   string   `yaml:"group"`
	// Mode holds the octal digits CodeDeploy would apply (see ParseMode).
	Mode    string   `yaml:"mode"`
	ACLs    []string `yaml:"acls"`
	Context *Context `yaml:"context"`
	// Type is a subset of {"file", "directory"}; both when absent.
	Type []string `yaml:"type"`
}

// Context is an SELinux context applied by a permission.
type Context struct {
	Name  string `yaml:"name"` // SELinux user
	Type  string `yaml:"type"` // required
	Range string `yaml:"range"`
}

// Script is one hook script.
type Script struct {
	// Location is relative to the bundle root (a leading "/" is allowed).
	Location string `yaml:"location"`
	// Timeout in seconds, DefaultTimeout when absent.
	Timeout int `yaml:"timeout"`
	// RunAs is the user the script runs as ("" means the agent's user).
	RunAs string `yaml:"runas"`
	// Sudo runs the script through sudo (accepted by the AWS agent).
	Sudo bool `yaml:"sudo"`
}

// has reports whether field was written with a non-null value.
func (s *Spec) has(field string) bool {
	_, ok := s.Positions[field]
	return ok && !s.nulls[field]
}

// Scripts returns the scripts of event in file order, nil when none.
func (s *Spec) Scripts(event string) []Script { return s.Hooks[event] }

// HookNames returns the hook names in the order they appear in the file.
func (s *Spec) HookNames() []string { return append([]string(nil), s.hookOrder...) }

// pos returns the position recorded for field, falling back to its closest
// recorded parent, then to line 1 column 1.
func (s *Spec) pos(field string) Pos {
	for f := field; ; {
		if p, ok := s.Positions[f]; ok {
			return p
		}
		if f == "" {
			return Pos{Line: 1, Column: 1}
		}
		f = parentField(f)
	}
}

// parentField strips the last ".key" or "[i]" of a field path.
func parentField(f string) string {
	for i := len(f) - 1; i >= 0; i-- {
		switch f[i] {
		case '.':
			return f[:i]
		case '[':
			return f[:i]
		}
	}
	return ""
}

package buildspec

// The types below mirror the buildspec file (docs/BUILDSPEC.md). Values are
// as written in the file, as strings, except the booleans, which are read
// the way CodeBuild reads them (yes/no, true/false). Fields that are not keys
// are filled by Parse.

// Versions accepted by the version key.
const (
	Version01 = "0.1"
	Version02 = "0.2"
)

// Phase names, in the order they run.
const (
	PhaseInstall   = "install"
	PhasePreBuild  = "pre_build"
	PhaseBuild     = "build"
	PhasePostBuild = "post_build"
)

// PhaseNames lists the phases a buildspec may have, in the order they run.
var PhaseNames = []string{PhaseInstall, PhasePreBuild, PhaseBuild, PhasePostBuild}

// On-failure actions (OnFailure.Action). The empty action is the default:
// CodeBuild's phase transition rules.
const (
	Abort    = "ABORT"
	Continue = "CONTINUE"
	Retry    = "RETRY"
)

// Retry defaults and bound, from CodeBuild's reference: RETRY alone retries
// up to 3 times whatever the output; a count is 0 to 100.
const (
	DefaultRetries = 3
	MaxRetries     = 100
	DefaultRetryRe = ".*"
)

// Shells accepted by env.shell.
const (
	ShellBash = "bash"
	ShellSh   = "/bin/sh"
)

// Bounds on what a caller can make Parse and a build hold. A buildspec
// beyond any of them is an error.
const (
	// MaxFileSize is the largest buildspec Parse reads, in bytes.
	MaxFileSize = 1 << 20
	// MaxCommands is the most commands (commands and finally of all
	// phases, aliases expanded) a buildspec may have.
	MaxCommands = 10000
	// MaxCommandBytes bounds the total length of those commands.
	MaxCommandBytes = 1 << 20
	// MaxBatchBuilds is the most builds a batch may make (CodeBuild's
	// largest batch).
	MaxBatchBuilds = 100
	// MaxFallbackKeys is the most cache fallback keys CodeBuild takes.
	MaxFallbackKeys = 5
	// MaxReportGroups is CodeBuild's limit of report groups per project;
	// more is a warning.
	MaxReportGroups = 5
)

// ReportFormats lists the report file formats; the first is the default.
var ReportFormats = []string{"JUNITXML", "CUCUMBERJSON", "NUNITXML", "NUNIT3XML", "TESTNGXML",
	"VISUALSTUDIOTRX", "CLOVERXML", "COBERTURAXML", "JACOCOXML", "SIMPLECOV"}

// Spec is a parsed buildspec.
type Spec struct {
	// Version is "0.1" or "0.2" once valid.
	Version string
	// RunAs is the top-level run-as user, "" for the executor's user.
	RunAs string
	Env   Env
	Proxy Proxy
	// Phases maps a phase name to its phase; names that are not phases are
	// kept so that Validate reports them. Use Phase to read one.
	Phases    map[string]*Phase
	Reports   []Report
	Artifacts *Artifacts
	Cache     *Cache
	Batch     *Batch

	// Path is the file name given to Parse, used in diagnostics.
	Path string
	// Positions maps a field path (as in Diagnostic.Field) to the position
	// of its value in the file; "" is the document itself.
	Positions map[string]Pos

	versionTag string
	versionRaw string
	phaseOrder []string
	nulls      map[string]bool
	reported   map[string]bool
	broken     bool
}

// Pos is a 1-based line and column in the buildspec.
type Pos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// Var is one name and value, in file order.
type Var struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Env is the env key.
type Env struct {
	// Shell is "", "bash" or "/bin/sh".
	Shell     string
	Variables []Var
	// ParameterStore maps a variable to the name of a stored value (a
	// Slipway secret).
	ParameterStore []Var
	SecretsManager []SecretRef
	// ExportedVariables are recorded on the build with their values at its
	// end.
	ExportedVariables   []string
	GitCredentialHelper bool
}

// SecretRef is one secrets-manager entry:
// NAME: secret-id:json-key:version-stage:version-id.
type SecretRef struct {
	Name         string
	Reference    string // as written
	SecretID     string
	JSONKey      string
	VersionStage string
	VersionID    string
}

// Proxy is the proxy key; Slipway accepts and ignores it.
type Proxy struct {
	UploadArtifacts bool
	Logs            bool
}

// Phase is one phase of phases.
type Phase struct {
	Name            string
	RunAs           string
	OnFailure       OnFailure
	RuntimeVersions []Var
	Commands        []string
	Finally         []string
}

// OnFailure is a phase's on-failure value, decoded.
type OnFailure struct {
	// Action is "", ABORT, CONTINUE or RETRY.
	Action string
	// Retries and Pattern are set for RETRY: how many more times the phase
	// runs, and the regular expression its failed output must match.
	Retries int
	Pattern string
	// Text is the value as written.
	Text string
}

// Report is one report group of reports.
type Report struct {
	Group         string
	Files         []string
	BaseDirectory string
	DiscardPaths  bool
	// FileFormat is upper case; JUNITXML when absent.
	FileFormat string
}

// Artifact is one artifact definition: the primary one or a secondary one.
type Artifact struct {
	// Identifier names a secondary artifact; "" for the primary one.
	Identifier     string
	Files          []string
	Name           string
	DiscardPaths   bool
	BaseDirectory  string
	ExcludePaths   []string
	EnableSymlinks bool
	S3Prefix       string
}

// Artifacts is the artifacts key: the primary artifact and the secondary
// ones in file order.
type Artifacts struct {
	Artifact
	Secondary []Artifact
}

// Cache is the cache key.
type Cache struct {
	Key          string
	FallbackKeys []string
	// Action is "", "restore" or "save".
	Action string
	Paths  []string
}

// Batch kinds: the key under batch that defines the builds.
const (
	BuildList   = "build-list"
	BuildGraph  = "build-graph"
	BuildMatrix = "build-matrix"
	BuildFanout = "build-fanout"
)

// Batch is the batch key.
type Batch struct {
	FastFail bool
	// Kind is the batch kind written (BuildList, BuildGraph, BuildMatrix or
	// BuildFanout); "" when none is.
	Kind   string
	Tasks  []Task  // build-list and build-graph
	Matrix *Matrix // build-matrix
}

// Task is one build of a build list or graph.
type Task struct {
	Identifier    string
	Buildspec     string
	Env           TaskEnv
	IgnoreFailure bool
	DependOn      []string
	DebugSession  bool
}

// TaskEnv overrides the environment of one batch build.
type TaskEnv struct {
	ComputeType    string
	Fleet          string
	Image          string
	Type           string
	PrivilegedMode bool
	Variables      []Var
}

// Matrix is a build matrix: one build per combination of the dynamic
// values, each with the static settings.
type Matrix struct {
	IgnoreFailure bool
	Static        TaskEnv
	Buildspecs    []string
	ComputeTypes  []string
	Fleets        []string
	Images        []string
	Variables     []MatrixVar
}

// MatrixVar is one variable of a matrix with its values.
type MatrixVar struct {
	Name   string
	Values []string
}

// Size is the number of builds the matrix makes.
func (m *Matrix) Size() int {
	n := 1
	mul := func(k int) {
		if k > 0 && n <= MaxBatchBuilds {
			n *= k
		}
	}
	mul(len(m.Buildspecs))
	mul(len(m.ComputeTypes))
	mul(len(m.Fleets))
	mul(len(m.Images))
	for _, v := range m.Variables {
		mul(len(v.Values))
	}
	return n
}

// Phase returns the named phase, nil when the buildspec does not have it.
func (s *Spec) Phase(name string) *Phase { return s.Phases[name] }

// has reports whether field was written with a non-null value.
func (s *Spec) has(field string) bool {
	_, ok := s.Positions[field]
	return ok && !s.nulls[field]
}

// written reports whether field was written at all, null or not.
func (s *Spec) written(field string) bool {
	_, ok := s.Positions[field]
	return ok
}

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
		case '.', '[':
			return f[:i]
		}
	}
	return ""
}

package build

import (
	"encoding/binary"
	"encoding/json"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// The service's buckets. Their names and the JSON of their records are in snapshots: never
// change them.
var (
	bucketProjects  = []byte("build/projects")   // name → Project
	bucketCounters  = []byte("build/counters")   // project name → Counters
	bucketBuilds    = []byte("build/builds")     // build ID → Build
	bucketByProject = []byte("build/by-project") // project name, 0, build number (8 bytes BE) → build ID
	bucketHistory   = []byte("build/history")    // start index (8 bytes BE) → build ID, every build
	bucketQueue     = []byte("build/queue")      // start index (8 bytes BE) → build ID, queued builds
	bucketMeta      = []byte("build/meta")       // "projects", "builds", "queued" → count, 8 bytes BE
	// The running of builds (see DESIGN.md, "Running builds").
	bucketByHost  = []byte("build/by-host") // host ID, 0, build ID → "": builds IN_PROGRESS on a host
	bucketLogs    = []byte("build/logs")    // build ID, 0, first line number (8 bytes BE) → logBatch
	bucketReports = []byte("build/reports") // build ID, 0, report name → agentproto.BuildReport
	bucketFinish  = []byte("build/finish")  // build ID → "": ended builds whose log and status are still to settle
)

var (
	metaProjects = []byte("projects")
	metaBuilds   = []byte("builds")
	metaQueued   = []byte("queued")
)

// Bounds on what callers can grow.
const (
	MaxProjects            = 5000
	MaxDescription         = 255
	MaxVariables           = 200
	MaxVariableName        = 255
	MaxVariableValue       = 32 << 10
	MaxVariablesBytes      = 64 << 10 // the names and values of a project's (or a build's) variables together
	MaxLabels              = 20
	MaxInlineBuildspec     = 64 << 10
	MaxPath                = 1024
	MaxSourceVersion       = 255
	MaxImage               = 255
	MaxConcurrentBuilds    = 1000
	DefaultTimeout         = 60
	DefaultQueuedTimeout   = 480
	DefaultBuildspecPath   = "buildspec.yml"
	minTimeout, maxTimeout = 5, 2160
	maxQueuedTimeout       = 480
)

// Settings is what a project is made of, as its commands carry it and its record keeps it.
type Settings struct {
	Name                 string      `json:"name"`
	Description          string      `json:"description,omitempty"`
	Source               Source      `json:"source"`
	SourceVersion        string      `json:"source_version,omitempty"`
	Environment          Environment `json:"environment"`
	TimeoutMinutes       int         `json:"timeout_minutes"`
	QueuedTimeoutMinutes int         `json:"queued_timeout_minutes"`
	ConcurrentBuildLimit int         `json:"concurrent_build_limit,omitempty"`
	Artifacts            Artifacts   `json:"artifacts"`
	Cache                Cache       `json:"cache"`
	ServiceRole          string      `json:"service_role,omitempty"`
}

// Source is where builds get their files and buildspec (see pub.ProjectSource).
type Source struct {
	Type            string `json:"type"`
	Repository      string `json:"repository,omitempty"`
	Buildspec       string `json:"buildspec,omitempty"`
	BuildspecInline string `json:"buildspec_inline,omitempty"`
}

// Environment is what builds run in (see pub.BuildEnvironment).
type Environment struct {
	Image      string            `json:"image,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	Privileged bool              `json:"privileged,omitempty"`
	Variables  []Variable        `json:"variables,omitempty"`
}

// Variable is one environment variable; a SECRETS_MANAGER one holds a secret's name.
type Variable struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Type  string `json:"type"`
}

// Artifacts is the primary artifact's kind and name.
type Artifacts struct {
	Type string `json:"type"`
	Name string `json:"name,omitempty"`
}

// Cache is the build cache's kind.
type Cache struct {
	Type string `json:"type"`
}

// Project is a project's record.
type Project struct {
	Settings
	CreatedBy   string    `json:"created_by,omitempty"`
	CreateIndex uint64    `json:"create_index"`
	ModifyIndex uint64    `json:"modify_index"`
	CreateTime  time.Time `json:"create_time"`
	ModifyTime  time.Time `json:"modify_time"`
}

// Counters are a project's build counts, kept apart from its record so that builds do not
// change the project's modify index.
type Counters struct {
	LastNumber uint64 `json:"last_number"` // the number of the project's latest build
	Builds     int    `json:"builds"`      // records kept
	Queued     int    `json:"queued"`
	Running    int    `json:"running"` // IN_PROGRESS (the workers' step moves builds there)
}

var (
	projectNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$`)
	repoNameRe    = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
	varNameRe     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	labelKeyRe    = regexp.MustCompile(`^[a-z0-9][a-z0-9._/-]{0,62}$`)
)

// ValidateProjectName checks a project name as CodeBuild does: 2-255 letters, digits, '_' and
// '-', starting with a letter or digit.
func ValidateProjectName(name string) error {
	if !projectNameRe.MatchString(name) {
		return fault.New(fault.Invalid, "project name %q is not 2-255 letters, digits, '_' or '-' starting with a letter or digit: use one such as web-app", state.Shorten(name))
	}
	return nil
}

// withDefaults fills what a create leaves unset with CodeBuild's defaults.
func (s Settings) withDefaults() Settings {
	if s.Source.Type == "" {
		s.Source.Type = pub.SourceSlipwayRepo
	}
	if s.TimeoutMinutes == 0 {
		s.TimeoutMinutes = DefaultTimeout
	}
	if s.QueuedTimeoutMinutes == 0 {
		s.QueuedTimeoutMinutes = DefaultQueuedTimeout
	}
	if s.Artifacts.Type == "" {
		s.Artifacts.Type = pub.ArtifactsNone
	}
	if s.Cache.Type == "" {
		s.Cache.Type = pub.CacheNone
	}
	s.Environment = s.Environment.normal()
	return s
}

// normal gives variables without a type their default, PLAINTEXT.
func (e Environment) normal() Environment {
	if len(e.Variables) > 0 {
		vs := make([]Variable, len(e.Variables))
		for i, v := range e.Variables {
			if v.Type == "" {
				v.Type = pub.VariablePlaintext
			}
			vs[i] = v
		}
		e.Variables = vs
	}
	return e
}

// validate checks a project's settings against the bounds (not an inline buildspec's content,
// which the proposer checks with the buildspec package).
func (s Settings) validate() error {
	if err := ValidateProjectName(s.Name); err != nil {
		return err
	}
	if err := checkText("description", s.Description, MaxDescription); err != nil {
		return err
	}
	if err := s.Source.validate(); err != nil {
		return err
	}
	if s.Source.Type == pub.SourceNone && s.SourceVersion != "" {
		return fault.New(fault.Invalid, "a NO_SOURCE project has no source version: leave source_version out")
	}
	if err := checkVersion(s.SourceVersion); err != nil {
		return err
	}
	if err := s.Environment.validate(); err != nil {
		return err
	}
	if err := checkTimeouts(s.TimeoutMinutes, s.QueuedTimeoutMinutes); err != nil {
		return err
	}
	if s.ConcurrentBuildLimit < 0 || s.ConcurrentBuildLimit > MaxConcurrentBuilds {
		return fault.New(fault.Invalid, "concurrent_build_limit %d is not 1-%d (or 0 for none)", s.ConcurrentBuildLimit, MaxConcurrentBuilds)
	}
	switch s.Artifacts.Type {
	case pub.ArtifactsNone:
		if s.Artifacts.Name != "" {
			return fault.New(fault.Invalid, "artifacts of type NO_ARTIFACTS have no name: set type BLOB or leave the name out")
		}
	case pub.ArtifactsBlob:
		if err := checkText("artifacts name", s.Artifacts.Name, 255); err != nil {
			return err
		}
	default:
		return fault.New(fault.Invalid, "artifacts type %q is not NO_ARTIFACTS or BLOB", state.Shorten(s.Artifacts.Type))
	}
	if s.Cache.Type != pub.CacheNone && s.Cache.Type != pub.CacheLocal {
		return fault.New(fault.Invalid, "cache type %q is not NO_CACHE or LOCAL", state.Shorten(s.Cache.Type))
	}
	if s.ServiceRole != "" {
		if err := state.ValidateName("service role", s.ServiceRole); err != nil {
			return err
		}
	}
	return nil
}

func (s Source) validate() error {
	switch s.Type {
	case pub.SourceSlipwayRepo:
		if !repoNameRe.MatchString(s.Repository) {
			return fault.New(fault.Invalid, "source repository %q is not a repository name: give the name 'slipway repo list' shows", state.Shorten(s.Repository))
		}
	case pub.SourceNone:
		if s.Repository != "" {
			return fault.New(fault.Invalid, "a NO_SOURCE project names no repository: set type SLIPWAY_REPO or leave the repository out")
		}
		if s.BuildspecInline == "" {
			return fault.New(fault.Invalid, "a NO_SOURCE project needs its buildspec inline: give buildspec_inline")
		}
	default:
		return fault.New(fault.Invalid, "source type %q is not SLIPWAY_REPO or NO_SOURCE", state.Shorten(s.Type))
	}
	if s.Buildspec != "" && s.BuildspecInline != "" {
		return fault.New(fault.Invalid, "give the buildspec's path or its inline text, not both")
	}
	if len(s.BuildspecInline) > MaxInlineBuildspec {
		return fault.New(fault.TooLarge, "the inline buildspec is %d bytes; at most %d: keep it in the source and give its path", len(s.BuildspecInline), MaxInlineBuildspec)
	}
	if s.BuildspecInline != "" && !utf8.ValidString(s.BuildspecInline) {
		return fault.New(fault.Invalid, "the inline buildspec is not UTF-8 text")
	}
	return checkPath(s.Buildspec)
}

// checkPath checks a buildspec's path in the source: relative, without "." or ".." segments.
func checkPath(p string) error {
	if p == "" {
		return nil
	}
	bad := len(p) > MaxPath || strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\\\x00")
	for _, seg := range strings.Split(p, "/") {
		bad = bad || seg == "" || seg == "." || seg == ".."
	}
	if bad || !printable(p) {
		return fault.New(fault.Invalid, "buildspec path %q is not a relative path of at most %d bytes without empty, '.' or '..' segments: give one such as ci/buildspec.yml", state.Shorten(p), MaxPath)
	}
	return nil
}

func checkVersion(v string) error {
	if len(v) > MaxSourceVersion || strings.ContainsFunc(v, unicode.IsSpace) || !printable(v) || strings.HasPrefix(v, "-") {
		return fault.New(fault.Invalid, "source version %q is not a branch, tag or commit ID: give one such as main or v1.2", state.Shorten(v))
	}
	return nil
}

func checkTimeouts(timeout, queued int) error {
	if timeout < minTimeout || timeout > maxTimeout {
		return fault.New(fault.Invalid, "timeout %d minutes is not %d-%d (the default is %d)", timeout, minTimeout, maxTimeout, DefaultTimeout)
	}
	if queued < minTimeout || queued > maxQueuedTimeout {
		return fault.New(fault.Invalid, "queued timeout %d minutes is not %d-%d (the default is %d)", queued, minTimeout, maxQueuedTimeout, DefaultQueuedTimeout)
	}
	return nil
}

func (e Environment) validate() error {
	if len(e.Image) > MaxImage || strings.ContainsFunc(e.Image, unicode.IsSpace) || !printable(e.Image) {
		return fault.New(fault.Invalid, "image %q is not a Docker image reference: give one such as golang:1.23 (or none to run on the worker's host)", state.Shorten(e.Image))
	}
	if e.Privileged && e.Image == "" {
		return fault.New(fault.Invalid, "privileged mode is Docker's: give an image, or leave privileged out")
	}
	if len(e.Labels) > MaxLabels {
		return fault.New(fault.Invalid, "%d labels; a project requires at most %d", len(e.Labels), MaxLabels)
	}
	for k, v := range e.Labels {
		if !labelKeyRe.MatchString(k) {
			return fault.New(fault.Invalid, "label %q is not 1-63 lowercase letters, digits and ._/- such as os or arch", state.Shorten(k))
		}
		if err := checkText("label "+k, v, 255); err != nil {
			return err
		}
	}
	return checkVariables(e.Variables)
}

// checkVariables checks a list of variables: names unique and usable by a shell, types known, a
// secret's name present, and the bounds.
func checkVariables(vs []Variable) error {
	if len(vs) > MaxVariables {
		return fault.New(fault.Invalid, "%d environment variables; at most %d", len(vs), MaxVariables)
	}
	seen := make(map[string]bool, len(vs))
	size := 0
	for _, v := range vs {
		if len(v.Name) > MaxVariableName || !varNameRe.MatchString(v.Name) || strings.HasPrefix(v.Name, "CODEBUILD_") {
			return fault.New(fault.Invalid, "environment variable name %q is not letters, digits and '_' (not starting with a digit or CODEBUILD_)", state.Shorten(v.Name))
		}
		if seen[v.Name] {
			return fault.New(fault.Invalid, "environment variable %s is given twice", v.Name)
		}
		seen[v.Name] = true
		if len(v.Value) > MaxVariableValue || !utf8.ValidString(v.Value) || strings.ContainsRune(v.Value, 0) {
			return fault.New(fault.Invalid, "environment variable %s: the value is not text of at most %d bytes", v.Name, MaxVariableValue)
		}
		switch v.Type {
		case pub.VariablePlaintext:
		case pub.VariableSecretsManager:
			if v.Value == "" || len(v.Value) > 512 || strings.ContainsFunc(v.Value, unicode.IsSpace) {
				return fault.New(fault.Invalid, "environment variable %s of type SECRETS_MANAGER: the value must be a secret's name, such as prod/db/password", v.Name)
			}
		default:
			return fault.New(fault.Invalid, "environment variable %s: type %q is not PLAINTEXT or SECRETS_MANAGER", v.Name, state.Shorten(v.Type))
		}
		size += len(v.Name) + len(v.Value)
	}
	if size > MaxVariablesBytes {
		return fault.New(fault.TooLarge, "environment variables of %d bytes; at most %d together", size, MaxVariablesBytes)
	}
	return nil
}

func checkText(what, s string, max int) error {
	if len(s) > max || !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return fault.New(fault.Invalid, "%s is not text of at most %d bytes", what, max)
	}
	return nil
}

func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// Storage.

func getProject(tx *state.Tx, name string) (Project, bool, error) {
	return state.Get[Project](tx, bucketProjects, name)
}

func mustProject(tx *state.Tx, name string) (Project, error) {
	p, ok, err := getProject(tx, name)
	if err == nil && !ok {
		err = fault.New(fault.NotFound, "build project %s not found: see 'slipway project list'", state.Shorten(name))
	}
	return p, err
}

func getCounters(tx *state.Tx, name string) (Counters, error) {
	c, _, err := state.Get[Counters](tx, bucketCounters, name)
	return c, err
}

func putCounters(tx *state.Tx, name string, c Counters) error {
	return state.Put(tx, bucketCounters, name, c)
}

func meta(tx *state.Tx, key []byte) uint64 {
	b := tx.Bucket(bucketMeta).Get(key)
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// addMeta adds d (which may be negative) to a count, never below 0.
func addMeta(tx *state.Tx, key []byte, d int) error {
	n := int64(meta(tx, key)) + int64(d)
	if n < 0 {
		n = 0
	}
	return tx.Bucket(bucketMeta).Put(key, binary.BigEndian.AppendUint64(nil, uint64(n)))
}

// projectView is a project's record as the API answers it.
func projectView(p Project) pub.BuildProject {
	return pub.BuildProject{
		Name: p.Name, Description: p.Description, Source: pub.ProjectSource(p.Source), SourceVersion: p.SourceVersion,
		Environment: environmentView(p.Environment), TimeoutMinutes: p.TimeoutMinutes, QueuedTimeoutMinutes: p.QueuedTimeoutMinutes,
		ConcurrentBuildLimit: p.ConcurrentBuildLimit, Artifacts: pub.ProjectArtifacts(p.Artifacts), Cache: pub.ProjectCache(p.Cache),
		ServiceRole: p.ServiceRole, CreatedBy: p.CreatedBy, CreateIndex: p.CreateIndex, ModifyIndex: p.ModifyIndex,
		CreateTime: p.CreateTime, ModifyTime: p.ModifyTime,
	}
}

func environmentView(e Environment) pub.BuildEnvironment {
	out := pub.BuildEnvironment{Image: e.Image, Labels: e.Labels, Privileged: e.Privileged}
	for _, v := range e.Variables {
		out.Variables = append(out.Variables, pub.EnvironmentVariable(v))
	}
	return out
}

func environmentOf(e pub.BuildEnvironment) Environment {
	out := Environment{Image: e.Image, Labels: e.Labels, Privileged: e.Privileged}
	for _, v := range e.Variables {
		out.Variables = append(out.Variables, Variable(v))
	}
	return out
}

// listProjects returns up to limit projects in name order after the name "after", and the name
// to continue after ("" at the end). A page stops early once its records pass maxPageBytes.
func listProjects(tx *state.Tx, after string, limit int) ([]Project, string, error) {
	cur := tx.Bucket(bucketProjects).Cursor()
	k, v := cur.Seek([]byte(after))
	if k != nil && after != "" && string(k) == after {
		k, v = cur.Next()
	}
	var out []Project
	size := 0
	for ; k != nil; k, v = cur.Next() {
		if len(out) == limit || (len(out) > 0 && size > maxPageBytes) {
			return out, out[len(out)-1].Name, nil
		}
		var p Project
		if err := json.Unmarshal(v, &p); err != nil {
			return nil, "", fault.New(fault.Internal, "decode build project %q: %v", k, err)
		}
		size += len(v)
		out = append(out, p)
	}
	return out, "", nil
}

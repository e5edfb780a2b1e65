package build

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/slipwayhq/slipway/buildspec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Projects is the Go API of build projects: the HTTP handlers, the console and other services
// call it so that the rules live once. Writes propose a command under ctx (a write context: it
// carries the caller for the audit record) and answer once it is applied; reads look at this
// server's state (the routes make them consistent first when asked). actor is the caller's
// principal name: callers authorize before they call.
type Projects struct{ m *Module }

// Create creates a project. An inline buildspec is validated with the buildspec package and
// refused with its diagnostics; a SLIPWAY_REPO source must name an existing repository, and a
// service role an existing role (when the server can check).
func (s *Projects) Create(ctx context.Context, actor string, req pub.ProjectCreateRequest) (pub.BuildProject, error) {
	set := Settings{
		Name: req.Name, Description: req.Description, Source: Source(req.Source), SourceVersion: req.SourceVersion,
		Environment: environmentOf(req.Environment), TimeoutMinutes: req.TimeoutMinutes, QueuedTimeoutMinutes: req.QueuedTimeoutMinutes,
		ConcurrentBuildLimit: req.ConcurrentBuildLimit, Artifacts: Artifacts(req.Artifacts), Cache: Cache(req.Cache), ServiceRole: req.ServiceRole,
	}.withDefaults()
	if err := set.validate(); err != nil {
		return pub.BuildProject{}, err
	}
	if err := s.check(ctx, &set.Source, &set.ServiceRole); err != nil {
		return pub.BuildProject{}, err
	}
	res, err := command.Propose(ctx, s.m.core.Cluster, cmdProjectCreate, s.m.core.Now(), ProjectCreatePayload{Settings: set, Actor: actor})
	return projectAnswer(res, err)
}

// check makes the checks of a project's settings that need more than the settings: the inline
// buildspec's content, the repository and the role (nil: not changed).
func (s *Projects) check(ctx context.Context, src *Source, role *string) error {
	if src != nil {
		if src.BuildspecInline != "" {
			if err := checkBuildspec(src.BuildspecInline); err != nil {
				return err
			}
		}
		if src.Type == pub.SourceSlipwayRepo {
			if s.m.Sources == nil {
				return fault.New(fault.Unavailable, "this server cannot read repositories for builds")
			}
			if err := s.m.Sources.Check(ctx, src.Repository); err != nil {
				return err
			}
		}
	}
	if role != nil && *role != "" && s.m.RoleExists != nil && !s.m.RoleExists(*role) {
		return fault.New(fault.NotFound, "service role %s does not exist: create it ('slipway iam role create') or name another", state.Shorten(*role))
	}
	return nil
}

// checkBuildspec validates an inline buildspec; its errors refuse it, each as path:line:col.
func checkBuildspec(text string) error {
	_, diags := buildspec.Load("buildspec (inline)", []byte(text))
	if !diags.HasErrors() {
		return nil
	}
	var lines []string
	for _, d := range diags {
		if d.Severity == buildspec.SeverityError {
			lines = append(lines, d.String())
		}
		if len(lines) == 20 {
			lines = append(lines, "...")
			break
		}
	}
	return fault.New(fault.Invalid, "the inline buildspec is not valid:\n%s", strings.Join(lines, "\n"))
}

// Update changes the fields of a project that req sets and answers it as changed.
func (s *Projects) Update(ctx context.Context, actor, name string, req pub.ProjectUpdateRequest) (pub.BuildProject, error) {
	if err := ValidateProjectName(name); err != nil {
		return pub.BuildProject{}, err
	}
	p := ProjectUpdatePayload{Name: name, Description: req.Description, SourceVersion: req.SourceVersion,
		TimeoutMinutes: req.TimeoutMinutes, QueuedTimeoutMinutes: req.QueuedTimeoutMinutes,
		ConcurrentBuildLimit: req.ConcurrentBuildLimit, ServiceRole: req.ServiceRole, Actor: actor}
	if req.Source != nil {
		src := Source(*req.Source)
		if src.Type == "" {
			src.Type = pub.SourceSlipwayRepo
		}
		p.Source = &src
	}
	if req.Environment != nil {
		env := environmentOf(*req.Environment).normal()
		p.Environment = &env
	}
	if req.Artifacts != nil {
		a := Artifacts(*req.Artifacts)
		p.Artifacts = &a
	}
	if req.Cache != nil {
		c := Cache(*req.Cache)
		p.Cache = &c
	}
	if err := s.check(ctx, p.Source, p.ServiceRole); err != nil {
		return pub.BuildProject{}, err
	}
	res, err := command.Propose(ctx, s.m.core.Cluster, cmdProjectUpdate, s.m.core.Now(), p)
	return projectAnswer(res, err)
}

// Get returns a project. One created just before through another server is found
// (module.Core.ReadYourWrites): a pipeline's check of its build action, right after the project's
// create through another server, relies on it.
func (s *Projects) Get(ctx context.Context, name string) (pub.BuildProject, error) {
	var p Project
	err := s.m.core.ReadYourWrites(ctx, func() error {
		var err error
		p, err = s.Record(name)
		return err
	})
	return projectView(p), err
}

// Record reads a project's record as this server has applied it.
func (s *Projects) Record(name string) (Project, error) {
	if err := ValidateProjectName(name); err != nil {
		return Project{}, err
	}
	var p Project
	err := s.m.core.State.View(func(tx *state.Tx) error {
		var err error
		p, err = mustProject(tx, name)
		return err
	})
	return p, err
}

// List returns a page of projects in name order and the cursor of the next page ("" at the end).
// A page stops early once its records pass about 4 MiB (an inline buildspec and variables make a
// record up to about 130 KiB).
func (s *Projects) List(_ context.Context, page api.Page) ([]pub.BuildProject, string, error) {
	var list []Project
	var next string
	err := s.m.core.State.View(func(tx *state.Tx) error {
		var err error
		list, next, err = listProjects(tx, page.After, page.Limit)
		return err
	})
	out := make([]pub.BuildProject, 0, len(list))
	for _, p := range list {
		out = append(out, projectView(p))
	}
	return out, next, err
}

// Delete deletes a project and its builds' records; one with builds queued or in progress is a
// conflict.
func (s *Projects) Delete(ctx context.Context, name string) error {
	if err := ValidateProjectName(name); err != nil {
		return err
	}
	_, err := command.Propose(ctx, s.m.core.Cluster, cmdProjectDelete, s.m.core.Now(), ProjectDeletePayload{Name: name})
	return err
}

func projectAnswer(res command.Result, err error) (pub.BuildProject, error) {
	if err != nil {
		return pub.BuildProject{}, err
	}
	p, err := command.Data[Project](res)
	return projectView(p), err
}

// Builds is the Go API of builds, under the same rules as Projects.
type Builds struct{ m *Module }

// Start records a build of req.Project QUEUED, initiated by actor: the project's settings with
// req's overrides, and the commit the source version (req's, else the project's, else the
// default branch) names now.
func (s *Builds) Start(ctx context.Context, actor string, req pub.BuildStartRequest) (pub.Build, error) {
	p, err := s.prepare(ctx, actor, req)
	if err != nil {
		return pub.Build{}, err
	}
	p.ID = p.Project + ":" + newUUID()
	res, err := command.Propose(ctx, s.m.core.Cluster, cmdStart, s.m.core.Now(), p)
	if err == nil {
		s.m.startStatus(ctx, res) // best effort: the finish task sets the final one durably
	}
	return buildAnswer(res, err)
}

// prepare is a start's payload without its ID: the project's settings with req's overrides,
// the source version resolved to a commit (a batch start's children share it).
func (s *Builds) prepare(ctx context.Context, actor string, req pub.BuildStartRequest) (StartPayload, error) {
	return s.prepareFrom(ctx, actor, req, nil)
}

// prepareFrom is prepare with the build's source given as art (nil: its project's): then no
// version is resolved, the resolved source version is the artifact's commit.
func (s *Builds) prepareFrom(ctx context.Context, actor string, req pub.BuildStartRequest, art *SourceArtifact) (StartPayload, error) {
	pr, err := s.m.Projects().Record(req.Project)
	if fault.CodeOf(err) == fault.NotFound { // created through another server a moment ago?
		if rerr := s.m.core.Cluster.ConsistentRead(ctx); rerr != nil {
			return StartPayload{}, fault.New(fault.Unavailable, "this server cannot read build projects now: %v", rerr)
		}
		pr, err = s.m.Projects().Record(req.Project)
	}
	if err != nil {
		return StartPayload{}, err
	}
	p := StartPayload{Project: pr.Name, ProjectCreateIndex: pr.CreateIndex, Initiator: actor, SourceVersion: req.SourceVersion,
		Source: pr.Source, Environment: pr.Environment, TimeoutMinutes: pr.TimeoutMinutes, QueuedTimeoutMinutes: pr.QueuedTimeoutMinutes,
		ServiceRole: pr.ServiceRole}
	if err := checkVersion(req.SourceVersion); err != nil {
		return StartPayload{}, err
	}
	if req.TimeoutMinutesOverride != 0 {
		p.TimeoutMinutes = req.TimeoutMinutesOverride
	}
	if req.QueuedTimeoutMinutesOverride != 0 {
		p.QueuedTimeoutMinutes = req.QueuedTimeoutMinutesOverride
	}
	if err := checkTimeouts(p.TimeoutMinutes, p.QueuedTimeoutMinutes); err != nil {
		return StartPayload{}, err
	}
	over := environmentOf(pub.BuildEnvironment{Variables: req.EnvironmentVariablesOverride}).normal().Variables
	if err := checkVariables(over); err != nil {
		return StartPayload{}, err
	}
	p.Environment.Variables = mergeVariables(p.Environment.Variables, over)
	if err := checkVariables(p.Environment.Variables); err != nil {
		return StartPayload{}, err
	}
	if art != nil {
		if req.SourceVersion != "" {
			return StartPayload{}, fault.New(fault.Invalid, "a build from a source artifact takes no source version")
		}
		if pr.Source.Type == pub.SourceSlipwayRepo && p.Source.Buildspec == "" && p.Source.BuildspecInline == "" {
			p.Source.Buildspec = DefaultBuildspecPath
		}
		a := *art
		p.SourceArtifact, p.ResolvedSourceVersion = &a, a.Commit
	} else if pr.Source.Type == pub.SourceSlipwayRepo {
		if p.Source.Buildspec == "" && p.Source.BuildspecInline == "" {
			p.Source.Buildspec = DefaultBuildspecPath // the build says what its worker runs
		}
		version := req.SourceVersion
		if version == "" {
			version = pr.SourceVersion
		}
		if s.m.Sources == nil {
			return StartPayload{}, fault.New(fault.Unavailable, "this server cannot read repositories for builds")
		}
		if p.ResolvedSourceVersion, err = s.m.Sources.Resolve(ctx, pr.Source.Repository, version); err != nil {
			return StartPayload{}, err
		}
	} else if req.SourceVersion != "" {
		return StartPayload{}, fault.New(fault.Invalid, "build project %s has no source (NO_SOURCE): leave the source version out", pr.Name)
	}
	return p, nil
}

// mergeVariables is base with over applied: a variable of over replaces base's of the same name
// in its place; the others are appended in over's order.
func mergeVariables(base, over []Variable) []Variable {
	out := append([]Variable(nil), base...)
	for _, o := range over {
		replaced := false
		for i := range out {
			if out[i].Name == o.Name {
				out[i], replaced = o, true
			}
		}
		if !replaced {
			out = append(out, o)
		}
	}
	return out
}

// newUUID is a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Get returns a build.
func (s *Builds) Get(_ context.Context, id string) (pub.Build, error) {
	b, err := s.Record(id)
	return buildView(b), err
}

// Record reads a build's record as this server has applied it.
func (s *Builds) Record(id string) (Build, error) {
	if _, _, err := SplitID(id); err != nil {
		return Build{}, err
	}
	var b Build
	err := s.m.core.State.View(func(tx *state.Tx) error {
		var err error
		b, err = mustBuild(tx, id)
		return err
	})
	return b, err
}

// List returns a page of the cluster's builds, newest first, and the cursor of the next page.
func (s *Builds) List(_ context.Context, page api.Page) ([]pub.Build, string, error) {
	return s.list(bucketHistory, nil, page)
}

// ListForProject returns a page of a project's builds, newest first, and the cursor of the next
// page. An unknown project is not found.
func (s *Builds) ListForProject(_ context.Context, project string, page api.Page) ([]pub.Build, string, error) {
	if _, err := s.m.Projects().Record(project); err != nil {
		return nil, "", err
	}
	return s.list(bucketByProject, append([]byte(project), 0), page)
}

func (s *Builds) list(bucket, prefix []byte, page api.Page) ([]pub.Build, string, error) {
	return newestPage(s.m.core.State, bucket, bucketBuilds, prefix, page, getBuild, buildView)
}

// Stop stops a build: a queued one becomes STOPPED; one in progress gets stop_requested for its
// worker; one that ended is answered as it is.
func (s *Builds) Stop(ctx context.Context, actor, id string) (pub.Build, error) {
	if _, _, err := SplitID(id); err != nil {
		return pub.Build{}, err
	}
	res, err := command.Propose(ctx, s.m.core.Cluster, cmdStop, s.m.core.Now(), StopPayload{ID: id, Actor: actor})
	return buildAnswer(res, err)
}

func buildAnswer(res command.Result, err error) (pub.Build, error) {
	if err != nil {
		return pub.Build{}, err
	}
	b, err := command.Data[Build](res)
	return buildView(b), err
}

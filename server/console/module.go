// Package console is the web console: server-rendered pages under /ui/ on every server's API
// port, signed in with the identity service's users, authorized by the same policies as the API
// (see DESIGN.md and docs/CONSOLE.md). It reads the services through their Go APIs.
package console

import (
	"context"
	"embed"
	"html/template"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/acl"
	"github.com/slipwayhq/slipway/server/build"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/deploy"
	"github.com/slipwayhq/slipway/server/git"
	"github.com/slipwayhq/slipway/server/review"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets/*
var assetFS embed.FS

// Module is the console's registration. It calls the services it shows: sign-in through the
// identity service, deployments through the deployments service.
type Module struct {
	core   *module.Core
	acl    *acl.Module
	deploy *deploy.Module
	git    *git.Module
	review *review.Module
	builds *build.Module
	// pipelines is the pipeline service's Go API (WithPipelines); nil: no pipeline pages.
	pipelines PipelineService
	pages     map[string]*template.Template

	// BuildLogs, BuildReports: what the build pages read beyond the build's record (see
	// builds_sources.go); nil shows that part as not available on this server.
	BuildLogs    BuildLogs
	BuildReports BuildReports
}

// New returns the console over the services it shows.
func New(a *acl.Module, d *deploy.Module, g *git.Module, rv *review.Module) *Module {
	return &Module{acl: a, deploy: d, git: g, review: rv}
}

// WithBuilds has the console show the build service's projects and builds (the pages of
// builds.go and projects.go); without it they answer 404.
func (m *Module) WithBuilds(b *build.Module) *Module {
	m.builds = b
	if b != nil {
		r := buildReaders{b.Builds()}
		if m.BuildLogs == nil {
			m.BuildLogs = r
		}
		if m.BuildReports == nil {
			m.BuildReports = r
		}
	}
	return m
}

// buildReaders is the build service's log and report readers as the build pages consume them.
type buildReaders struct{ b *build.Builds }

// LogPage implements BuildLogs.
func (r buildReaders) LogPage(ctx context.Context, id string, after uint64, limit int) (BuildLogPage, error) {
	p, err := r.b.Logs(ctx, id, after, limit)
	if err != nil {
		return BuildLogPage{}, err
	}
	out := BuildLogPage{Lines: make([]BuildLogLine, 0, len(p.Lines)), Next: p.Next, Ended: p.Ended, Truncated: p.Truncated}
	for _, l := range p.Lines {
		out.Lines = append(out.Lines, BuildLogLine(l))
	}
	return out, nil
}

// Reports implements BuildReports.
func (r buildReaders) Reports(ctx context.Context, id string) ([]pub.BuildReport, error) {
	rs, err := r.b.Reports(ctx, id)
	return rs.Reports, err
}

// Name implements module.Module.
func (*Module) Name() string { return "console" }

// Register implements module.Module.
func (m *Module) Register(r *module.Registry, core *module.Core) {
	m.core = core
	m.pages = parsePages()
	all := m.routes()
	for _, set := range pageSets {
		all = append(all, set(m)...)
	}
	for i := range all {
		all[i].RenderError = m.errorPage // the console answers its errors as pages, not JSON
	}
	r.Routes(all...)
}

// pageSets are the console's sets of pages beyond sign-in and the overview: each file of pages
// (hosts.go, apps.go, ...) adds its routes here from an init function, so a new set of pages
// is one new file.
var pageSets []func(*Module) []api.Route

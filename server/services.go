package server

import (
	"github.com/slipwayhq/slipway/server/acl"
	"github.com/slipwayhq/slipway/server/build"
	"github.com/slipwayhq/slipway/server/console"
	"github.com/slipwayhq/slipway/server/core/config"
	"github.com/slipwayhq/slipway/server/core/fsm"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/deploy"
	"github.com/slipwayhq/slipway/server/git"
	"github.com/slipwayhq/slipway/server/git/transport"
	"github.com/slipwayhq/slipway/server/kv"
	"github.com/slipwayhq/slipway/server/pipeline"
	"github.com/slipwayhq/slipway/server/pipeline/providers"
	"github.com/slipwayhq/slipway/server/review"
	"github.com/slipwayhq/slipway/server/secrets"
)

// services lists the services this server runs, in registration order. A new service is its own
// folder under server/ plus one line here.
func services(cfg config.Config) []module.Module {
	identity, deployments := acl.New(cfg.InitialManagementTokenFile), deploy.New()
	repos := git.New()
	repos.SSHAddr = cfg.SSHAddr
	repos.Hooks.AllowPrivate = cfg.Webhooks.AllowPrivateDestinations
	repos.SSHKeys = transport.KeyOwnerFunc(func(fp string) (string, error) { return identity.Identity().KeyOwner(fp) })
	// Commits made in the console or through PutFile name the user as the identity service has
	// them.
	repos.Authors = func(user string) (git.Author, bool) {
		u, err := identity.Identity().User(user)
		if err != nil {
			return git.Author{}, false
		}
		return git.Author{Name: u.DisplayName, Email: u.Email}, true
	}
	// Branch protection's push principals and approval rules' pools name groups too.
	groups := func(user string) []string {
		u, err := identity.Identity().User(user)
		if err != nil {
			return nil
		}
		return u.Groups
	}
	repos.Groups = groups
	prs := review.New(repos)
	prs.Groups = groups
	prs.Merger = prMerger{repos}
	secretStore := secrets.New()
	builds := build.New()
	builds.Secrets = buildSecrets{secretStore.Service()}
	builds.Statuses = buildStatuses{repos}
	builds.Sources = buildSources{repos}
	builds.RoleSessions = buildRoleSessions{identity}
	builds.RoleExists = func(name string) bool { _, err := identity.Identity().Role(name); return err == nil }
	pipelines := pipeline.New()
	builtin := providers.New(repos, builds, deployments)
	pipelines.Providers = builtin.Providers()
	pipelines.Changes = builtin.Changes()
	return []module.Module{
		identity,
		deployments,
		kv.New(),
		repos,
		prs,
		console.New(identity, deployments, repos, prs).WithBuilds(builds).WithPipelines(pipelines),
		secretStore,
		builds,
		pipelines,
	}
}

// register builds the registry of a server: the core's commands, its own modules (its tasks,
// the audit trail's routes and tasks), then every service of services().
func register(cfg config.Config, core *module.Core, coreMods ...module.Module) *module.Registry {
	table := fsm.NewTable()
	r := module.NewRegistry(table)
	r.Add(core, coreMods...)
	r.Add(core, services(cfg)...)
	return r
}

// Package git is the git hosting service (issue 18): repositories that ordinary git clients
// clone, fetch and push through any server. It owns the replicated state of repositories (their
// metadata, refs and the pack blobs that hold their objects), the commands that change it, the
// Go API (Repos) and /v1/repos, each server's bare copies that converge to that state (replica),
// and the Backend the smart-HTTP transport serves through. See DESIGN.md.
package git

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/git/gitexec"
	"github.com/slipwayhq/slipway/server/git/hooks"
	"github.com/slipwayhq/slipway/server/git/transport"
)

// commandRange is the block of command numbers the service owns.
var commandRange = command.Range{First: 1300, Last: 1399}

// Defaults of the module's settings.
const (
	DefaultMaxPackSize    = 2 << 30 // bytes of one push's pack
	DefaultRepairInterval = 5 * time.Minute
)

// Module is the git service's registration. Its exported fields are settings the server may
// change before the server starts (after New, before Register).
type Module struct {
	// HooksDir is the directory every bare copy's core.hooksPath names, where the transport
	// writes its hook scripts. "" is DATA/git/hooks. The replica creates it.
	HooksDir string
	// MaxPackSize bounds the pack of one push (StorePack), in bytes.
	MaxPackSize int64
	// RepairInterval is how often the replica checks every copy against the state even when
	// nothing was applied (a crash, a wiped directory, a late join).
	RepairInterval time.Duration
	// HookBinary is the program the transport's hook scripts run (`HOOK git-hook NAME`): the
	// slipway binary by default (os.Executable()); a test binary whose TestMain calls
	// transport.RunHookIfInvoked.
	HookBinary string
	// MaxFileSize bounds a file the browse API answers /contents with, in bytes (413 over it).
	MaxFileSize int64
	// MaxBrowseBytes bounds the git output one browse answer is made from (a log page, a
	// tree, a diff stat and patch): a list over it is refused, a tree or diff is truncated.
	MaxBrowseBytes int
	// MaintenancePacks and MaintenanceLoose: a copy with more packs, or about as many loose
	// objects, is repacked in the background (maintenance.go); MaintenancePacks 0 turns the
	// background maintenance off (Replica.Maintain still runs on demand).
	MaintenancePacks int
	MaintenanceLoose int
	// MaintenanceInterval is the least time between two background maintenances of one copy;
	// FullRepackInterval between two full repacks (which drop old unreachable objects).
	MaintenanceInterval time.Duration
	FullRepackInterval  time.Duration
	// SSHAddr is where git over SSH listens (config ssh_addr); "" or "off" serves none.
	SSHAddr string
	// SSHKeys finds the user of an SSH key (the identity service); required to serve SSH.
	SSHKeys transport.KeyOwners
	// SSH tunes the SSH server's bounds (HostKey and Keys are set by the module).
	SSH transport.SSHConfig
	// Authors looks up a user's display name and email for the commits PutFile makes in their
	// name (the server sets it to the identity service's users); nil, or a user it does not
	// know, leaves the user's name and no email.
	Authors func(user string) (Author, bool)
	// Groups lists the groups of a user, for branch protection's push principals (the server
	// sets it to the identity service's); nil knows no groups.
	Groups func(user string) []string
	// Hooks is the repositories' event stream and webhooks (package hooks), registered with
	// the module; its AllowPrivate is config webhooks.allow_private_destinations.
	Hooks *hooks.Service

	core      *module.Core
	replica   *Replica
	git       *gitexec.Git // nil when git is unusable here (gitErr says why)
	gitErr    error
	transport *transport.Server
	sshAddr   atomic.Pointer[net.TCPAddr] // where SSH is served, once it is
}

// New returns the git service with the default settings.
func New() *Module {
	return &Module{MaxPackSize: DefaultMaxPackSize, RepairInterval: DefaultRepairInterval, MaxFileSize: DefaultMaxFileSize, MaxBrowseBytes: DefaultMaxBrowseBytes,
		MaintenancePacks: DefaultMaintenancePacks, MaintenanceLoose: DefaultMaintenanceLoose,
		MaintenanceInterval: DefaultMaintenanceInterval, FullRepackInterval: DefaultFullRepackInterval,
		Hooks: hooks.New(func(tx *state.Tx, name string) (string, error) { r, err := mustNamed(tx, name); return r.ID, err })}
}

// Name implements module.Module.
func (*Module) Name() string { return "git" }

// Register implements module.Module.
func (m *Module) Register(r *module.Registry, core *module.Core) {
	m.core = core
	m.replica = newReplica(m)
	r.Commands(commandRange)
	module.Handle(r, cmdCreate, applyCreate)
	module.Handle(r, cmdUpdate, applyUpdate)
	module.Handle(r, cmdDelete, applyDelete)
	module.Handle(r, cmdPush, applyPush)
	module.Handle(r, cmdProtect, applyProtect)
	module.Handle(r, cmdUnprotect, applyUnprotect)
	module.Handle(r, cmdStatus, applyStatus)
	r.Buckets(bucketRepos, bucketNames, bucketRefs, bucketPacks, bucketMeta)
	r.Buckets(bucketProtect, bucketStatuses, bucketStatusAge, bucketStatusMeta)
	r.Actions("codecommit")
	m.Hooks.Register(r, core)
	m.git, m.gitErr = gitexec.New(context.Background(), gitexec.Config{Home: filepath.Join(m.dir(), "home")})
	m.transport = transport.New(transport.Config{
		Git: m.git, GitError: m.gitErr, Kit: func() *api.Kit { return core.HTTP },
		Dir: m.dir(), HooksDir: m.replica.HooksDir(), HookBinary: m.HookBinary, MaxPushBytes: m.MaxPackSize,
		Logger: core.Log,
	}, m.Backend())
	r.Routes(m.routes()...)
	r.Routes(m.browseRoutes()...)
	r.Routes(m.bundleRoutes()...)
	r.Routes(m.maintenanceRoutes()...)
	r.Routes(m.putFileRoute())
	r.Routes(m.protectRoutes()...)
	r.Routes(m.mergeRoutes()...)
	r.Routes(m.transport.Routes()...)
	r.Routes(m.sshRoutes()...)
	r.Background("replica", m.replica.run)
	r.Background("git-maintenance", m.replica.maintain)
	r.Background("git-transport", m.serveHooks)
	r.Background("git-ssh", m.serveSSH)
}

// serveSSH serves git over SSH on SSHAddr for as long as the server, under the cluster's host
// key (HostKey). A port it cannot listen on is logged, and this server serves no SSH: the API
// and git over HTTP go on.
func (m *Module) serveSSH(ctx context.Context) {
	if m.SSHAddr == "" || m.SSHAddr == "off" {
		return
	}
	if m.gitErr != nil || m.SSHKeys == nil {
		return // the replica logs why git is unusable
	}
	signer, err := m.HostKey()
	if err != nil {
		m.core.Log.Error("git over SSH is not served", "err", err)
		return
	}
	ln, err := net.Listen("tcp", m.SSHAddr)
	if err != nil {
		m.core.Log.Error("git over SSH is not served: give another --ssh-addr (ssh_addr), or off", "ssh_addr", m.SSHAddr, "err", err)
		return
	}
	m.sshAddr.Store(ln.Addr().(*net.TCPAddr))
	defer m.sshAddr.Store(nil)
	m.core.Log.Info("git over SSH", "addr", ln.Addr().String(), "host_key", ssh.FingerprintSHA256(signer.PublicKey()))
	cfg := m.SSH
	cfg.HostKey, cfg.Keys = signer, transport.KeyOwnerFunc(m.keyOwner)
	if err := m.transport.ServeSSH(ctx, ln, cfg); err != nil {
		m.core.Log.Error("git over SSH stopped", "err", err)
	}
}

// keyOwner looks a key up in this server's state and, when it is unknown here, once more
// after a consistent read: a key just added through another
// server is found, as the API edge finds a token just created (the SSH server's failure budget
// bounds how often an unknown key makes it wait).
func (m *Module) keyOwner(fp string) (string, error) {
	u, err := m.SSHKeys.KeyOwner(fp)
	if err == nil || fault.CodeOf(err) != fault.NotFound {
		return u, err
	}
	// On the leader too: one just elected, or a server just started, may not have applied
	// every entry yet.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if rerr := m.core.Cluster.ConsistentRead(ctx); rerr != nil {
		return "", fault.New(fault.Unavailable, "this server cannot check SSH keys now: %v", rerr)
	}
	return m.SSHKeys.KeyOwner(fp)
}

// HostKey is the cluster's SSH host key: derived from the key-encryption key every server
// loads (keyring.KEK.Derive under transport.HostKeyPurpose), so every server presents the same
// one and a client's known_hosts entry holds through a failover. It changes only with the KEK.
func (m *Module) HostKey() (ssh.Signer, error) {
	seed, err := m.core.Keyring.Derive(transport.HostKeyPurpose, 32)
	if err != nil {
		return nil, fmt.Errorf("derive the SSH host key: %w", err)
	}
	return transport.HostKeySeed(seed)
}

// SSHPort is the port this server serves git over SSH on, 0 while it serves none.
func (m *Module) SSHPort() int {
	if a := m.sshAddr.Load(); a != nil {
		return a.Port
	}
	return 0
}

// serveHooks runs the transport's hook socket for as long as the server: the hooks of every
// push call back into this process through it.
func (m *Module) serveHooks(ctx context.Context) {
	if m.gitErr != nil {
		return // the replica logs why; the routes answer 503 with it
	}
	if err := m.transport.Start(); err != nil {
		m.core.Log.Error("git pushes cannot be received by this server", "err", err)
		return
	}
	<-ctx.Done()
	_ = m.transport.Close()
}

// Repos is the service's Go API over the module's core.
func (m *Module) Repos() *Repos { return &Repos{core: m.core} }

// Replica is this server's bare copies (available once the server has started).
func (m *Module) Replica() *Replica { return m.replica }

// dir is the module's directory under the server's data directory.
func (m *Module) dir() string { return filepath.Join(m.core.DataDir, "git") }

package service

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	kservice "github.com/kardianos/service"

	"github.com/slipwayhq/slipway/systemd"
)

// controller is what the commands need from the service manager. kardianos/service's Service
// satisfies it; rootedSystemd is the file-only stand-in used with --root.
type controller interface {
	Install() error
	Uninstall() error
	Start() error
	Stop() error
	Status() (kservice.Status, error)
	String() string
}

// serviceConfig is the library's description of the agent service. It runs the agent with the
// given config file; on systemd the unit is Slipway's own.
func (a *app) serviceConfig(configPath string, runWait func()) *kservice.Config {
	opt := kservice.KeyValue{
		"SystemdScript": systemd.AgentUnit,
	}
	if runWait != nil {
		opt["RunWait"] = runWait
	}
	return &kservice.Config{
		Name:        Name,
		DisplayName: "Slipway agent",
		Description: description,
		Arguments:   []string{"run", "--config", configPath},
		Executable:  a.opts.Executable,
		Option:      opt,
	}
}

const description = "Slipway agent: runs Slipway deployments on this host"

// systemController returns the operating system's service manager for the agent.
func (a *app) systemController(configPath string, prog kservice.Interface, runWait func()) (controller, error) {
	if prog == nil {
		prog = idle{}
	}
	s, err := kservice.New(prog, a.serviceConfig(configPath, runWait))
	if err != nil {
		return nil, fmt.Errorf("service manager: %w", err)
	}
	return systemService{s}, nil
}

// systemService is the library's service, named by its platform (e.g. "linux-systemd").
type systemService struct{ kservice.Service }

func (s systemService) String() string { return s.Platform() }

// idle is the service Interface for commands that control the service rather than run it.
type idle struct{}

func (idle) Start(kservice.Service) error { return nil }
func (idle) Stop(kservice.Service) error  { return nil }

// Paths of the systemd layout, relative to the root.
const (
	unitDir  = "/etc/systemd/system"
	wantsDir = "/etc/systemd/system/multi-user.target.wants"
	unitFile = Name + ".service"
	unitMode = 0o644
	dirMode  = 0o755
)

// rootedSystemd installs the systemd unit under root instead of /, without a service manager:
// it writes the unit and the enable symlink exactly where `systemctl --root=ROOT enable` would.
// It serves image builds (install into a mounted disk image) and tests.
type rootedSystemd struct {
	root   string
	params unitParams
}

func (r *rootedSystemd) String() string { return "systemd under " + r.root }

func (r *rootedSystemd) unitPath() string { return filepath.Join(r.root, unitDir, unitFile) }
func (r *rootedSystemd) linkPath() string { return filepath.Join(r.root, wantsDir, unitFile) }

// Install writes the unit (0644) and enables it (the WantedBy=multi-user.target symlink).
func (r *rootedSystemd) Install() error {
	if _, err := os.Lstat(r.unitPath()); err == nil {
		return fmt.Errorf("%s already exists", r.unitPath())
	}
	unit, err := renderAgentUnit(r.params)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(r.unitPath()), dirMode); err != nil {
		return err
	}
	if err := writeFileAtomic(r.unitPath(), []byte(unit), unitMode); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(r.linkPath()), dirMode); err != nil {
		return err
	}
	// The link points at the unit's path on the target system, as systemctl's does.
	return os.Symlink(filepath.Join(unitDir, unitFile), r.linkPath())
}

// Uninstall removes the enable symlink and the unit.
func (r *rootedSystemd) Uninstall() error {
	if _, err := os.Lstat(r.unitPath()); errors.Is(err, fs.ErrNotExist) {
		return kservice.ErrNotInstalled
	}
	if err := os.Remove(r.linkPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.Remove(r.unitPath())
}

// Status is StatusStopped when the unit is installed: nothing runs under a root.
func (r *rootedSystemd) Status() (kservice.Status, error) {
	if _, err := os.Lstat(r.unitPath()); err != nil {
		return kservice.StatusUnknown, kservice.ErrNotInstalled
	}
	return kservice.StatusStopped, nil
}

var errRooted = errors.New("not available with --root: no service manager runs under a root folder")

func (r *rootedSystemd) Start() error { return errRooted }
func (r *rootedSystemd) Stop() error  { return errRooted }

// writeFileAtomic writes data to path through a temporary file in the same folder, so a reader
// never sees half a file, and leaves it with mode perm.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if err := tmp.Chmod(perm); err != nil {
		_ = tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

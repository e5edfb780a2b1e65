package service

import (
	"os"
	"path/filepath"
	"testing"

	kservice "github.com/kardianos/service"
)

// forcedSystem is the library's systemd backend, used even where systemd is not PID 1.
type forcedSystem struct{ kservice.System }

func (forcedSystem) Detect() bool { return true }

// TestUnitMatchesLibrary installs through github.com/kardianos/service itself, as a user service
// under a temporary HOME and with no systemctl on PATH, and compares the unit it writes with
// renderAgentUnit's: the file --root and the tests produce is the file a real install writes.
func TestUnitMatchesLibrary(t *testing.T) {
	var systemd kservice.System
	for _, s := range kservice.AvailableSystems() {
		if s.String() == "linux-systemd" {
			systemd = s
		}
	}
	if systemd == nil {
		t.Skip("the library has no linux-systemd backend")
	}
	saved := kservice.AvailableSystems()
	kservice.ChooseSystem(forcedSystem{systemd})
	t.Cleanup(func() { kservice.ChooseSystem(saved...) })

	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("PATH", t.TempDir()) // no systemctl: enabling fails after the unit is written

	a := &app{opts: Options{Executable: testExecutable}}
	cfg := a.serviceConfig("/etc/slipway/agent.yaml", nil)
	cfg.Option["UserService"] = true
	svc, err := kservice.New(idle{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Install(); err == nil {
		t.Fatal("install succeeded without systemctl; refusing to go on")
	} else {
		t.Logf("library install (expected to fail at systemctl): %v", err)
	}
	got, err := os.ReadFile(filepath.Join(home, ".config/systemd/user", unitFile))
	if err != nil {
		t.Fatal(err)
	}
	want, err := renderAgentUnit(testParams(testExecutable))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("library and renderAgentUnit differ\nlibrary:\n%s\nours:\n%s", got, want)
	}
}

package service

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// unitSettings parses a unit file into section → key → values (a key may repeat).
func unitSettings(t *testing.T, unit string) map[string]map[string][]string {
	t.Helper()
	out := map[string]map[string][]string{}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(unit))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			out[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("bad unit line %q", line)
			}
			out[section][k] = append(out[section][k], v)
		}
	}
	return out
}

func one(t *testing.T, s map[string]map[string][]string, section, key string) string {
	t.Helper()
	v := s[section][key]
	if len(v) != 1 {
		t.Fatalf("[%s] %s = %q, want exactly one value", section, key, v)
	}
	return v[0]
}

func testParams(exe string) unitParams {
	return unitParams{
		Description: description,
		Path:        exe,
		Name:        Name,
		Arguments:   []string{"run", "--config", "/etc/slipway/agent.yaml"},
	}
}

func TestRenderedUnit(t *testing.T) {
	unit, err := renderAgentUnit(testParams(testExecutable))
	if err != nil {
		t.Fatal(err)
	}
	s := unitSettings(t, unit)
	checks := []struct{ section, key, want string }{
		{"Unit", "Description", description},
		{"Unit", "ConditionFileIsExecutable", testExecutable},
		{"Unit", "After", "network-online.target"},
		{"Service", "ExecStart", testExecutable + ` "run" "--config" "/etc/slipway/agent.yaml"`},
		{"Service", "Restart", "on-failure"},
		{"Service", "RestartPreventExitStatus", "78"},
		{"Service", "KillMode", "process"},
		{"Install", "WantedBy", "multi-user.target"},
	}
	for _, c := range checks {
		if got := one(t, s, c.section, c.key); got != c.want {
			t.Errorf("[%s] %s = %q, want %q", c.section, c.key, got, c.want)
		}
	}
	if d, err := time.ParseDuration(one(t, s, "Service", "RestartSec")); err != nil || d > 10*time.Second {
		t.Errorf("RestartSec = %q, want a few seconds (the library's default is 120 s)", one(t, s, "Service", "RestartSec"))
	}
	// Hooks run as root, write anywhere and switch users: none of these may be set.
	for _, key := range []string{"ProtectSystem", "ProtectHome", "PrivateTmp", "NoNewPrivileges", "ReadOnlyPaths",
		"User", "DynamicUser", "RestrictSUIDSGID", "MemoryDenyWriteExecute", "SystemCallFilter"} {
		if v, ok := s["Service"][key]; ok {
			t.Errorf("[Service] %s = %q would break deployment hooks", key, v)
		}
	}
	if strings.Contains(unit, "{{") || strings.Contains(unit, "}}") {
		t.Errorf("unexpanded template action in unit:\n%s", unit)
	}
}

func TestRenderedUnitEscapesPaths(t *testing.T) {
	p := testParams("/opt/my tools/slipway-agent")
	p.Arguments = []string{"run", "--config", `/etc/my "conf"/agent.yaml`}
	unit, err := renderAgentUnit(p)
	if err != nil {
		t.Fatal(err)
	}
	s := unitSettings(t, unit)
	want := `/opt/my\x20tools/slipway-agent "run" "--config" "/etc/my \"conf\"/agent.yaml"`
	if got := one(t, s, "Service", "ExecStart"); got != want {
		t.Errorf("ExecStart = %s\nwant        %s", got, want)
	}
}

func TestRenderUnitRejectsWhatTheLibraryReadsDifferently(t *testing.T) {
	for _, tmpl := range []string{
		"{{if Path}}x{{end}}",
		"{{UserName}}",
		"{{- Path}}",
		"{{Path | upper}}",
		"{{range Dependencies}}{{.}}{{end}}",
		"{{range Arguments}}{{Path}}{{end}}",
		"{{range Arguments}}{{.}}",
		"{{Path",
	} {
		if out, err := renderUnit(tmpl, testParams(testExecutable)); err == nil {
			t.Errorf("renderUnit(%q) = %q, want an error", tmpl, out)
		}
	}
}

// TestSystemdAnalyzeVerify checks the rendered unit with systemd's own linter when it is
// installed (apt-get install systemd); it needs no running systemd.
func TestSystemdAnalyzeVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "slipway-agent")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	unit, err := renderAgentUnit(testParams(exe))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, unitFile)
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput()
	t.Logf("systemd-analyze verify:\n%s", out)
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	// Warnings about other units (targets missing in a container) are not ours; any line
	// about our file is.
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, unitFile) {
			t.Errorf("systemd-analyze: %s", line)
		}
	}
}

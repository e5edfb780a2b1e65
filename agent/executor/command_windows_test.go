//go:build windows

package executor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
)

func TestScriptCommandByExtension(t *testing.T) {
	bat := `C:\deploy (x86)\a & b\start.BAT`
	prog, args, cmdLine, err := scriptCommand(bat)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.EqualFold(filepath.Base(prog), "cmd.exe") || !strings.HasSuffix(cmdLine, ` /S /C ""`+bat+`""`) || len(args) == 0 {
		t.Fatalf("bat: %q %q %q", prog, args, cmdLine)
	}
	exe := `C:\deploy\tool.exe`
	if prog, args, cmdLine, err = scriptCommand(exe); err != nil || prog != exe || len(args) != 1 || cmdLine != "" {
		t.Fatalf("exe: %q %q %q %v", prog, args, cmdLine, err)
	}
	ps1 := `C:\deploy\install.ps1`
	prog, args, cmdLine, err = scriptCommand(ps1)
	if err != nil {
		t.Skipf("no PowerShell: %v", err)
	}
	want := []string{prog, "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-File", ps1}
	if strings.Join(args, "|") != strings.Join(want, "|") || cmdLine != "" {
		t.Fatalf("ps1: %q %q", args, cmdLine)
	}
}

func TestRunAsAndSudoNotSupported(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "s.cmd")
	if err := os.WriteFile(p, []byte("@echo ran > ran.txt\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, s := range []Script{
		{Name: "s.cmd", Path: p, Dir: dir, RunAs: "someone", Timeout: time.Minute},
		{Name: "s.cmd", Path: p, Dir: dir, Sudo: true, Timeout: time.Minute},
	} {
		res := (&Executor{}).Run(context.Background(), s, nil)
		if res.Code != agentproto.ResultUnknownError || !strings.Contains(res.Message, "not supported on Windows") {
			t.Fatalf("result = %+v", res)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "ran.txt")); err == nil {
		t.Fatal("the script ran")
	}
}

func TestWindowsTimeoutKillsTree(t *testing.T) {
	dir := t.TempDir()
	// The batch file starts a child cmd that would outlive it, then waits.
	p := filepath.Join(dir, "hang.cmd")
	body := "@start /b cmd /c \"ping -n 300 127.0.0.1 >nul\"\r\n@ping -n 300 127.0.0.1 >nul\r\n"
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res := (&Executor{}).Run(context.Background(), Script{Name: "hang.cmd", Path: p, Dir: dir, Timeout: 500 * time.Millisecond}, nil)
	if res.Code != agentproto.ResultTimedOut {
		t.Fatalf("result = %+v", res)
	}
	// The child holds the output pipes: had it survived, Run would have waited Drain and said so.
	if res.OutputLeftOpen || time.Since(start) > 30*time.Second {
		t.Fatalf("the script's child survived: %+v", res)
	}
}

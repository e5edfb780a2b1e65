//go:build windows

package executor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/windows"

	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// execBits reports whether scripts need an execute bit; Windows has none.
const execBits = false

// command builds the process for s. Windows has no "#!" line nor /bin/sh, so viaSh is unused:
// the file extension chooses the interpreter (see scriptCommand).
func (e *Executor) command(s Script, _ bool) (*exec.Cmd, error) {
	switch {
	case s.RunAs != "":
		return nil, &userError{fmt.Errorf("script %s: runas %s is not supported on Windows agents, so the script was not run (remove runas, or run the agent's service as the account the script needs)", s.Name, s.RunAs)}
	case s.Sudo:
		return nil, &userError{fmt.Errorf("script %s has sudo: true, which is not supported on Windows agents, so the script was not run (remove sudo, and run the agent's service with the rights the script needs)", s.Name)}
	}
	path, args, cmdLine, err := scriptCommand(s.Path)
	if err != nil {
		return nil, fmt.Errorf("script %s: %w", s.Name, err)
	}
	attr := &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP, CmdLine: cmdLine}
	cmd := &exec.Cmd{Path: path, Args: args, Env: setEnv(e.baseEnv(), s.Env...), Dir: s.Dir, SysProcAttr: attr}
	return cmd, nil
}

// scriptCommand returns the program, its arguments and, when the arguments need cmd.exe's own
// quoting, the whole command line (SysProcAttr.CmdLine) for the script at path:
//
//   - .ps1: powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File PATH
//   - .bat, .cmd: cmd.exe /S /C ""PATH"" (with /S, cmd strips the outer quotes and keeps the
//     inner ones, so a path with spaces, parentheses or & still works)
//   - anything else: PATH itself, started directly (an .exe; a .sh fails as not executable)
func scriptCommand(path string) (prog string, args []string, cmdLine string, err error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".ps1":
		ps, err := powershell()
		if err != nil {
			return "", nil, "", err
		}
		return ps, []string{ps, "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-File", path}, "", nil
	case ".bat", ".cmd":
		cmdExe := systemProgram("cmd.exe")
		return cmdExe, []string{cmdExe, "/S", "/C", path}, syscall.EscapeArg(cmdExe) + ` /S /C ""` + path + `""`, nil
	default:
		return path, []string{path}, "", nil
	}
}

// systemProgram is the path of a program in the Windows system folder (System32). It is
// preferred to a PATH lookup so that a folder early in PATH cannot stand in for it.
func systemProgram(name string) string {
	dir, err := windows.GetSystemDirectory()
	if err != nil || dir == "" {
		root := os.Getenv("SystemRoot")
		if root == "" {
			root = `C:\Windows`
		}
		dir = filepath.Join(root, "System32")
	}
	return filepath.Join(dir, name)
}

// powershell finds Windows PowerShell: in the system folder, else powershell.exe or pwsh.exe
// (PowerShell 7, e.g. on Nano Server) on PATH.
func powershell() (string, error) {
	p := systemProgram(`WindowsPowerShell\v1.0\powershell.exe`)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	for _, name := range []string{"powershell.exe", "pwsh.exe"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("a .ps1 script needs PowerShell, but neither powershell.exe nor pwsh.exe is installed on this host")
}

// startFailureOS classifies the Windows errors of starting a script.
func startFailureOS(s Script, err error) (Result, bool) {
	switch {
	case errors.Is(err, windows.ERROR_BAD_EXE_FORMAT):
		return Result{Code: agentproto.ResultNotExecutable, ExitCode: -1, Message: fmt.Sprintf("script %s is not a Windows program: Windows agents run .ps1 scripts with PowerShell, .bat and .cmd scripts with cmd.exe and other files directly, so a shell script needs a .ps1, .bat or .cmd counterpart: %v", s.Name, err)}, true
	case errors.Is(err, windows.ERROR_ACCESS_DENIED):
		return Result{Code: agentproto.ResultNotExecutable, ExitCode: -1, Message: fmt.Sprintf("script %s cannot be executed (access denied: check the file and folder permissions for the agent's account): %v", s.Name, err)}, true
	}
	return Result{}, false
}

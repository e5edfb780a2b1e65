// Package executor runs one AppSpec hook script on the host the way the CodeDeploy agent does,
// without that agent's known failures. It knows nothing of deployments: the lifecycle package
// says which script to run, with which environment, and for how long.
//
// # What one Run does
//
//	check ──► start in its own process group ──► stream stdout/stderr lines ──► script exits
//	  │                   │                                                       │
//	  │           timeout or ctx cancel:                                drain output (≤ Drain)
//	  │           SIGTERM to the group, SIGKILL after Grace                        │
//	  ▼                   ▼                                                       ▼
//	ScriptMissing    TimedOut / Cancelled                       Succeeded / Failed (exit code)
//
// In detail (Unix; Windows differs as its section below says):
//
//   - The script is checked first: a missing path is ResultScriptMissing. A script without an
//     execute bit is made executable (chmod a+x), as the CodeDeploy agent does, since bundles
//     zipped on Windows lose the bit; if that fails it is ResultNotExecutable. A script that the
//     kernel refuses to exec because it has no "#!" line is run with /bin/sh, as CodeDeploy's
//     Ruby runtime does.
//   - It runs in its own process group (Setpgid) with stdin from /dev/null and the working
//     directory the caller gives (the lifecycle package passes the deployment archive root).
//   - Timeout or a cancelled context: SIGTERM goes to the whole group, then SIGKILL to the
//     group once the group is empty or Grace (default 10 s) has passed, whichever is first.
//     The result is ResultTimedOut or ResultCancelled.
//
// # Output, and the script that leaves a daemon behind
//
// stdout and stderr are separate os.Pipe pairs whose write ends are handed to the child and
// closed in the agent right after Start, so no copying goroutine of exec.Cmd is involved and
// cmd.Wait returns as soon as the script process exits. Two goroutines read the pipes line by
// line (a line is cut at agentproto.MaxLineBytes and marked) and hand each line to the caller's
// callback as it arrives.
//
// The CodeDeploy agent waits for end-of-file on the script's output, so a script that starts a
// daemon without redirecting its output (`myd &`) hangs the event until its timeout: the most
// reported agent bug. Here, once the script process has exited, the readers get Drain (default
// 1 s) to reach end-of-file. If they do not, Run returns anyway: the result notes that output
// was left open and later output is no longer delivered. The pipes are not closed under the
// daemon: a goroutine keeps reading and discarding them until the daemon closes them, so the
// daemon does not die of SIGPIPE on its next write. (If the agent itself restarts, the pipes
// close and such a daemon gets SIGPIPE on its next write; redirect daemon output to a file or
// /dev/null.)
//
// Whether that case succeeds follows CodeDeploy's meaning: starting a daemon is what
// ApplicationStart scripts are for, so a script that exits 0 while a child holds its output
// succeeds (ResultSucceeded, Result.OutputLeftOpen set and the message says so). A non-zero exit
// is ResultFailed as usual. Set Executor.FailOnOutputLeftOpen to report ResultOutputLeftOpen
// (a failure) instead of success for an exit 0 with output left open.
//
// # Environment
//
// The script inherits the agent's environment, minus the agent's own settings (SLIPWAY_*) and
// systemd's per-service variables (NOTIFY_SOCKET, WATCHDOG_*, LISTEN_*), plus the variables of
// Env: LIFECYCLE_EVENT, DEPLOYMENT_ID, APPLICATION_NAME, DEPLOYMENT_GROUP_NAME,
// DEPLOYMENT_GROUP_ID, BUNDLE_SHA256 and REVISION_ID.
//
// # runas and sudo
//
// CodeDeploy runs a script with `runas: USER` as `su USER -c SCRIPT`: su switches to the user,
// keeps the agent's environment except HOME, SHELL, USER and LOGNAME, sets PATH from
// /etc/login.defs, and loads no login profile (no ~/.profile, ~/.bash_profile or /etc/profile),
// which is why scripts that work in an interactive shell often cannot find their tools.
//
// Slipway does the equivalent without su: it looks the user up, starts the script directly with
// the user's uid, primary gid and supplementary groups (SysProcAttr.Credential), keeps the
// environment described above and sets HOME, USER, LOGNAME and SHELL from the user's account and
// PATH to a fixed default (DefaultPath). No login profile or shell rc file is loaded either; a
// script that needs one should source it itself (`. "$HOME/.profile"`). Switching users needs
// the agent to run as root; otherwise the result is an unknown error saying so (or use sudo).
// The agent's data folder must be traversable by the user, since the script runs from it.
//
// `sudo: true` (accepted by the AWS agent, undocumented by AWS) runs the script through
// `sudo -n` when the agent is not root: `sudo -n [-u USER -H] -- env VARS... SCRIPT`, passing
// the variables through env(1) because sudo resets the environment; -n makes a sudo that wants
// a password fail at once instead of hanging. When the agent runs as root, sudo is a no-op and
// the script runs directly (as USER when runas is set).
//
// # Windows
//
// The same Run works on Windows agents, with these differences (command_windows.go,
// kill_windows.go; the Unix parts are in command_unix.go and kill_unix.go):
//
//   - The file extension chooses how the script runs, since there is no "#!" line nor
//     /bin/sh: .ps1 runs as `powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass
//     -File SCRIPT` (Windows PowerShell from the system folder, else powershell.exe or pwsh.exe
//     on PATH); .bat and .cmd run as `cmd.exe /S /C ""SCRIPT""` (cmd.exe from the system
//     folder; /S with the doubled quotes keeps paths with spaces, parentheses or & whole); any
//     other file is started directly, so an .exe works and a shell script is
//     ResultNotExecutable with a message saying which extensions run. The extension test
//     ignores case. There is no execute bit to check or set.
//   - The script runs in its own process group (CREATE_NEW_PROCESS_GROUP) and in a new job
//     object: it is started suspended, assigned to the job, then resumed, so every process it
//     starts is in the job from the first instruction on. Timeout or a cancelled context
//     terminates the whole job at once (TerminateJobObject, exit code 1). There is no graceful
//     phase and Grace is unused: Ctrl+Break, the nearest thing to SIGTERM, only reaches a
//     script sharing the agent's console (not one of a service) and makes cmd.exe ask
//     "Terminate batch job?" and PowerShell enter its debugger. If the job cannot be created
//     or assigned (e.g. Windows 7 with the agent already in a job that forbids breakaway), the
//     script still runs and on timeout or cancel is ended with `taskkill /T /F /PID n`, which
//     misses children whose parent has already exited.
//   - The job is not kill-on-close: a daemon an ApplicationStart script leaves running outlives
//     the script and the agent, as on Unix; it stays in the job until it exits.
//   - runas and sudo are not supported: such a script is not run, and the result is
//     ResultUnknownError with a message naming runas (or sudo) as unsupported on Windows,
//     rather than running it as the agent's account. Run the agent's service as the account
//     the scripts need.
package executor

package executor

import (
	"os"
	"strings"
)

// Env holds the variables every hook script gets, as the spec lists them.
type Env struct {
	LifecycleEvent      string // LIFECYCLE_EVENT
	DeploymentID        string // DEPLOYMENT_ID
	ApplicationName     string // APPLICATION_NAME
	DeploymentGroupName string // DEPLOYMENT_GROUP_NAME
	DeploymentGroupID   string // DEPLOYMENT_GROUP_ID
	BundleSHA256        string // BUNDLE_SHA256
	RevisionID          string // REVISION_ID
	// HostName is the host's name in Slipway (SLIPWAY_HOST_NAME), a Slipway addition: it lets
	// one bundle keep per-host state apart, e.g. when several agents share a machine.
	HostName string
	// InstallRoot is the folder the host's installs lie under (SLIPWAY_INSTALL_ROOT), set only
	// for simulated hosts that share a machine (see lifecycle.Config.InstallRoot).
	InstallRoot string
}

// Vars renders the variables as "KEY=value" entries.
func (e Env) Vars() []string {
	vars := []string{
		"LIFECYCLE_EVENT=" + e.LifecycleEvent,
		"DEPLOYMENT_ID=" + e.DeploymentID,
		"APPLICATION_NAME=" + e.ApplicationName,
		"DEPLOYMENT_GROUP_NAME=" + e.DeploymentGroupName,
		"DEPLOYMENT_GROUP_ID=" + e.DeploymentGroupID,
		"BUNDLE_SHA256=" + e.BundleSHA256,
		"REVISION_ID=" + e.RevisionID,
		"SLIPWAY_HOST_NAME=" + e.HostName,
	}
	if e.InstallRoot != "" {
		vars = append(vars, "SLIPWAY_INSTALL_ROOT="+e.InstallRoot)
	}
	return vars
}

// hiddenPrefixes are variables of the agent itself that scripts do not inherit.
var hiddenPrefixes = []string{"SLIPWAY_", "NOTIFY_SOCKET=", "WATCHDOG_", "LISTEN_"}

func (e *Executor) baseEnv() []string {
	src := e.BaseEnv
	if src == nil {
		src = os.Environ()
	}
	out := make([]string, 0, len(src))
next:
	for _, kv := range src {
		for _, p := range hiddenPrefixes {
			if strings.HasPrefix(kv, p) {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

// setEnv sets each "KEY=value" of vars in env, replacing an earlier value.
func setEnv(env []string, vars ...string) []string {
	for _, v := range vars {
		key, _, _ := strings.Cut(v, "=")
		replaced := false
		for i, kv := range env {
			if k, _, _ := strings.Cut(kv, "="); k == key {
				env[i], replaced = v, true
			}
		}
		if !replaced {
			env = append(env, v)
		}
	}
	return env
}

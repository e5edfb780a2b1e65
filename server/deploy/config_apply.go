package deploy

import (
	"strings"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/deploy/rollout"
)

// The deployment configurations' commands. Numbers, names, versions and the payloads' JSON are
// the log format: never change them.
var (
	CmdConfigCreate = command.Define[ConfigCreatePayload](72, "config.create", 1)
	// CmdConfigDelete is the first command of the deploy range 1100-1199 (issue 15).
	CmdConfigDelete = command.Define[ConfigDeletePayload](1100, "config.delete", 1)
)

// ConfigDeletePayload removes a custom deployment configuration.
type ConfigDeletePayload struct {
	Name string `json:"name"`
}

// ConfigCreatePayload creates a custom deployment configuration.
type ConfigCreatePayload struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Value int    `json:"value"`
}

func (m *Module) applyConfigCreate(tx *state.Tx, index uint64, _ *command.Command, p ConfigCreatePayload) (any, error) {
	if err := state.ValidateName("deployment config", p.Name); err != nil {
		return nil, err
	}
	if isShortBuiltin(p.Name) { // as released: AWS names are refused by Configs.Create, not here
		return nil, fault.New(fault.Conflict, "%q is a built-in configuration", p.Name)
	}
	if err := (rollout.Config{Name: p.Name, Kind: rollout.Kind(p.Kind), Value: p.Value}).Validate(); err != nil || p.Kind == string(rollout.MostConcurrency) {
		return nil, fault.New(fault.Invalid, "minimum healthy hosts must be HOST_COUNT >= 0 or FLEET_PERCENT 0-99, not %s %d", p.Kind, p.Value)
	}
	dc := DeploymentConfig{Name: p.Name, Kind: p.Kind, Value: p.Value, CreateIndex: index}
	return dc, putConfig(tx, dc)
}

// applyConfigDelete removes a custom configuration. A built-in one cannot be deleted, and one that
// a group names is a conflict naming the groups (deployments already running keep the rule they
// copied when they were created).
func (m *Module) applyConfigDelete(tx *state.Tx, _ uint64, _ *command.Command, p ConfigDeletePayload) (any, error) {
	if isBuiltin(p.Name) {
		return nil, fault.New(fault.Conflict, "%q is a built-in configuration and cannot be deleted", p.Name)
	}
	if _, ok, err := getDeploymentConfig(tx, p.Name); err != nil || !ok {
		if err == nil {
			err = fault.New(fault.NotFound, "deployment config %q not found: see slipway config list", p.Name)
		}
		return nil, err
	}
	users, err := groupsUsing(tx, p.Name)
	if err != nil {
		return nil, err
	}
	if len(users) > 0 {
		return nil, fault.New(fault.Conflict, "deployment config %q is used by group(s) %s: give them another config first (slipway group update --config)",
			p.Name, strings.Join(users, ", "))
	}
	return nil, state.Delete(tx, bucketConfigs, p.Name)
}

package deploy

import (
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/deploy/rollout"
)

// CmdConfigCreate is the deployment configurations' command. Its number, name, version and the
// payload's JSON are the log format: never change them.
var CmdConfigCreate = command.Define[ConfigCreatePayload](72, "config.create", 1)

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
	if isBuiltin(p.Name) {
		return nil, fault.New(fault.Conflict, "%q is a built-in configuration", p.Name)
	}
	if err := (rollout.Config{Name: p.Name, Kind: rollout.Kind(p.Kind), Value: p.Value}).Validate(); err != nil || p.Kind == string(rollout.MostConcurrency) {
		return nil, fault.New(fault.Invalid, "minimum healthy hosts must be HOST_COUNT >= 0 or FLEET_PERCENT 0-99, not %s %d", p.Kind, p.Value)
	}
	dc := DeploymentConfig{Name: p.Name, Kind: p.Kind, Value: p.Value, CreateIndex: index}
	return dc, putConfig(tx, dc)
}

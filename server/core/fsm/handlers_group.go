package fsm

import (
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/deploy/rollout"
)

func isBuiltin(name string) bool {
	_, ok := rollout.Builtin(name)
	return ok
}

func configExists(tx *state.Tx, name string) error {
	if isBuiltin(name) {
		return nil
	}
	if _, ok, err := tx.GetDeploymentConfig(name); err != nil || ok {
		return err
	}
	return fault.New(fault.NotFound, "deployment config %q not found: use OneAtATime, HalfAtATime, AllAtOnce or one from slipway config list", name)
}

func applyGroupPut(tx *state.Tx, index uint64, c *command.Command) (any, error) {
	var p command.GroupPut
	if err := command.DecodePayload(c, &p); err != nil {
		return nil, err
	}
	if _, err := tx.GetApp(p.App); err != nil {
		return nil, err
	}
	if err := state.ValidateName("deployment group", p.Name); err != nil {
		return nil, err
	}
	if p.Config == "" {
		p.Config = "OneAtATime"
	}
	if err := configExists(tx, p.Config); err != nil {
		return nil, err
	}
	switch p.AutoRollback {
	case "":
		p.AutoRollback = state.RollbackOff
	case state.RollbackOff, state.RollbackOnFailure, state.RollbackOnStop:
	default:
		return nil, fault.New(fault.Invalid, "auto-rollback %q: use on-failure, on-stop or off", p.AutoRollback)
	}
	if len(p.Tags) == 0 && len(p.Hosts) == 0 {
		return nil, fault.New(fault.Invalid, "a deployment group needs tag filters or host names to find its members")
	}
	g, err := tx.GetGroup(p.App, p.Name)
	exists := err == nil
	switch {
	case p.Create && exists:
		return nil, fault.New(fault.Conflict, "deployment group %q of app %q already exists", p.Name, p.App)
	case !p.Create && !exists:
		return nil, err
	case p.Create:
		g = state.Group{ID: p.ID, App: p.App, Name: p.Name, CreateIndex: index, Members: map[string]state.Member{}}
	}
	g.Tags, g.Hosts, g.Config, g.AutoRollback, g.ModifyIndex = p.Tags, p.Hosts, p.Config, p.AutoRollback, index
	return g, tx.PutGroup(g)
}

func applyGroupDelete(tx *state.Tx, _ uint64, c *command.Command) (any, error) {
	var p command.GroupDelete
	if err := command.DecodePayload(c, &p); err != nil {
		return nil, err
	}
	return nil, tx.DeleteGroup(p.App, p.Name)
}

func applyConfigCreate(tx *state.Tx, index uint64, c *command.Command) (any, error) {
	var p command.ConfigCreate
	if err := command.DecodePayload(c, &p); err != nil {
		return nil, err
	}
	if err := state.ValidateName("deployment config", p.Name); err != nil {
		return nil, err
	}
	if isBuiltin(p.Name) {
		return nil, fault.New(fault.Conflict, "%q is a built-in configuration", p.Name)
	}
	if err := (rollout.Config{Name: p.Name, Kind: rollout.Kind(p.Kind), Value: p.Value}).Validate(); err != nil || p.Kind == string(rollout.MostConcurrency) {
		return nil, fault.New(fault.Invalid, "minimum healthy hosts must be HOST_COUNT >= 0 or FLEET_PERCENT 0-99, not %s %d", p.Kind, p.Value)
	}
	dc := state.DeploymentConfig{Name: p.Name, Kind: p.Kind, Value: p.Value, CreateIndex: index}
	return dc, tx.PutDeploymentConfig(dc)
}

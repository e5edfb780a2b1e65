package deploy

import (
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/deploy/rollout"
)

// The deployment groups' commands. Numbers, names, versions and the payloads' JSON are the log
// format: never change them.
var (
	CmdGroupPut    = command.Define[GroupPutPayload](70, "group.put", 2)
	CmdGroupDelete = command.Define[GroupDeletePayload](71, "group.delete", 1)
)

// GroupPutPayload creates a deployment group (Create) or updates an existing one.
//
// Schema versions: version 2 added HealthCheck, which it sets (nil removes the group's). A
// version 1 entry, already in logs or proposed by a server of the release before, knows no
// health check: it applies as it did then and keeps the group's health check as it is.
type GroupPutPayload struct {
	Create       bool              `json:"create"`
	ID           string            `json:"id"`
	App          string            `json:"app"`
	Name         string            `json:"name"`
	Tags         map[string]string `json:"tags,omitempty"`
	Hosts        []string          `json:"hosts,omitempty"`
	Config       string            `json:"config"`
	AutoRollback string            `json:"auto_rollback"`
	HealthCheck  *HealthCheck      `json:"health_check,omitempty"` // version 2
}

// GroupDeletePayload removes a deployment group.
type GroupDeletePayload struct {
	App  string `json:"app"`
	Name string `json:"name"`
}

func (m *Module) applyGroupPut(tx *state.Tx, index uint64, c *command.Command, p GroupPutPayload) (any, error) {
	if _, err := getApp(tx, p.App); err != nil {
		return nil, err
	}
	if err := state.ValidateName("deployment group", p.Name); err != nil {
		return nil, err
	}
	// Groups.Create/Update propose a built-in by its short name however it was named; apply keeps
	// the released rule (configExists), so entries already in logs apply as they did.
	if p.Config == "" {
		p.Config = rollout.Default
	}
	if err := configExists(tx, p.Config); err != nil {
		return nil, err
	}
	switch p.AutoRollback {
	case "":
		p.AutoRollback = RollbackOff
	case RollbackOff, RollbackOnFailure, RollbackOnStop:
	default:
		return nil, fault.New(fault.Invalid, "auto-rollback %q: use on-failure, on-stop or off", p.AutoRollback)
	}
	if len(p.Tags) == 0 && len(p.Hosts) == 0 {
		return nil, fault.New(fault.Invalid, "a deployment group needs tag filters or host names to find its members")
	}
	if c.Version >= 2 && p.HealthCheck != nil {
		if err := p.HealthCheck.validate(); err != nil {
			return nil, err
		}
	}
	g, err := getGroup(tx, p.App, p.Name)
	exists := err == nil
	switch {
	case p.Create && exists:
		return nil, fault.New(fault.Conflict, "deployment group %q of app %q already exists", p.Name, p.App)
	case !p.Create && !exists:
		return nil, err
	case p.Create:
		g = Group{ID: p.ID, App: p.App, Name: p.Name, CreateIndex: index, Members: map[string]Member{}}
	}
	g.Tags, g.Hosts, g.Config, g.AutoRollback, g.ModifyIndex = p.Tags, p.Hosts, p.Config, p.AutoRollback, index
	if c.Version >= 2 {
		g.HealthCheck = p.HealthCheck
	}
	return g, putGroup(tx, g)
}

func (m *Module) applyGroupDelete(tx *state.Tx, _ uint64, _ *command.Command, p GroupDeletePayload) (any, error) {
	return nil, deleteGroup(tx, p.App, p.Name)
}

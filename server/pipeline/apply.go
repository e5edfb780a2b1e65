package pipeline

import (
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/state"
)

// registerApply declares the commands' handlers (the engine). Owned by the engine's author.
func (m *Module) registerApply(r *module.Registry) {
	module.Handle(r, cmdCreate, applyCreate)
	module.Handle(r, cmdUpdate, applyUpdate)
	module.Handle(r, cmdDelete, applyDelete)
	module.Handle(r, cmdWebhook, applyWebhook)
	module.Handle(r, cmdTransition, applyTransition)
	module.Handle(r, cmdStart, applyStart)
	module.Handle(r, cmdTrigger, applyTrigger)
	module.Handle(r, cmdStop, applyStop)
	module.Handle(r, cmdRetry, applyRetry)
	module.Handle(r, cmdRollback, applyRollback)
	module.Handle(r, cmdActionStarted, applyActionStarted)
	module.Handle(r, cmdActionResult, applyActionResult)
	module.Handle(r, cmdApproval, applyApproval)
	module.Handle(r, cmdTimeout, applyTimeout)
}

var errEngineTODO = fault.New(fault.Unavailable, "pipelines: the engine is not built yet")

func applyCreate(tx *state.Tx, index uint64, c *command.Command, p CreatePayload) (any, error) {
	return nil, errEngineTODO
}

func applyUpdate(tx *state.Tx, index uint64, c *command.Command, p UpdatePayload) (any, error) {
	return nil, errEngineTODO
}

func applyDelete(tx *state.Tx, index uint64, c *command.Command, p DeletePayload) (any, error) {
	return nil, errEngineTODO
}

func applyWebhook(tx *state.Tx, index uint64, c *command.Command, p WebhookPayload) (any, error) {
	return nil, errEngineTODO
}

func applyTransition(tx *state.Tx, index uint64, c *command.Command, p TransitionPayload) (any, error) {
	return nil, errEngineTODO
}

func applyStart(tx *state.Tx, index uint64, c *command.Command, p StartPayload) (any, error) {
	return nil, errEngineTODO
}

func applyTrigger(tx *state.Tx, index uint64, c *command.Command, p TriggerPayload) (any, error) {
	return nil, errEngineTODO
}

func applyStop(tx *state.Tx, index uint64, c *command.Command, p StopPayload) (any, error) {
	return nil, errEngineTODO
}

func applyRetry(tx *state.Tx, index uint64, c *command.Command, p RetryPayload) (any, error) {
	return nil, errEngineTODO
}

func applyRollback(tx *state.Tx, index uint64, c *command.Command, p RollbackPayload) (any, error) {
	return nil, errEngineTODO
}

func applyActionStarted(tx *state.Tx, index uint64, c *command.Command, p ActionStartedPayload) (any, error) {
	return nil, errEngineTODO
}

func applyActionResult(tx *state.Tx, index uint64, c *command.Command, p ActionResultPayload) (any, error) {
	return nil, errEngineTODO
}

func applyApproval(tx *state.Tx, index uint64, c *command.Command, p ApprovalPayload) (any, error) {
	return nil, errEngineTODO
}

func applyTimeout(tx *state.Tx, index uint64, c *command.Command, p TimeoutPayload) (any, error) {
	return nil, errEngineTODO
}

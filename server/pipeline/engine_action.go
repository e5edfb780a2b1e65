package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/state"
)

// DefaultApprovalMinutes is a manual approval's timeout when the action sets none: 7 days, as
// CodePipeline's.
const DefaultApprovalMinutes = 7 * 24 * 60

// Bounds of what a provider's result may carry. A result over them fails the action (it is
// never refused: the driver would propose it again and again).
const (
	MaxOutputVariables = 100     // output variables of one action
	MaxVariableBytes   = 1 << 10 // bytes of one output variable's value
	MaxTextBytes       = 2 << 10 // bytes of a summary or an error (longer ones are cut)
)

// deadlineKey is an action's key in Execution.Deadlines.
func deadlineKey(stage, action string) string { return stage + "/" + action }

// approvalToken identifies one wait of a manual approval: the first 32 hex digits of the
// SHA-256 of "execution/stage/action/attempt", so a result meant for an earlier attempt names
// another token.
func approvalToken(execution, stage, action string, attempt int) string {
	h := sha256.Sum256([]byte(execution + "/" + stage + "/" + action + "/" + strconv.Itoa(attempt)))
	return hex.EncodeToString(h[:])[:32]
}

// startAction starts action ai of x's stage si in the stage's attempt: its configuration
// resolved (#{variables.x} from x.Variables, #{NS.x} from x.Namespaces) and its inputs taken
// from x.Artifacts, or it fails at once saying which reference or input is missing. A Manual
// action waits for an approval (token, expiry); every other waits for the driver.
func (g *engine) startAction(x *Execution, si, ai int) error {
	st := &x.Stages[si]
	a := &st.Actions[ai]
	ss, err := g.stageSpec(x, si)
	if err != nil {
		return err
	}
	as, err := actionSpec(ss, a.Name)
	if err != nil {
		return err
	}
	now := g.now
	*a = pub.ActionExecution{Name: a.Name, Category: a.Category, Provider: a.Provider, RunOrder: a.RunOrder,
		Status: pub.PipelineInProgress, Attempt: st.Attempt, StartTime: &now}
	g.touch(x)
	cfg := map[string]string{}
	lookup := func(ns, name string) (string, bool) {
		if ns == "variables" {
			v, ok := x.Variables[name]
			return v, ok
		}
		v, ok := x.Namespaces[ns][name]
		return v, ok
	}
	for _, k := range slices.Sorted(maps.Keys(as.Configuration)) {
		v, err := pipelinespec.Resolve(as.Configuration[k], lookup)
		if err != nil {
			g.failAction(x, st, a, fmt.Sprintf("configuration %s: %v", k, err))
			return nil
		}
		cfg[k] = v
	}
	if len(cfg) > 0 {
		a.Configuration = cfg
	}
	for i, cmd := range as.Commands {
		v, err := pipelinespec.Resolve(cmd, lookup)
		if err != nil {
			g.failAction(x, st, a, fmt.Sprintf("commands[%d]: %v", i, err))
			return nil
		}
		a.Commands = append(a.Commands, v)
	}
	for _, in := range as.InputArtifacts {
		art, ok := x.Artifacts[in.Name]
		if !ok {
			g.failAction(x, st, a, fmt.Sprintf("input artifact %s was not produced by an earlier action of this execution", in.Name))
			return nil
		}
		a.Inputs = append(a.Inputs, art)
	}
	minutes := as.TimeoutInMinutes
	if as.ActionTypeID.Provider == pipelinespec.ProviderManual {
		if minutes <= 0 {
			minutes = DefaultApprovalMinutes
		}
		exp := now.Add(time.Duration(minutes) * time.Minute)
		a.Approval = &pub.ApprovalState{Token: approvalToken(x.ID, st.Name, a.Name, st.Attempt), Expires: exp,
			CustomData: cfg["CustomData"], ExternalEntityLink: cfg["ExternalEntityLink"]}
	}
	if minutes > 0 {
		if x.Deadlines == nil {
			x.Deadlines = map[string]time.Time{}
		}
		x.Deadlines[deadlineKey(st.Name, a.Name)] = now.Add(time.Duration(minutes) * time.Minute)
	}
	return nil
}

// failAction ends a Failed with msg (the stage decides what follows: progress).
func (g *engine) failAction(x *Execution, st *pub.StageExecution, a *pub.ActionExecution, msg string) {
	now := g.now
	a.Status, a.Error, a.EndTime = pub.PipelineFailed, cut(msg), &now
	delete(x.Deadlines, deadlineKey(st.Name, a.Name))
	g.touch(x)
}

// succeedAction ends a Succeeded with the provider's outputs and output variables: each
// output artifact the definition names must be among outputs (they become x's artifacts, whose
// blobs x references); the variables become the action's namespace's. A result missing an
// output or over the bounds fails the action instead.
func (g *engine) succeedAction(x *Execution, si, ai int, outputs []pub.PipelineArtifact, vars map[string]string) error {
	st := &x.Stages[si]
	a := &st.Actions[ai]
	ss, err := g.stageSpec(x, si)
	if err != nil {
		return err
	}
	as, err := actionSpec(ss, a.Name)
	if err != nil {
		return err
	}
	if len(vars) > MaxOutputVariables {
		g.failAction(x, st, a, fmt.Sprintf("the action gave %d output variables, over the maximum of %d", len(vars), MaxOutputVariables))
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		if len(vars[k]) > MaxVariableBytes {
			g.failAction(x, st, a, fmt.Sprintf("output variable %s is over %d bytes", k, MaxVariableBytes))
			return nil
		}
	}
	var outs []pub.PipelineArtifact
	for _, want := range as.OutputArtifacts {
		found := false
		for _, o := range outputs {
			if o.Name == want.Name {
				outs, found = append(outs, o), true
				break
			}
		}
		if !found {
			g.failAction(x, st, a, fmt.Sprintf("the action gave no output artifact %s", want.Name))
			return nil
		}
	}
	now := g.now
	a.Status, a.EndTime, a.Outputs = pub.PipelineSucceeded, &now, outs
	if len(vars) > 0 {
		a.Variables = vars
	}
	delete(x.Deadlines, deadlineKey(st.Name, a.Name))
	for _, o := range outs {
		if x.Artifacts == nil {
			x.Artifacts = map[string]pub.PipelineArtifact{}
		}
		x.Artifacts[o.Name] = o
		g.refBlob(x.ID, o.SHA256)
	}
	if as.Namespace != "" && len(vars) > 0 {
		if x.Namespaces == nil {
			x.Namespaces = map[string]map[string]string{}
		}
		x.Namespaces[as.Namespace] = vars
	}
	g.touch(x)
	return nil
}

// blobOwner is how an execution references the blobs of its artifacts (state.Blobs.AddRef):
// the blob store keeps them while the execution's record exists.
func blobOwner(execution string) string { return "pipeline:" + execution }

// refBlob records that execution references blob sha (none for an empty one).
func (g *engine) refBlob(execution, sha string) {
	if sha == "" {
		return
	}
	g.op(func(tx *state.Tx) error { return tx.Blobs().AddRef(sha, blobOwner(execution)) })
}

// cut shortens s to at most MaxTextBytes (and "..."), never inside a UTF-8 sequence.
func cut(s string) string {
	if len(s) <= MaxTextBytes {
		return s
	}
	return strings.ToValidUTF8(s[:MaxTextBytes], "") + "..."
}

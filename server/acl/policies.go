package acl

import (
	"context"
	"encoding/json"
	"strings"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/policy"
	"github.com/slipwayhq/slipway/server/core/state"
)

// ParseDocument parses and compiles a policy document given as JSON or YAML text and returns it
// normalized as JSON. Errors are the parser's diagnostics (line, path, what to fix).
func ParseDocument(name, text string) (string, *policy.Policy, error) {
	if len(text) > MaxPolicyDocumentBytes {
		return "", nil, fault.New(fault.Invalid, "the policy document is %d bytes; at most %d are allowed", len(text), MaxPolicyDocumentBytes)
	}
	if strings.TrimSpace(text) == "" {
		return "", nil, fault.New(fault.Invalid, "the policy document is empty: give a JSON or YAML document with Version and Statement")
	}
	doc, err := policy.Parse([]byte(text))
	if err != nil {
		return "", nil, fault.New(fault.Invalid, "%v", err)
	}
	p, err := policy.Compile(name, doc)
	if err != nil {
		return "", nil, fault.New(fault.Invalid, "%v", err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", nil, fault.New(fault.Internal, "encode the policy: %v", err)
	}
	return string(b), p, nil
}

func policyView(p Policy) pub.Policy {
	ct, ut := p.CreateTime, p.UpdateTime
	return pub.Policy{Name: p.Name, Description: p.Description, Version: p.Version, Document: json.RawMessage(p.Document),
		CreateTime: &ct, UpdateTime: &ut, CreateIndex: p.CreateIndex, ModifyIndex: p.ModifyIndex}
}

func managedView(name string) (pub.Policy, bool) {
	p, ok := policy.Managed(name)
	if !ok {
		return pub.Policy{}, false
	}
	b, _ := json.Marshal(p.Document())
	return pub.Policy{Name: name, Managed: true, Document: b}, true
}

// CreatePolicy creates a customer policy.
func (s *Identity) CreatePolicy(ctx context.Context, req pub.PolicyPutRequest) (pub.Policy, error) {
	if err := state.ValidateName("policy name", req.Name); err != nil {
		return pub.Policy{}, err
	}
	if req.Description != nil {
		if err := state.ValidateDescription("policy", *req.Description); err != nil {
			return pub.Policy{}, err
		}
	}
	doc, _, err := ParseDocument(req.Name, req.Document)
	if err != nil {
		return pub.Policy{}, err
	}
	return policyResult(propose(ctx, s, CmdPolicyCreate, PolicyPutPayload{Name: req.Name, Description: req.Description, Document: doc}))
}

// UpdatePolicy replaces a customer policy's document (its version counts up).
func (s *Identity) UpdatePolicy(ctx context.Context, name string, req pub.PolicyPutRequest) (pub.Policy, error) {
	if _, ok := policy.Managed(name); ok {
		return pub.Policy{}, fault.New(fault.Invalid, "%s is a built-in managed policy and cannot be changed: create a customer policy", name)
	}
	if req.Description != nil {
		if err := state.ValidateDescription("policy", *req.Description); err != nil {
			return pub.Policy{}, err
		}
	}
	doc, _, err := ParseDocument(name, req.Document)
	if err != nil {
		return pub.Policy{}, err
	}
	return policyResult(propose(ctx, s, CmdPolicyUpdate, PolicyPutPayload{Name: name, Description: req.Description, Document: doc}))
}

func policyResult(res command.Result, err error) (pub.Policy, error) {
	if err != nil {
		return pub.Policy{}, err
	}
	p, err := command.Data[Policy](res)
	return policyView(p), err
}

// GetPolicy returns a managed or customer policy, document included.
func (s *Identity) GetPolicy(_ context.Context, name string) (pub.Policy, error) {
	if v, ok := managedView(name); ok {
		return v, nil
	}
	var p Policy
	err := s.view(func(tx *state.Tx) error {
		var err error
		p, err = getPolicy(tx, name)
		return err
	})
	return policyView(p), err
}

// ListPolicies returns the managed policies, then a page of customer policies. The cursor of the
// first page is empty; later pages hold customer policies only.
func (s *Identity) ListPolicies(_ context.Context, page api.Page) ([]pub.Policy, string, error) {
	var out []pub.Policy
	if page.After == "" {
		for _, name := range policy.ManagedNames() {
			v, _ := managedView(name)
			v.Document = nil
			out = append(out, v)
		}
	}
	var next string
	err := s.view(func(tx *state.Tx) error {
		list, n, err := state.List[Policy](tx, bucketPolicies, page.After, page.Limit, nil)
		for _, p := range list {
			v := policyView(p)
			v.Document = nil
			out = append(out, v)
		}
		next = n
		return err
	})
	return out, next, err
}

// DeletePolicy deletes a customer policy that nothing has attached.
func (s *Identity) DeletePolicy(ctx context.Context, name string) error {
	if _, ok := policy.Managed(name); ok {
		return fault.New(fault.Invalid, "%s is a built-in managed policy and cannot be deleted", name)
	}
	_, err := propose(ctx, s, CmdPolicyDelete, NamePayload{Name: name})
	return err
}

// Attach attaches (or detaches) a policy to exactly one principal of req.
func (s *Identity) Attach(ctx context.Context, name string, req pub.PolicyAttachRequest, attach bool) error {
	p := PolicyAttachPayload{Policy: name, Attach: attach}
	n := 0
	for _, c := range []struct{ kind, target string }{{KindUser, req.User}, {KindGroup, req.Group}, {KindToken, req.Token}, {KindRole, req.Role}} {
		if c.target != "" {
			p.Kind, p.Target = c.kind, c.target
			n++
		}
	}
	if n != 1 {
		return fault.New(fault.Invalid, "name exactly one principal: a user, a group, a token (accessor) or a role")
	}
	_, err := propose(ctx, s, CmdPolicyAttach, p)
	return err
}

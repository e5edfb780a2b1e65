package review

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
)

// AddRule adds (or replaces, by name) an approval rule of an open pull request.
func (s *Service) AddRule(ctx context.Context, id uint64, actor string, r pub.PullRequestRule) (pub.PullRequest, error) {
	res, err := command.Propose(ctx, s.m.core.Cluster, cmdRule, s.m.core.Now(), RulePayload{ID: id, Name: r.Name, Approvals: r.Approvals, Pool: r.Pool, Actor: actor})
	return answer(res, err)
}

// Override overrides a pull request's approval rules as actor (override), or revokes the
// override. The command's audit record names who did it.
func (s *Service) Override(ctx context.Context, id uint64, actor string, override bool) (pub.PullRequest, error) {
	res, err := command.Propose(ctx, s.m.core.Cluster, cmdOverride, s.m.core.Now(), OverridePayload{ID: id, Override: override, Actor: actor})
	return answer(res, err)
}

// DeleteRule removes an approval rule of an open pull request.
func (s *Service) DeleteRule(ctx context.Context, id uint64, actor, name string) error {
	_, err := command.Propose(ctx, s.m.core.Cluster, cmdRule, s.m.core.Now(), RulePayload{ID: id, Name: name, Delete: true, Actor: actor})
	return err
}

// Evaluate says which of a pull request's approval rules hold for its current revision.
func (s *Service) Evaluate(_ context.Context, id uint64) (pub.PullRequestEvaluation, error) {
	p, err := s.Record(id)
	if err != nil {
		return pub.PullRequestEvaluation{}, err
	}
	ok, rules := s.m.evaluate(p)
	return pub.PullRequestEvaluation{Approved: ok, OverriddenBy: p.OverrideBy, Rules: rules}, nil
}

// evaluate checks p's rules against the approvals of its current revision (stale ones do not
// count): a rule holds with at least its number of approvers in its pool. The rules are p's own,
// then those of the approval rule templates associated with its repository whose branches match
// its destination (Origin template, named after the template), read now.
func (m *Module) evaluate(p PR) (bool, []pub.PullRequestRuleState) {
	out := make([]pub.PullRequestRuleState, 0, len(p.Rules))
	for _, r := range p.Rules {
		out = append(out, pub.PullRequestRuleState{PullRequestRule: pub.PullRequestRule{Name: r.Name, Approvals: r.Approvals, Pool: r.Pool}})
	}
	out = append(out, m.templateRules(p)...)
	cur := p.Current().Number
	all := true
	for i := range out {
		st := &out[i]
		st.ApprovedBy = []string{}
		for _, a := range p.Approvals {
			if a.Revision == cur && m.inPool(a.User, st.Pool) {
				st.ApprovedBy = append(st.ApprovedBy, a.User)
			}
		}
		st.Satisfied = len(st.ApprovedBy) >= st.Approvals
		all = all && st.Satisfied
	}
	return all || p.OverrideBy != "", out
}

// inPool says whether user is one of pool's entries: the user's name, a group of theirs
// (group:NAME), or a glob matching the name.
func (m *Module) inPool(user string, pool []string) bool {
	var groups []string
	for _, e := range pool {
		if g, ok := strings.CutPrefix(e, "group:"); ok {
			if groups == nil && m.Groups != nil {
				groups = append(m.Groups(user), "")
			}
			if slices.Contains(groups, g) {
				return true
			}
			continue
		}
		if e == user {
			return true
		}
		if ok, _ := path.Match(e, user); ok && strings.ContainsAny(e, "*?[") {
			return true
		}
	}
	return false
}

// unmet is the refusal of a merge while rules do not hold, naming each.
func unmet(p PR, rules []pub.PullRequestRuleState) error {
	var parts []string
	for _, r := range rules {
		if !r.Satisfied {
			if r.Origin == pub.RuleOriginTemplate {
				r.Name = "approval rule template " + r.Name
			}
			parts = append(parts, fmt.Sprintf("%s needs %d approvals of revision %d from %s and has %d", r.Name, r.Approvals, p.Current().Number, strings.Join(r.Pool, ", "), len(r.ApprovedBy)))
		}
	}
	return fault.New(fault.Conflict, "pull request %d does not meet its approval rules: %s", p.ID, strings.Join(parts, "; "))
}

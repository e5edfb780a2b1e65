package policy

import (
	"fmt"
	"strings"
)

// Request is what is being authorized: an action ("codedeploy:CreateDeployment"), the resource
// it acts on (a resource name in whatever spelling the routes use) and the request context.
type Request struct {
	Action   string
	Resource string
	// Context holds the request's condition keys, one value each (a key given twice: the first
	// counts). Keys compare case-insensitively; values are text, as in a policy: "true",
	// "10.1.2.3", "2026-12-06T21:00:00Z", "300".
	Context []ContextValue
	// Unknown names a condition key whose value is not known yet ("" for none), to ask whether
	// SOME value of it could be allowed: a condition on it holds in an Allow statement and
	// fails in a Deny statement, so a Deny that depends on the value never decides. Allowed is
	// then "may be allowed for some value" (an over-approximation: each value must still be
	// decided on its own); a denial means no value can be allowed. A git push uses it for
	// slipway:ReferenceName before it knows which refs the push moves.
	Unknown string
}

// ContextValue is one condition key's value in a Request.
type ContextValue struct {
	Key   string
	Value string
}

// lookup finds a context key, case-insensitively, without allocating.
func (r *Request) lookup(key string) (string, bool) {
	for i := range r.Context {
		if strings.EqualFold(r.Context[i].Key, key) {
			return r.Context[i].Value, true
		}
	}
	return "", false
}

// Outcome is how a request was decided.
type Outcome uint8

const (
	// ImplicitDeny: no statement allowed the request (nor denied it).
	ImplicitDeny Outcome = iota
	// Allowed: a statement allowed it and none denied it.
	Allowed
	// ExplicitDeny: a Deny statement applied; no Allow can override it.
	ExplicitDeny
	// Oversized: the request itself is over the bounds (MaxRequestBytes, MaxContextValues) and
	// was denied without looking at any statement, so matching cost stays bounded.
	Oversized
)

// Bounds on a Request. Evaluate denies a request over them (Outcome Oversized): failing closed
// keeps a long resource name from making wildcard matching expensive, and never lets a
// NotResource or negated condition allow what it could not fully compare.
const (
	MaxRequestBytes  = 4096 // the action, the resource, and each context key and value
	MaxContextValues = 64   // entries in Request.Context
)

func (o Outcome) String() string {
	switch o {
	case Allowed:
		return "allowed"
	case ExplicitDeny:
		return "explicitly denied"
	case Oversized:
		return "denied"
	}
	return "implicitly denied"
}

// Decision is Evaluate's answer. For Allowed and ExplicitDeny it names the deciding statement:
// the policy's name and its position among the policies given (PolicyIndex), the statement's
// index in its document and its Sid. For ImplicitDeny and Oversized PolicyIndex and Statement
// are -1. A
// Decision names where the rule is, never what it says, so a 403 built from it discloses no
// policy contents.
type Decision struct {
	Outcome     Outcome
	Policy      string
	PolicyIndex int
	Statement   int
	Sid         string
}

// Allowed reports whether the request may proceed.
func (d Decision) Allowed() bool { return d.Outcome == Allowed }

// String describes the decision for `iam simulate`: "allowed by policy "P" statement 2 (Sid
// "X")", "explicitly denied by ...", or "implicitly denied: no statement allows it".
func (d Decision) String() string {
	switch d.Outcome {
	case ImplicitDeny:
		return "implicitly denied: no statement allows it"
	case Oversized:
		return fmt.Sprintf("denied: the request's action, resource or context is over the bounds (%d bytes each, %d context values)", MaxRequestBytes, MaxContextValues)
	}
	s := fmt.Sprintf("%s by policy %q statement %d", d.Outcome, d.Policy, d.Statement)
	if d.Sid != "" {
		s += fmt.Sprintf(" (Sid %q)", d.Sid)
	}
	return s
}

// Evaluate decides req against every policy that applies to the principal (its own and its
// groups'; a token's narrowing policy is a separate boundary the caller evaluates on its own,
// requiring both to allow), in AWS's order:
// any applicable Deny statement decides (the first in policy then statement order is named);
// otherwise the first applicable Allow decides; otherwise the request is implicitly denied.
// Nil policies are skipped. Evaluate allocates nothing and is safe for concurrent use.
//
// A statement applies when its action element, resource element and every condition entry
// hold. Actions match case-insensitively; resources and string conditions case-sensitively;
// '*' and '?' are wildcards in Action/NotAction, Resource/NotResource and StringLike values.
func Evaluate(req Request, policies ...*Policy) Decision {
	if oversized(&req) {
		return Decision{Outcome: Oversized, PolicyIndex: -1, Statement: -1}
	}
	allow := Decision{Outcome: ImplicitDeny, PolicyIndex: -1, Statement: -1}
	for pi, p := range policies {
		if p == nil {
			continue
		}
		for si := range p.stmts {
			st := &p.stmts[si]
			if !st.deny && allow.Outcome == Allowed {
				continue // only a Deny can change the answer now
			}
			if !st.applies(&req) {
				continue
			}
			d := Decision{Outcome: Allowed, Policy: p.name, PolicyIndex: pi, Statement: st.index, Sid: st.sid}
			if st.deny {
				d.Outcome = ExplicitDeny
				return d
			}
			allow = d
		}
	}
	return allow
}

func oversized(req *Request) bool {
	if len(req.Action) > MaxRequestBytes || len(req.Resource) > MaxRequestBytes || len(req.Context) > MaxContextValues || len(req.Unknown) > MaxRequestBytes {
		return true
	}
	for i := range req.Context {
		if len(req.Context[i].Key) > MaxRequestBytes || len(req.Context[i].Value) > MaxRequestBytes {
			return true
		}
	}
	return false
}

func (st *statement) applies(req *Request) bool {
	if anyMatch(st.actions, req.Action, true) == st.notAction {
		return false
	}
	if anyMatch(st.resources, req.Resource, false) == st.notResource {
		return false
	}
	for i := range st.conds {
		if req.Unknown != "" && strings.EqualFold(st.conds[i].key, req.Unknown) {
			if st.deny {
				return false
			}
			continue
		}
		if !st.conds[i].holds(req) {
			return false
		}
	}
	return true
}

func anyMatch(patterns []pattern, s string, fold bool) bool {
	for i := range patterns {
		if patterns[i].matches(s, fold) {
			return true
		}
	}
	return false
}

// holds evaluates one condition entry. The request's value matches when it compares true with
// any of the entry's values; a negated operator (StringNotEquals, NotIpAddress, ...) holds when
// it matches none. A key absent from the request: the entry holds for an ...IfExists operator
// and for a negated operator (nothing equals the absent value), and fails for every other
// operator; Null holds when its value says whether the key is absent (true) or present (false).
// A request value that does not parse as the operator's type (a number, date, address,
// boolean) matches no value.
func (c *condition) holds(req *Request) bool {
	v, ok := req.lookup(c.key)
	if c.kind == opNull {
		for _, want := range c.bools {
			if want == !ok {
				return true
			}
		}
		return false
	}
	if !ok {
		return c.ifExists || c.negate
	}
	return c.matches(v) != c.negate
}

func (c *condition) matches(v string) bool {
	switch c.kind {
	case opStringEquals:
		for _, s := range c.strs {
			if s == v {
				return true
			}
		}
	case opStringEqualsIgnoreCase:
		for _, s := range c.strs {
			if strings.EqualFold(s, v) {
				return true
			}
		}
	case opStringLike:
		for _, s := range c.strs {
			if match(s, v, false) {
				return true
			}
		}
	case opBool:
		b, ok := parseBool(v)
		if !ok {
			return false
		}
		for _, want := range c.bools {
			if want == b {
				return true
			}
		}
	case opNumericEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
		f, ok := parseNumber(v)
		if !ok {
			return false
		}
		for _, n := range c.nums {
			if compareNumber(c.kind, f, n) {
				return true
			}
		}
	case opDateLessThan, opDateGreaterThan:
		t, ok := parseDate(v)
		if !ok {
			return false
		}
		for _, limit := range c.times {
			if (c.kind == opDateLessThan && t.Before(limit)) || (c.kind == opDateGreaterThan && t.After(limit)) {
				return true
			}
		}
	case opIPAddress:
		a, ok := parseAddr(v)
		if !ok {
			return false
		}
		for _, p := range c.prefixes {
			if p.Contains(a) {
				return true
			}
		}
	}
	return false
}

// compareNumber compares the request's value got with the policy's want.
func compareNumber(kind opKind, got, want float64) bool {
	switch kind {
	case opNumericEquals:
		return got == want
	case opNumericLessThan:
		return got < want
	case opNumericLessThanEquals:
		return got <= want
	case opNumericGreaterThan:
		return got > want
	case opNumericGreaterThanEquals:
		return got >= want
	}
	return false
}

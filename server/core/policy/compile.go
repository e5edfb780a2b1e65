package policy

import (
	"net/netip"
	"strings"
	"time"
)

// Policy is a compiled, named document: what Evaluate reads. It is immutable after Compile and
// safe for concurrent use. Build it once per stored policy version and keep it; evaluating it
// allocates nothing.
type Policy struct {
	name  string
	doc   *Document
	stmts []statement
}

// Name is the name given to Compile; a Decision names the policy that decided by it.
func (p *Policy) Name() string { return p.name }

// Document is the document the policy was compiled from. Callers must not modify it.
func (p *Policy) Document() *Document { return p.doc }

// statement is a compiled Statement: patterns kept as strings (the matcher needs no other
// form), condition values parsed to the type their operator compares.
type statement struct {
	index       int
	sid         string
	deny        bool
	notAction   bool
	actions     []pattern
	notResource bool
	resources   []pattern
	conds       []condition
}

type condition struct {
	kind     opKind
	negate   bool
	ifExists bool
	key      string
	strs     []string // string operators
	bools    []bool
	nums     []float64
	times    []time.Time
	prefixes []netip.Prefix
}

// Compile checks doc as Parse does and compiles it under name (how a Decision will name it:
// "AdministratorAccess", "user/alice/deploy-shop", ...). Errors are an *Error with diagnostics
// by field path, as Parse's. The Policy keeps doc; the caller must not modify doc afterwards.
func Compile(name string, doc *Document) (*Policy, error) {
	ds := &diags{}
	if doc == nil {
		ds.add("", "no document")
		return nil, ds.err()
	}
	check(doc, ds)
	if err := ds.err(); err != nil {
		return nil, err
	}
	p := &Policy{name: name, doc: doc, stmts: make([]statement, len(doc.Statement))}
	for i, st := range doc.Statement {
		cs := statement{index: i, sid: st.Sid, deny: st.Effect == EffectDeny}
		actions, resources := st.Action, st.Resource
		if st.NotAction != nil {
			actions, cs.notAction = st.NotAction, true
		}
		if st.NotResource != nil {
			resources, cs.notResource = st.NotResource, true
		}
		cs.actions = compilePatterns(actions)
		cs.resources = compilePatterns(resources)
		for _, c := range st.Condition {
			cs.conds = append(cs.conds, compileCondition(c))
		}
		p.stmts[i] = cs
	}
	return p, nil
}

func compilePatterns(list []string) []pattern {
	out := make([]pattern, len(list))
	for i, s := range list {
		out[i] = compilePattern(strings.Clone(s))
	}
	return out
}

// compileCondition parses a checked condition's values; check has already refused any that
// do not parse.
func compileCondition(c Condition) condition {
	spec, ifExists, _ := lookupOperator(c.Operator)
	cc := condition{kind: spec.kind, negate: spec.negate, ifExists: ifExists, key: c.Key}
	for _, v := range c.Values {
		switch spec.kind {
		case opBool, opNull:
			b, _ := parseBool(v)
			cc.bools = append(cc.bools, b)
		case opNumericEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
			f, _ := parseNumber(v)
			cc.nums = append(cc.nums, f)
		case opDateLessThan, opDateGreaterThan:
			t, _ := parseDate(v)
			cc.times = append(cc.times, t)
		case opIPAddress:
			p, _ := parsePrefix(v)
			cc.prefixes = append(cc.prefixes, p)
		default:
			cc.strs = append(cc.strs, strings.Clone(v))
		}
	}
	return cc
}

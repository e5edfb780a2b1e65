package policy

import (
	"fmt"
	"regexp"
	"testing"
)

// benchPolicies builds a principal's 10 policies of 20 statements each: mostly Allows over
// other applications (the statements a request must still look at), one Deny per policy, a
// condition on every fourth statement, and in the last policy the Allow that decides.
func benchPolicies(t testing.TB) []*Policy {
	t.Helper()
	var out []*Policy
	for pi := range 10 {
		doc := &Document{Version: VersionAWS}
		for si := range 20 {
			st := Statement{
				Sid:      fmt.Sprintf("P%dS%d", pi, si),
				Effect:   EffectAllow,
				Action:   []string{"codedeploy:Get*", "codedeploy:List*", fmt.Sprintf("codedeploy:Create%d*", si)},
				Resource: []string{fmt.Sprintf("srn:slipway:codedeploy:app/app-%d-%d", pi, si), fmt.Sprintf("srn:slipway:codedeploy:app/app-%d-%d/group/*", pi, si)},
			}
			switch {
			case si == 19:
				st.Effect = EffectDeny
				st.Action = []string{"codedeploy:Delete*"}
				st.Resource = []string{"srn:slipway:codedeploy:app/*/group/prod"}
			case si%4 == 0:
				st.Condition = []Condition{
					{Operator: "Bool", Key: KeyMultiFactorAuthPresent, Values: []string{"true"}},
					{Operator: "IpAddress", Key: KeySourceIP, Values: []string{"10.0.0.0/8", "192.168.0.0/16"}},
				}
			}
			if pi == 9 && si == 10 {
				st.Action = []string{"codedeploy:CreateDeployment"}
				st.Resource = []string{"srn:slipway:codedeploy:app/shop/group/*"}
			}
			doc.Statement = append(doc.Statement, st)
		}
		p, err := Compile(fmt.Sprintf("policy-%d", pi), doc)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

var benchContext = []ContextValue{
	{Key: KeySourceIP, Value: "10.1.2.3"},
	{Key: KeyMultiFactorAuthPresent, Value: "true"},
	{Key: KeyCurrentTime, Value: "2026-12-06T21:00:00Z"},
}

// benchRequests: one allowed by the last policy, one implicitly denied (every statement
// looked at), one explicitly denied.
func benchRequests() []Request {
	return []Request{
		{Action: "codedeploy:CreateDeployment", Resource: "srn:slipway:codedeploy:app/shop/group/web", Context: benchContext},
		{Action: "codedeploy:GetApplication", Resource: "srn:slipway:codedeploy:app/web", Context: benchContext},
		{Action: "codedeploy:DeleteDeploymentGroup", Resource: "srn:slipway:codedeploy:app/shop/group/prod", Context: benchContext},
	}
}

// BenchmarkEvaluate10x20 is one authorization (the three requests in turn) for a principal
// with 10 policies of 20 statements.
func BenchmarkEvaluate10x20(b *testing.B) {
	policies := benchPolicies(b)
	reqs := benchRequests()
	want := []Outcome{Allowed, ImplicitDeny, ExplicitDeny}
	for i, r := range reqs {
		if got := Evaluate(r, policies...).Outcome; got != want[i] {
			b.Fatalf("request %d: %v, want %v", i, got, want[i])
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		Evaluate(reqs[i%len(reqs)], policies...)
		i++
	}
}

// naivePolicy is the reference: the same policies with every action and resource pattern
// compiled to a regexp once (anchored; '*' → .*, '?' → .; (?i) for actions), evaluated the
// same way. The conditions use the package's own evaluator, so the ratio measures matching.
type naivePolicy struct {
	stmts []naiveStatement
}

type naiveStatement struct {
	deny      bool
	actions   []*regexp.Regexp
	resources []*regexp.Regexp
	conds     []condition
}

func naivePolicies(policies []*Policy) []naivePolicy {
	var out []naivePolicy
	for _, p := range policies {
		var np naivePolicy
		for i, st := range p.stmts {
			ns := naiveStatement{deny: st.deny, conds: st.conds}
			for _, a := range p.doc.Statement[i].Action {
				ns.actions = append(ns.actions, globRegexp(a, true))
			}
			for _, r := range p.doc.Statement[i].Resource {
				ns.resources = append(ns.resources, globRegexp(r, false))
			}
			np.stmts = append(np.stmts, ns)
		}
		out = append(out, np)
	}
	return out
}

func naiveEvaluate(req Request, policies []naivePolicy) Outcome {
	outcome := ImplicitDeny
	for _, p := range policies {
		for _, st := range p.stmts {
			if !naiveAny(st.actions, req.Action) || !naiveAny(st.resources, req.Resource) {
				continue
			}
			ok := true
			for i := range st.conds {
				ok = ok && st.conds[i].holds(&req)
			}
			if !ok {
				continue
			}
			if st.deny {
				return ExplicitDeny
			}
			outcome = Allowed
		}
	}
	return outcome
}

func naiveAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// BenchmarkEvaluate10x20Regexp is the reference for BenchmarkEvaluate10x20: the same requests
// against the same policies with precompiled regular expressions.
func BenchmarkEvaluate10x20Regexp(b *testing.B) {
	policies := naivePolicies(benchPolicies(b))
	reqs := benchRequests()
	want := []Outcome{Allowed, ImplicitDeny, ExplicitDeny}
	for i, r := range reqs {
		if got := naiveEvaluate(r, policies); got != want[i] {
			b.Fatalf("request %d: %v, want %v", i, got, want[i])
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		naiveEvaluate(reqs[i%len(reqs)], policies)
		i++
	}
}

// BenchmarkParse is one Parse of a 20-statement JSON document (not on the request path: a
// policy is parsed when it is stored).
func BenchmarkParse(b *testing.B) {
	src := []byte(`{"Version": "2012-10-17", "Statement": [`)
	for i := range 20 {
		if i > 0 {
			src = append(src, ',')
		}
		src = fmt.Appendf(src, `{"Sid": "S%d", "Effect": "Allow", "Action": ["codedeploy:Get*", "codedeploy:List*"], "Resource": "app/shop-%d/*", "Condition": {"IpAddress": {"slipway:SourceIp": "10.0.0.0/8"}}}`, i, i)
	}
	src = append(src, "]}"...)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(src); err != nil {
			b.Fatal(err)
		}
	}
}

package policy

import (
	"strings"
	"testing"
)

func mustParse(t testing.TB, name, src string) *Policy {
	t.Helper()
	doc, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	p, err := Compile(name, doc)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return p
}

func TestEvaluateDenyOverridesAllowAcrossDocuments(t *testing.T) {
	user := mustParse(t, "user/alice/read-shop", `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "ReadShop", "Effect": "Allow", "Action": ["codedeploy:Get*", "codedeploy:List*"], "Resource": ["srn:slipway:codedeploy:app/shop", "srn:slipway:codedeploy:app/shop/*"]},
    {"Sid": "DeployShop", "Effect": "Allow", "Action": "codedeploy:CreateDeployment", "Resource": "srn:slipway:codedeploy:app/shop/*"}
  ]
}`)
	group := mustParse(t, "group/contractors/no-prod", `
Version: 2012-10-17
Statement:
  - Sid: NoProd
    Effect: Deny
    Action: codedeploy:*
    Resource: srn:slipway:codedeploy:app/*/group/prod
`)
	for _, tc := range []struct {
		action, resource string
		want             Decision
	}{
		{"codedeploy:GetApplication", "srn:slipway:codedeploy:app/shop",
			Decision{Outcome: Allowed, Policy: "user/alice/read-shop", PolicyIndex: 0, Statement: 0, Sid: "ReadShop"}},
		{"CodeDeploy:listDeploymentGroups", "srn:slipway:codedeploy:app/shop/group/web", // actions fold case
			Decision{Outcome: Allowed, Policy: "user/alice/read-shop", PolicyIndex: 0, Statement: 0, Sid: "ReadShop"}},
		{"codedeploy:GetApplication", "srn:slipway:codedeploy:app/web",
			Decision{Outcome: ImplicitDeny, PolicyIndex: -1, Statement: -1}},
		{"codedeploy:GetApplication", "srn:slipway:codedeploy:app/Shop", // resources do not
			Decision{Outcome: ImplicitDeny, PolicyIndex: -1, Statement: -1}},
		{"codedeploy:DeleteApplication", "srn:slipway:codedeploy:app/shop",
			Decision{Outcome: ImplicitDeny, PolicyIndex: -1, Statement: -1}},
		{"codedeploy:CreateDeployment", "srn:slipway:codedeploy:app/shop/group/staging",
			Decision{Outcome: Allowed, Policy: "user/alice/read-shop", PolicyIndex: 0, Statement: 1, Sid: "DeployShop"}},
		// The user's policy allows it; the group's Deny wins.
		{"codedeploy:CreateDeployment", "srn:slipway:codedeploy:app/shop/group/prod",
			Decision{Outcome: ExplicitDeny, Policy: "group/contractors/no-prod", PolicyIndex: 1, Statement: 0, Sid: "NoProd"}},
		{"codedeploy:GetDeploymentGroup", "srn:slipway:codedeploy:app/shop/group/prod",
			Decision{Outcome: ExplicitDeny, Policy: "group/contractors/no-prod", PolicyIndex: 1, Statement: 0, Sid: "NoProd"}},
	} {
		req := Request{Action: tc.action, Resource: tc.resource}
		if got := Evaluate(req, user, group); got != tc.want {
			t.Errorf("%s on %s: %+v, want %+v", tc.action, tc.resource, got, tc.want)
		}
		// Order of the policies never changes the outcome.
		if got := Evaluate(req, group, nil, user); got.Outcome != tc.want.Outcome {
			t.Errorf("%s on %s, reversed: %v, want %v", tc.action, tc.resource, got.Outcome, tc.want.Outcome)
		}
	}
}

func TestEvaluateNotActionNotResource(t *testing.T) {
	// Everything but the iam and sts services, anywhere but the prod group.
	p := mustParse(t, "not", `{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "NotAction": ["iam:*", "sts:*"], "NotResource": "app/*/group/prod"}
]}`)
	for _, tc := range []struct {
		action, resource string
		want             bool
	}{
		{"codedeploy:CreateDeployment", "app/shop/group/web", true},
		{"codedeploy:CreateDeployment", "app/shop/group/prod", false},
		{"iam:CreateToken", "token/*", false},
		{"IAM:CreateToken", "token/*", false},
		{"kv:PutKey", "key/a", true},
	} {
		if got := Evaluate(Request{Action: tc.action, Resource: tc.resource}, p).Allowed(); got != tc.want {
			t.Errorf("%s on %s: %v, want %v", tc.action, tc.resource, got, tc.want)
		}
	}
	// A Deny with NotAction denies every action but those named: the MFA guard pattern.
	guard := mustParse(t, "guard", `{"Version": "2012-10-17", "Statement": [
  {"Sid": "NeedMFA", "Effect": "Deny", "NotAction": "codedeploy:Get*", "Resource": "*",
   "Condition": {"BoolIfExists": {"slipway:MultiFactorAuthPresent": "false"}}}
]}`)
	admin, _ := Managed(AdministratorAccess)
	noMFA := []ContextValue{{Key: KeyMultiFactorAuthPresent, Value: "false"}}
	if d := Evaluate(Request{Action: "codedeploy:DeleteApplication", Resource: "app/shop", Context: noMFA}, admin, guard); d.Outcome != ExplicitDeny || d.Sid != "NeedMFA" {
		t.Errorf("delete without MFA: %v", d)
	}
	if d := Evaluate(Request{Action: "codedeploy:GetApplication", Resource: "app/shop", Context: noMFA}, admin, guard); !d.Allowed() {
		t.Errorf("read without MFA: %v", d)
	}
	withMFA := []ContextValue{{Key: KeyMultiFactorAuthPresent, Value: "true"}}
	if d := Evaluate(Request{Action: "codedeploy:DeleteApplication", Resource: "app/shop", Context: withMFA}, admin, guard); !d.Allowed() {
		t.Errorf("delete with MFA: %v", d)
	}
}

func TestEvaluateNoPoliciesIsImplicitDeny(t *testing.T) {
	d := Evaluate(Request{Action: "codedeploy:GetApplication", Resource: "app/shop"})
	if d.Allowed() || d.Outcome != ImplicitDeny || d.String() != "implicitly denied: no statement allows it" {
		t.Fatalf("%+v %q", d, d.String())
	}
}

func TestDecisionString(t *testing.T) {
	d := Decision{Outcome: ExplicitDeny, Policy: "group/ops/no-prod", PolicyIndex: 1, Statement: 3, Sid: "NoProd"}
	if got := d.String(); got != `explicitly denied by policy "group/ops/no-prod" statement 3 (Sid "NoProd")` {
		t.Fatal(got)
	}
	d = Decision{Outcome: Allowed, Policy: "AdministratorAccess", Statement: 0}
	if got := d.String(); got != `allowed by policy "AdministratorAccess" statement 0` {
		t.Fatal(got)
	}
}

func TestCompiledPolicyIsIndependentOfItsDocumentLists(t *testing.T) {
	doc, err := Parse([]byte(`{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "codedeploy:Get*", "Resource": "app/shop"}}`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile("p", doc)
	if err != nil {
		t.Fatal(err)
	}
	doc.Statement[0].Action[0] = "*"
	doc.Statement[0].Resource[0] = "*"
	if Evaluate(Request{Action: "codedeploy:DeleteApplication", Resource: "app/web"}, p).Allowed() {
		t.Fatal("a change to the document after Compile changed the policy")
	}
}

func TestEvaluateAllocatesNothing(t *testing.T) {
	policies := benchPolicies(t)
	reqs := benchRequests()
	allocs := testing.AllocsPerRun(50, func() {
		for _, r := range reqs {
			Evaluate(r, policies...)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per %d evaluations", allocs, len(reqs))
	}
}

func TestEvaluateDeniesOversizedRequests(t *testing.T) {
	// NotResource would allow any resource outside app/secret/*; a request too long to compare
	// is denied before any statement, so it cannot slip through the complement.
	p := mustParse(t, "not-secret", `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "NotResource": "app/secret/*"}}`)
	long := "app/secret/" + strings.Repeat("x", MaxRequestBytes)
	manyCtx := make([]ContextValue, MaxContextValues+1)
	for i := range manyCtx {
		manyCtx[i] = ContextValue{Key: "a:b", Value: "c"}
	}
	for name, req := range map[string]Request{
		"resource":      {Action: "a:b", Resource: long},
		"action":        {Action: "a:" + strings.Repeat("b", MaxRequestBytes), Resource: "app/x"},
		"context value": {Action: "a:b", Resource: "app/x", Context: []ContextValue{{Key: "a:b", Value: long}}},
		"context size":  {Action: "a:b", Resource: "app/x", Context: manyCtx},
	} {
		d := Evaluate(req, p)
		if d.Allowed() || d.Outcome != Oversized || d.PolicyIndex != -1 || !strings.Contains(d.String(), "over the bounds") {
			t.Errorf("%s: %+v %s", name, d, d)
		}
	}
	if !Evaluate(Request{Action: "a:b", Resource: "app/" + strings.Repeat("x", MaxRequestBytes-4)}, p).Allowed() {
		t.Error("a request at the bound was not evaluated")
	}
}

// TestEvaluateUnknownKey: with Request.Unknown, a condition on that key holds in an Allow and
// fails in a Deny, so the answer is whether some value could be allowed.
func TestEvaluateUnknownKey(t *testing.T) {
	feature := mustParse(t, "feature", `{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": "codecommit:GitPush", "Resource": "srn:slipway:codecommit:repo/app",
   "Condition": {"StringLike": {"slipway:ReferenceName": "refs/heads/feature/*"}}},
  {"Effect": "Deny", "Action": "codecommit:GitPush", "Resource": "*",
   "Condition": {"StringEquals": {"slipway:ReferenceName": "refs/heads/feature/frozen"}}}]}`)
	denyAll := mustParse(t, "deny-all", `{"Version": "2012-10-17", "Statement": [
  {"Effect": "Deny", "Action": "codecommit:GitPush", "Resource": "srn:slipway:codecommit:repo/app"}]}`)
	req := func(resource, ref, unknown string) Request {
		r := Request{Action: "codecommit:GitPush", Resource: "srn:slipway:codecommit:" + resource, Unknown: unknown}
		if ref != "" {
			r.Context = []ContextValue{{Key: "slipway:ReferenceName", Value: ref}}
		}
		return r
	}
	for _, tc := range []struct {
		name     string
		req      Request
		policies []*Policy
		want     Outcome
	}{
		{"no ref, known", req("repo/app", "", ""), []*Policy{feature}, ImplicitDeny},
		{"some ref may be pushed", req("repo/app", "", "slipway:referencename"), []*Policy{feature}, Allowed},
		{"another repository", req("repo/web", "", "slipway:ReferenceName"), []*Policy{feature}, ImplicitDeny},
		{"a Deny of the whole repository", req("repo/app", "", "slipway:ReferenceName"), []*Policy{feature, denyAll}, ExplicitDeny},
		{"no policy", req("repo/app", "", "slipway:ReferenceName"), nil, ImplicitDeny},
		{"the frozen ref itself", req("repo/app", "refs/heads/feature/frozen", ""), []*Policy{feature}, ExplicitDeny},
		{"another feature ref", req("repo/app", "refs/heads/feature/x", ""), []*Policy{feature}, Allowed},
	} {
		if got := Evaluate(tc.req, tc.policies...).Outcome; got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

package policy

import (
	"strings"
	"testing"
)

// conditionPolicy compiles one Allow-everything statement guarded by one condition entry.
func conditionPolicy(t *testing.T, op, key string, values ...string) *Policy {
	t.Helper()
	p, err := Compile("cond", &Document{Version: VersionAWS, Statement: []Statement{{
		Effect: EffectAllow, Action: []string{"*"}, Resource: []string{"*"},
		Condition: []Condition{{Operator: op, Key: key, Values: values}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConditionOperators(t *testing.T) {
	const absent = "\x00absent"
	for _, tc := range []struct {
		op, key string
		values  []string
		got     string // the request's value, or absent
		want    bool
	}{
		{"StringEquals", KeyPrincipalName, []string{"alice", "bob"}, "bob", true},
		{"StringEquals", KeyPrincipalName, []string{"alice"}, "Alice", false},
		{"StringEquals", KeyPrincipalName, []string{"alice"}, absent, false},
		{"StringEqualsIfExists", KeyPrincipalName, []string{"alice"}, absent, true},
		{"StringEqualsIfExists", KeyPrincipalName, []string{"alice"}, "bob", false},
		{"StringNotEquals", KeyPrincipalName, []string{"alice", "bob"}, "carol", true},
		{"StringNotEquals", KeyPrincipalName, []string{"alice", "bob"}, "bob", false},
		{"StringNotEquals", KeyPrincipalName, []string{"alice"}, absent, true},
		{"StringEqualsIgnoreCase", KeyPrincipalType, []string{"user"}, "User", true},
		{"StringEqualsIgnoreCase", KeyPrincipalType, []string{"user"}, "Host", false},
		{"StringNotEqualsIgnoreCase", KeyPrincipalType, []string{"user"}, "USER", false},
		{"StringLike", KeyReferenceName, []string{"refs/heads/feature/*", "refs/tags/v?"}, "refs/heads/feature/x/y", true},
		{"StringLike", KeyReferenceName, []string{"refs/heads/feature/*", "refs/tags/v?"}, "refs/tags/v1", true},
		{"StringLike", KeyReferenceName, []string{"refs/heads/feature/*"}, "refs/heads/main", false},
		{"StringLike", KeyReferenceName, []string{"refs/heads/*"}, "REFS/heads/main", false},
		{"StringNotLike", KeyReferenceName, []string{"refs/heads/main"}, "refs/heads/dev", true},
		{"StringNotLike", KeyReferenceName, []string{"refs/heads/m*"}, "refs/heads/main", false},
		{"StringNotLikeIfExists", KeyReferenceName, []string{"refs/heads/m*"}, absent, true},
		{"Bool", KeyMultiFactorAuthPresent, []string{"true"}, "true", true},
		{"Bool", KeyMultiFactorAuthPresent, []string{"true"}, "TRUE", true},
		{"Bool", KeyMultiFactorAuthPresent, []string{"true"}, "false", false},
		{"Bool", KeyMultiFactorAuthPresent, []string{"true"}, "yes", false},
		{"Bool", KeyMultiFactorAuthPresent, []string{"true"}, absent, false},
		{"Bool", KeyMultiFactorAuthPresent, []string{"false"}, absent, false},
		{"BoolIfExists", KeyMultiFactorAuthPresent, []string{"false"}, absent, true},
		{"NumericEquals", KeyMultiFactorAuthAge, []string{"300"}, "300.0", true},
		{"NumericEquals", KeyMultiFactorAuthAge, []string{"300"}, "301", false},
		{"NumericEquals", KeyMultiFactorAuthAge, []string{"300"}, "x", false},
		{"NumericNotEquals", KeyMultiFactorAuthAge, []string{"300"}, "301", true},
		{"NumericNotEquals", KeyMultiFactorAuthAge, []string{"300"}, "300", false},
		{"NumericLessThan", KeyMultiFactorAuthAge, []string{"300"}, "299", true},
		{"NumericLessThan", KeyMultiFactorAuthAge, []string{"300"}, "300", false},
		{"NumericLessThan", KeyMultiFactorAuthAge, []string{"300"}, absent, false},
		{"NumericLessThanIfExists", KeyMultiFactorAuthAge, []string{"300"}, absent, true},
		{"NumericLessThanEquals", KeyMultiFactorAuthAge, []string{"300"}, "300", true},
		{"NumericLessThanEquals", KeyMultiFactorAuthAge, []string{"300"}, "300.5", false},
		{"NumericGreaterThan", KeyMultiFactorAuthAge, []string{"300"}, "300.5", true},
		{"NumericGreaterThan", KeyMultiFactorAuthAge, []string{"300"}, "300", false},
		{"NumericGreaterThanEquals", KeyMultiFactorAuthAge, []string{"300"}, "300", true},
		{"NumericGreaterThanEquals", KeyMultiFactorAuthAge, []string{"300"}, "-1e3", false},
		{"NumericLessThan", KeyMultiFactorAuthAge, []string{"10", "1000"}, "500", true}, // OR of values
		{"DateLessThan", KeyCurrentTime, []string{"2027-01-01T00:00:00Z"}, "2026-12-31T23:59:59Z", true},
		{"DateLessThan", KeyCurrentTime, []string{"2027-01-01T00:00:00Z"}, "2027-01-01T00:00:00Z", false},
		{"DateLessThan", KeyCurrentTime, []string{"2027-01-01T00:00:00Z"}, "2027-01-01T01:00:00+02:00", true}, // 23:00Z
		{"DateLessThan", KeyCurrentTime, []string{"2027-01-01T00:00:00Z"}, "yesterday", false},
		{"DateGreaterThan", KeyCurrentTime, []string{"2026-12-01T00:00:00Z"}, "2026-12-06T21:00:00Z", true},
		{"DateGreaterThan", KeyCurrentTime, []string{"2026-12-01T00:00:00Z"}, "2026-11-06T21:00:00Z", false},
		{"DateGreaterThanIfExists", KeyCurrentTime, []string{"2026-12-01T00:00:00Z"}, absent, true},
		{"IpAddress", KeySourceIP, []string{"10.0.0.0/8", "192.0.2.7"}, "10.1.2.3", true},
		{"IpAddress", KeySourceIP, []string{"10.0.0.0/8", "192.0.2.7"}, "192.0.2.7", true},
		{"IpAddress", KeySourceIP, []string{"10.0.0.0/8", "192.0.2.7"}, "192.0.2.8", false},
		{"IpAddress", KeySourceIP, []string{"10.0.0.0/8"}, "::ffff:10.1.2.3", true},
		{"IpAddress", KeySourceIP, []string{"2001:db8::/32"}, "2001:db8::1", true},
		{"IpAddress", KeySourceIP, []string{"2001:db8::/32"}, "10.1.2.3", false},
		{"IpAddress", KeySourceIP, []string{"10.0.0.0/8"}, "10.1.2.3:80", false},
		{"IpAddress", KeySourceIP, []string{"10.0.0.0/8"}, absent, false},
		{"IpAddress", KeySourceIP, []string{"10.1.2.3/8"}, "10.200.0.1", true}, // host bits masked
		{"NotIpAddress", KeySourceIP, []string{"10.0.0.0/8"}, "192.0.2.1", true},
		{"NotIpAddress", KeySourceIP, []string{"10.0.0.0/8"}, "10.0.0.1", false},
		{"NotIpAddress", KeySourceIP, []string{"10.0.0.0/8"}, absent, true},
		{"Null", KeySourceIP, []string{"true"}, absent, true},
		{"Null", KeySourceIP, []string{"true"}, "10.0.0.1", false},
		{"Null", KeySourceIP, []string{"false"}, "10.0.0.1", true},
		{"StringEquals", "codedeploy:Environment", []string{"prod"}, "prod", true}, // a service's own key
	} {
		name := tc.op + "/" + strings.Join(tc.values, ",") + "/" + tc.got
		t.Run(name, func(t *testing.T) {
			p := conditionPolicy(t, tc.op, tc.key, tc.values...)
			req := Request{Action: "codedeploy:GetApplication", Resource: "app/shop"}
			if tc.got != absent {
				// Keys compare case-insensitively: send the key in another case.
				req.Context = []ContextValue{{Key: "other:Key", Value: "x"}, {Key: strings.ToLower(tc.key), Value: tc.got}}
			}
			if got := Evaluate(req, p).Allowed(); got != tc.want {
				t.Fatalf("%s {%s: %q} with %q: %v, want %v", tc.op, tc.key, tc.values, tc.got, got, tc.want)
			}
		})
	}
}

func TestConditionKeysAreAnded(t *testing.T) {
	p, err := Compile("mfa-office", &Document{Version: VersionAWS, Statement: []Statement{{
		Effect: EffectAllow, Action: []string{"*"}, Resource: []string{"*"},
		Condition: []Condition{
			{Operator: "Bool", Key: KeyMultiFactorAuthPresent, Values: []string{"true"}},
			{Operator: "IpAddress", Key: KeySourceIP, Values: []string{"10.0.0.0/8"}},
		},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := func(mfa, ip string) []ContextValue {
		return []ContextValue{{Key: KeyMultiFactorAuthPresent, Value: mfa}, {Key: KeySourceIP, Value: ip}}
	}
	for _, tc := range []struct {
		mfa, ip string
		want    bool
	}{{"true", "10.0.0.1", true}, {"false", "10.0.0.1", false}, {"true", "192.0.2.1", false}} {
		if got := Evaluate(Request{Action: "a:b", Resource: "r", Context: ctx(tc.mfa, tc.ip)}, p).Allowed(); got != tc.want {
			t.Errorf("mfa=%s ip=%s: %v, want %v", tc.mfa, tc.ip, got, tc.want)
		}
	}
}

package policy

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	`{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "codedeploy:Get*", "Resource": "app/shop"}}`,
	`{"Version": "2012-10-17", "Statement": [{"Sid": "A", "Effect": "Deny", "NotAction": ["iam:*"], "NotResource": "app/*/group/prod", "Condition": {"BoolIfExists": {"slipway:MultiFactorAuthPresent": false}, "IpAddress": {"slipway:SourceIp": ["10.0.0.0/8", "::1"]}}}]}`,
	"Version: 2012-10-17\nStatement:\n  - Effect: Allow\n    Action: ['*']\n    Resource: '*'\n    Condition:\n      DateLessThan: {slipway:CurrentTime: 2027-01-01T00:00:00Z}\n      NumericLessThan: {slipway:MultiFactorAuthAge: 300}\n",
	"Version: &a 2012-10-17\nId: *a\n",
	`{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*:?*?*", "Resource": "*?*?*?", "Condition": {"StringLike": {"slipway:ReferenceName": "refs/*/x?"}, "Null": {"slipway:SourceIp": "true"}}}]}`,
	`{"a": [[[[[[[[[[[[]]]]]]]]]]]]}`,
	"- a\n- b\n",
	"",
}

// FuzzParse: no input makes Parse panic; what it accepts compiles, and what it refuses is an
// *Error with at least one diagnostic.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse(data)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || len(pe.Diagnostics) == 0 || !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %T %v is not a diagnostic", err, err)
			}
			return
		}
		if _, err := Compile("fuzz", doc); err != nil {
			t.Fatalf("Parse accepted what Compile refuses: %v", err)
		}
		assertRoundTrip(t, doc)
	})
}

// FuzzEvaluate: a document the fuzzer writes, evaluated for an action, resource and context
// the fuzzer writes, never panics, and a document can never make Evaluate allow a request for
// which it also has an applicable Deny (checked by adding a Deny-everything policy).
func FuzzEvaluate(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), "codedeploy:GetApplication", "app/shop", "slipway:SourceIp", "10.1.2.3")
	}
	f.Add([]byte(fuzzSeeds[4]), "x:y", "*?", "slipway:ReferenceName", "refs/a/x1")
	denyAll, err := Compile("deny-all", &Document{Version: VersionAWS, Statement: []Statement{{Effect: EffectDeny, Action: []string{"*"}, Resource: []string{"*"}}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, action, resource, key, value string) {
		doc, err := Parse(data)
		if err != nil {
			return
		}
		p, err := Compile("fuzz", doc)
		if err != nil {
			t.Fatal(err)
		}
		req := Request{Action: action, Resource: resource, Context: []ContextValue{{Key: key, Value: value}}}
		d := Evaluate(req, p)
		switch d.Outcome {
		case Allowed, ExplicitDeny:
			if d.Policy != "fuzz" || d.PolicyIndex != 0 || d.Statement < 0 || d.Statement >= len(doc.Statement) || d.Sid != doc.Statement[d.Statement].Sid {
				t.Fatalf("decision names no statement of the document: %+v", d)
			}
			if d.Outcome == Allowed && doc.Statement[d.Statement].Effect != EffectAllow {
				t.Fatalf("allowed by a %s statement", doc.Statement[d.Statement].Effect)
			}
		case ImplicitDeny, Oversized:
			if d.PolicyIndex != -1 || d.Statement != -1 {
				t.Fatalf("implicit deny names a statement: %+v", d)
			}
		}
		if got := Evaluate(req, p, denyAll); got.Outcome != ExplicitDeny && got.Outcome != Oversized {
			t.Fatalf("a Deny of everything did not win: %+v", got)
		}
		// Every action-pattern of the document agrees with the reference matcher.
		for _, st := range doc.Statement {
			for _, a := range append(append([]string(nil), st.Action...), st.NotAction...) {
				pt := compilePattern(a)
				if pt.matches(action, true) != match(a, action, true) {
					t.Fatalf("compiled %q and match disagree on %q", a, action)
				}
				if strings.Count(a, "*") < 8 && globRegexp(a, true).MatchString(action) != match(a, action, true) && isASCII(a) && isASCII(action) {
					t.Fatalf("match(%q, %q) disagrees with the regexp reference", a, action)
				}
			}
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// assertRoundTrip checks that doc marshals to JSON that parses back to an equal document.
func assertRoundTrip(t *testing.T, doc *Document) {
	t.Helper()
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	back, err := Parse(data)
	if err != nil {
		t.Fatalf("the marshalled document does not parse: %v\n%s", err, data)
	}
	if !reflect.DeepEqual(doc, back) {
		t.Fatalf("round trip changed the document:\n%+v\n%+v\n%s", doc, back, data)
	}
}

package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAcceptsJSONAndYAML(t *testing.T) {
	jsonDoc := `{
  "Version": "2012-10-17",
  "Statement": {
    "Sid": "ReadShop",
    "Effect": "Allow",
    "Action": ["codedeploy:Get*", "codedeploy:List*"],
    "Resource": "app/shop",
    "Condition": {"Bool": {"slipway:MultiFactorAuthPresent": true}, "NumericLessThan": {"slipway:MultiFactorAuthAge": [300, "600"]}}
  }
}`
	yamlDoc := `
Version: slipway-2026-12
Statement:
  - Sid: ReadShop
    Effect: Allow
    Action: [codedeploy:Get*, codedeploy:List*]
    Resource: app/shop
    Condition:
      Bool: {slipway:MultiFactorAuthPresent: true}
      NumericLessThan:
        slipway:MultiFactorAuthAge: [300, "600"]
`
	for name, src := range map[string]string{"json": jsonDoc, "yaml": yamlDoc} {
		t.Run(name, func(t *testing.T) {
			doc, err := Parse([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			if len(doc.Statement) != 1 {
				t.Fatalf("statements = %d", len(doc.Statement))
			}
			st := doc.Statement[0]
			if st.Sid != "ReadShop" || st.Effect != EffectAllow || strings.Join(st.Action, ",") != "codedeploy:Get*,codedeploy:List*" || strings.Join(st.Resource, ",") != "app/shop" {
				t.Fatalf("statement = %+v", st)
			}
			want := []Condition{
				{Operator: "Bool", Key: KeyMultiFactorAuthPresent, Values: []string{"true"}},
				{Operator: "NumericLessThan", Key: KeyMultiFactorAuthAge, Values: []string{"300", "600"}},
			}
			if len(st.Condition) != len(want) {
				t.Fatalf("conditions = %+v", st.Condition)
			}
			for i := range want {
				if st.Condition[i].Operator != want[i].Operator || st.Condition[i].Key != want[i].Key || strings.Join(st.Condition[i].Values, ",") != strings.Join(want[i].Values, ",") {
					t.Fatalf("condition %d = %+v, want %+v", i, st.Condition[i], want[i])
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const ok = `"Effect": "Allow", "Action": "codedeploy:Get*", "Resource": "*"`
	stmt := func(s string) string { return `{"Version": "2012-10-17", "Statement": [{` + s + `}]}` }
	for _, tc := range []struct {
		name, doc string
		want      []string // each must appear in the error
	}{
		{"empty", "  \n", []string{"the document is empty"}},
		{"not an object", `[1]`, []string{"a policy is an object with Version and Statement, not a list"}},
		{"invalid json", `{"Version": }`, []string{"line 1", "invalid JSON"}},
		{"truncated json", `{"Version": "2012-10-17"`, []string{"ends before the document is complete"}},
		{"trailing json", `{"Version": "2012-10-17", "Statement": {` + ok + `}} {}`, []string{"unexpected data after"}},
		{"invalid yaml", "Version: [\n", []string{"invalid YAML"}},
		{"two yaml documents", "Version: 2012-10-17\n---\nVersion: x\n", []string{"one YAML document"}},
		{"yaml alias", "Version: &v 2012-10-17\nId: *v\n", []string{"anchors and aliases"}},
		{"yaml tag", "Version: !!binary aGVsbG8=\n", []string{"tag !!binary"}},
		{"missing version", `{"Statement": {` + ok + `}}`, []string{"Version: missing"}},
		{"wrong version", `{"Version": "2012-10-18", "Statement": {` + ok + `}}`, []string{`Version: "2012-10-18" is not a policy language version`}},
		{"version a number", "Version: 2012\nStatement: {Effect: Allow, Action: '*', Resource: '*'}\n", []string{"Version: must be a string, not the value 2012"}},
		{"unknown top key", `{"Version": "2012-10-17", "Statemnt": []}`, []string{`Statemnt: unknown key "Statemnt"; did you mean "Statement"?`}},
		{"unknown key far from any", `{"Version": "2012-10-17", "Zzzzzzzzzz": 1, "Statement": {` + ok + `}}`, []string{`the keys here are Version, Id, Statement`}},
		{"unknown statement key", stmt(ok + `, "Efect": "Deny"`), []string{`Statement[0].Efect: unknown key "Efect"; did you mean "Effect"?`}},
		{"lower-case key", stmt(`"effect": "Allow", "Action": "*", "Resource": "*"`), []string{`Statement[0].effect: unknown key "effect"; did you mean "Effect"?`}},
		{"principal", stmt(ok + `, "Principal": "*"`), []string{"Statement[0].Principal: an identity policy names no principal"}},
		{"duplicate key", `{"Version": "2012-10-17", "Version": "2012-10-17"}`, []string{`key "Version" appears twice`}},
		{"duplicate yaml key", "Version: 2012-10-17\nVersion: 2012-10-17\n", []string{`line 2`, `key "Version" appears twice`}},
		{"no statements", `{"Version": "2012-10-17", "Statement": []}`, []string{"Statement: the document has no statement"}},
		{"statement not object", `{"Version": "2012-10-17", "Statement": ["x"]}`, []string{"Statement[0]: a statement is an object"}},
		{"statement scalar", `{"Version": "2012-10-17", "Statement": 3}`, []string{"Statement: Statement is one statement object or a list of them, not the value 3"}},
		{"effect case", `{"Version": "2012-10-17", "Statement": [{` + ok + `}, {` + ok + `}, {"Effect": "allow", "Action": "*", "Resource": "*"}]}`, []string{`Statement[2].Effect: "allow" is not Allow or Deny`}},
		{"effect missing", stmt(`"Action": "*", "Resource": "*"`), []string{"Statement[0].Effect: missing"}},
		{"effect number", stmt(`"Effect": 1, "Action": "*", "Resource": "*"`), []string{"Statement[0].Effect: must be a string, not the value 1"}},
		{"action and notaction", stmt(ok + `, "NotAction": "x:y"`), []string{"Statement[0]: has both Action and NotAction"}},
		{"no action", stmt(`"Effect": "Allow", "Resource": "*"`), []string{"Statement[0]: missing Action (or NotAction)"}},
		{"no resource", stmt(`"Effect": "Allow", "Action": "*"`), []string{"Statement[0]: missing Resource (or NotResource)"}},
		{"empty action list", stmt(`"Effect": "Allow", "Action": [], "Resource": "*"`), []string{"Statement[0].Action: the list is empty"}},
		{"bad action", stmt(`"Effect": "Allow", "Action": ["codedeploy:Get*", "deploy"], "Resource": "*"`), []string{`Statement[0].Action[1]: "deploy" is not an action`}},
		{"action with two colons", stmt(`"Effect": "Allow", "Action": "a:b:c", "Resource": "*"`), []string{`Statement[0].Action[0]: "a:b:c" is not an action`}},
		{"action list of objects", stmt(`"Effect": "Allow", "Action": [{}], "Resource": "*"`), []string{"Statement[0].Action[0]: must be a string, not an object"}},
		{"empty resource", stmt(`"Effect": "Allow", "Action": "*", "Resource": ""`), []string{"Statement[0].Resource[0]: empty"}},
		{"control char resource", stmt(`"Effect": "Allow", "Action": "*", "Resource": "a\u0001b"`), []string{"Statement[0].Resource[0]:", "control character"}},
		{"bad sid", stmt(ok + `, "Sid": "my sid"`), []string{`Statement[0].Sid: "my sid": a Sid holds letters and digits only`}},
		{"duplicate sid", `{"Version": "2012-10-17", "Statement": [{"Sid": "A", ` + ok + `}, {"Sid": "A", ` + ok + `}]}`, []string{`Statement[1].Sid: "A" is also the Sid of Statement[0]`}},
		{"unknown operator", stmt(ok + `, "Condition": {"StringEqual": {"slipway:PrincipalName": "x"}}`), []string{`Statement[0].Condition.StringEqual: unknown condition operator "StringEqual"; did you mean "StringEquals"?`}},
		{"null ifexists", stmt(ok + `, "Condition": {"NullIfExists": {"slipway:PrincipalName": "true"}}`), []string{`unknown condition operator "NullIfExists"`}},
		{"unknown global key", stmt(ok + `, "Condition": {"Bool": {"slipway:MultiFactorAuthPresnt": "true"}}`), []string{`Statement[0].Condition.Bool.slipway:MultiFactorAuthPresnt: unknown global condition key`, `did you mean "slipway:MultiFactorAuthPresent"?`}},
		{"key without prefix", stmt(ok + `, "Condition": {"StringEquals": {"SourceIp": "x"}}`), []string{`"SourceIp" is not a condition key`}},
		{"bool value", stmt(ok + `, "Condition": {"Bool": {"slipway:SecureTransport": "yes"}}`), []string{`Statement[0].Condition.Bool.slipway:SecureTransport: "yes" is not a boolean`}},
		{"numeric value", stmt(ok + `, "Condition": {"NumericLessThan": {"slipway:MultiFactorAuthAge": [1, "x"]}}`), []string{`Statement[0].Condition.NumericLessThan.slipway:MultiFactorAuthAge[1]: "x" is not a number`}},
		{"date value", stmt(ok + `, "Condition": {"DateLessThan": {"slipway:CurrentTime": "2026-12-06"}}`), []string{`is not a date: write RFC 3339`}},
		{"ip value", stmt(ok + `, "Condition": {"IpAddress": {"slipway:SourceIp": "10.0.0.0/33"}}`), []string{`"10.0.0.0/33" is not an address or CIDR block`}},
		{"no condition value", stmt(ok + `, "Condition": {"StringEquals": {"slipway:PrincipalName": []}}`), []string{"no value"}},
		{"condition not object", stmt(ok + `, "Condition": "x"`), []string{"Statement[0].Condition: Condition is an object of operators"}},
		{"condition value object", stmt(ok + `, "Condition": {"StringEquals": {"slipway:PrincipalName": {}}}`), []string{"a condition value is a string, number or boolean"}},
		{"too deep", `{"Version": [[[[[[[[[[[1]]]]]]]]]]]}`, []string{"nests deeper"}},
		{"too big", `{"Version": "` + strings.Repeat("x", MaxDocumentBytes) + `"}`, []string{"a policy may be at most 65536"}},
		{"too many statements", `{"Version": "2012-10-17", "Statement": [` + strings.TrimSuffix(strings.Repeat(`{`+ok+`},`, MaxStatements+1), ",") + `]}`, []string{"101 statements; a document may have at most 100"}},
		{"too many actions", stmt(`"Effect": "Allow", "Resource": "*", "Action": [` + strings.TrimSuffix(strings.Repeat(`"a:b",`, MaxListValues+1), ",") + `]`), []string{"Statement[0].Action: 101 values; a list may hold at most 100"}},
		{"long resource", stmt(`"Effect": "Allow", "Action": "*", "Resource": "` + strings.Repeat("r", MaxPatternLength+1) + `"`), []string{"1025 bytes; a resource may be at most 1024"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Parse([]byte(tc.doc))
			if err == nil {
				t.Fatalf("parsed: %+v", doc)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			var pe *Error
			if !errors.As(err, &pe) || len(pe.Diagnostics) == 0 {
				t.Fatalf("error %T is not an *Error with diagnostics", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%s\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestParseReportsEveryProblemWithLines(t *testing.T) {
	src := "Version: 2012-10-17\nStatement:\n  - Effect: allow\n    Action: '*'\n    Resource: '*'\n  - Effect: Allow\n    Acton: '*'\n    Resource: '*'\n"
	_, err := Parse([]byte(src))
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v", err)
	}
	got := err.Error()
	want := "line 7: Statement[1].Acton: unknown key \"Acton\"; did you mean \"Action\"?"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// With the shape right, the meaning is checked: both statements' problems come back.
	src = strings.Replace(src, "Acton", "NotAction", 1)
	src = strings.Replace(src, "Resource: '*'\n  - ", "Resource: '*'\n    Sid: a-b\n  - ", 1)
	_, err = Parse([]byte(src))
	if !errors.As(err, &pe) || len(pe.Diagnostics) != 2 {
		t.Fatalf("err = %v", err)
	}
	if d := pe.Diagnostics[0]; d.Path != "Statement[0].Sid" || d.Line != 6 {
		t.Errorf("first = %+v", d)
	}
	if d := pe.Diagnostics[1]; d.Path != "Statement[0].Effect" || d.Line != 3 || d.Message != `"allow" is not Allow or Deny` {
		t.Errorf("second = %+v", d)
	}
}

func TestParseCapsDiagnostics(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"Version": "2012-10-17", "Statement": [`)
	for i := range 50 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"Effect": "x", "Action": "*", "Resource": "*"}`)
	}
	b.WriteString("]}")
	_, err := Parse([]byte(b.String()))
	var pe *Error
	if !errors.As(err, &pe) || len(pe.Diagnostics) != maxDiagnosticCount+1 {
		t.Fatalf("err = %v", err)
	}
	if last := pe.Diagnostics[maxDiagnosticCount].Message; last != "and 30 more problems not shown" {
		t.Fatalf("last = %q", last)
	}
}

func TestCompileChecksDocumentsBuiltInGo(t *testing.T) {
	_, err := Compile("x", &Document{Version: VersionAWS, Statement: []Statement{{Effect: "Permit", Action: []string{"*"}, Resource: []string{"*"}}}})
	if err == nil || err.Error() != `Statement[0].Effect: "Permit" is not Allow or Deny` {
		t.Fatalf("err = %v", err)
	}
	if _, err := Compile("x", nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("nil: %v", err)
	}
}

func TestParseErrorsStayShortForHostileInput(t *testing.T) {
	long := strings.Repeat("k", 4000)
	_, err := Parse([]byte(`{"Version": "2012-10-17", "` + long + `": 1, "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"` + long + `": {"a:b": "c"}}}}`))
	if err == nil {
		t.Fatal("parsed")
	}
	if n := len(err.Error()); n > 1000 {
		t.Fatalf("a %d-byte error for two long keys:\n%.300s", n, err)
	}
}

func TestDocumentRoundTripsThroughJSON(t *testing.T) {
	for _, src := range fuzzSeeds {
		if doc, err := Parse([]byte(src)); err == nil {
			assertRoundTrip(t, doc)
		}
	}
	for name, doc := range managedDocuments() {
		t.Run(name, func(t *testing.T) { assertRoundTrip(t, doc) })
	}
}

func TestCompileRefusesAKeyTwiceUnderOneOperator(t *testing.T) {
	_, err := Compile("x", &Document{Version: VersionAWS, Statement: []Statement{{
		Effect: EffectAllow, Action: []string{"*"}, Resource: []string{"*"},
		Condition: []Condition{
			{Operator: "IpAddress", Key: KeySourceIP, Values: []string{"10.0.0.0/8"}},
			{Operator: "IpAddress", Key: "slipway:sourceip", Values: []string{"192.0.2.0/24"}},
		},
	}}})
	if err == nil || !strings.Contains(err.Error(), "Statement[0].Condition.IpAddress.slipway:sourceip: the key appears twice under one operator") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseYAMLPlainScalars(t *testing.T) {
	// Unquoted dates are YAML timestamps and unquoted numbers YAML ints: both keep their text.
	doc, err := Parse([]byte(fuzzSeeds[2]))
	if err != nil {
		t.Fatal(err)
	}
	if doc.Version != VersionAWS {
		t.Fatalf("Version = %q", doc.Version)
	}
	c := doc.Statement[0].Condition
	if len(c) != 2 || c[0].Values[0] != "2027-01-01T00:00:00Z" || c[1].Values[0] != "300" {
		t.Fatalf("conditions = %+v", c)
	}
	p, err := Compile("yaml", doc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := []ContextValue{{Key: KeyCurrentTime, Value: "2026-12-06T21:00:00Z"}, {Key: KeyMultiFactorAuthAge, Value: "60"}}
	if !Evaluate(Request{Action: "codedeploy:GetApplication", Resource: "app/shop", Context: ctx}, p).Allowed() {
		t.Fatal("not allowed before the date")
	}
	// A boolean where a string belongs is refused, not turned into "true".
	if _, err := Parse([]byte("Version: 2012-10-17\nStatement: {Effect: true, Action: '*', Resource: '*'}\n")); err == nil || !strings.Contains(err.Error(), "Statement[0].Effect: must be a string, not the value true") {
		t.Fatalf("err = %v", err)
	}
}

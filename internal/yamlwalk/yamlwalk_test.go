package yamlwalk

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type recorder struct {
	errs   []string
	deep   []string
	fields []string
}

func newWalker(r *recorder) *Walker {
	return &Walker{MaxSteps: 1000, MaxMergeDepth: 4, MaxAliasChain: 8, MaxNesting: 0,
		Errorf: func(n *yaml.Node, field, format string, args ...any) {
			r.errs = append(r.errs, fmt.Sprintf("%d:%s: ", n.Line, field)+fmt.Sprintf(format, args...))
		},
		TooDeep: func(n *yaml.Node, field string) { r.deep = append(r.deep, field) },
		Record:  func(field string, val, key *yaml.Node) { r.fields = append(r.fields, field) },
	}
}

func parse(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(src), &root); err != nil {
		t.Fatal(err)
	}
	return root.Content[0]
}

func keys(ps []Pair) string {
	var out []string
	for _, p := range ps {
		v := p.Val
		for v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		out = append(out, p.Key+"="+v.Value)
	}
	return strings.Join(out, ",")
}

func TestMappingMergeAndDuplicates(t *testing.T) {
	var r recorder
	w := newWalker(&r)
	doc := parse(t, "base: &b {a: 1, b: 2}\nother: &o {b: 3, c: 4}\nm:\n  <<: [*b, *o]\n  a: 0\n  a: 9\n")
	top := w.Mapping(doc, "", "doc")
	if len(top) != 3 {
		t.Fatalf("top pairs = %d", len(top))
	}
	got := keys(w.Mapping(top[2].Val, "m", "m"))
	if got != "a=9,b=2,c=4" {
		t.Errorf("merged = %q", got)
	}
	w.Duplicates(doc, "")
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], `6:m.a: duplicate key "a" (first at line 5)`) {
		t.Errorf("errs = %q", r.errs)
	}
}

func TestKindErrors(t *testing.T) {
	var r recorder
	w := newWalker(&r)
	doc := parse(t, "l: [1]\ns: x\nn: ~\nm: {k: v}\n")
	ps := w.Mapping(doc, "", "doc")
	if w.Mapping(ps[0].Val, "l", "l") != nil || w.Sequence(ps[1].Val, "s", "s", "s: [x]") != nil {
		t.Fatal("wrong kinds should give nil")
	}
	if _, _, ok := w.Scalar(ps[3].Val, "m", "m"); ok {
		t.Error("scalar of a mapping is ok")
	}
	if v, tag, ok := w.Scalar(ps[2].Val, "n", "n"); v != "" || tag != "!!null" || !ok {
		t.Errorf("null scalar = %q %q %v", v, tag, ok)
	}
	want := []string{
		"1:l: l must be a mapping (key: value lines), not a list",
		`2:s: s must be a list, not a scalar "x"; write it as s: [x]`,
		"4:m: m must be a single value, not a mapping",
	}
	if strings.Join(r.errs, "\n") != strings.Join(want, "\n") {
		t.Errorf("errs = %q", r.errs)
	}
}

func TestStrList(t *testing.T) {
	var r recorder
	w := newWalker(&r)
	doc := parse(t, "l: [a, {x: 1}, 3]\n")
	got := w.StrList(w.Mapping(doc, "", "doc")[0], "l", "l", "l: [a]")
	if strings.Join(got, ",") != "a,,3" || len(r.errs) != 1 {
		t.Errorf("got %q, errs %q", got, r.errs)
	}
	if strings.Join(r.fields, ",") != "l,l[0],l[1],l[2]" {
		t.Errorf("recorded %q", r.fields)
	}
}

func TestBudgetReportsOnce(t *testing.T) {
	var r recorder
	w := newWalker(&r)
	w.MaxSteps = 3
	n := &yaml.Node{Line: 1}
	if !w.Budget(n, 3) || w.Budget(n, 1) || w.Budget(n, 1) {
		t.Fatal("budget")
	}
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], "too many nodes") {
		t.Errorf("errs = %q", r.errs)
	}
}

func TestResolveChainBound(t *testing.T) {
	var r recorder
	w := newWalker(&r)
	target := &yaml.Node{Kind: yaml.ScalarNode, Value: "x"}
	n := target
	for i := 0; i < 8; i++ {
		n = &yaml.Node{Kind: yaml.AliasNode, Alias: n}
	}
	if w.Resolve(n) != target {
		t.Error("chain of 8 should resolve")
	}
	if w.Resolve(&yaml.Node{Kind: yaml.AliasNode, Alias: n}) != nil {
		t.Error("chain of 9 should not")
	}
	if w.Resolve(&yaml.Node{Kind: yaml.AliasNode}) != nil {
		t.Error("broken alias should give nil")
	}
}

func TestMergeDepthAndBadMerge(t *testing.T) {
	var r recorder
	w := newWalker(&r)
	w.MaxMergeDepth = 1
	doc := parse(t, "a: &a {x: 1}\nb: &b {<<: *a}\nc: {<<: *b}\nd: {<<: 5}\n")
	ps := w.Mapping(doc, "", "doc")
	w.Mapping(ps[2].Val, "c", "c")
	w.Mapping(ps[3].Val, "d", "d")
	if len(r.errs) != 2 || !strings.Contains(r.errs[0], "nest deeper than 1 levels") || !strings.Contains(r.errs[1], `not a scalar "5"`) {
		t.Errorf("errs = %q", r.errs)
	}
}

func TestNesting(t *testing.T) {
	var r recorder
	w := newWalker(&r)
	w.MaxNesting = 2
	w.Duplicates(parse(t, "a: {b: {c: [1]}}\nz: {y: {x: {w: 1}}}\n"), "")
	if !w.Deep() || len(r.deep) != 1 || r.deep[0] != "a.b.c" {
		t.Errorf("deep = %v %q", w.Deep(), r.deep)
	}
}

func TestHelpers(t *testing.T) {
	if JoinField("", "a") != "a" || JoinField("a", "b") != "a.b" || IndexField("a", 2) != "a[2]" {
		t.Error("fields")
	}
	for n, want := range map[*yaml.Node]string{
		nil: "broken alias", {Kind: yaml.MappingNode}: "mapping", {Kind: yaml.SequenceNode}: "list",
		{Kind: yaml.ScalarNode, Tag: "!!null"}: "null", {Kind: yaml.ScalarNode, Value: "v", Tag: "!!str"}: `scalar "v"`,
		{Kind: yaml.DocumentNode}: "document", {Kind: yaml.AliasNode}: "node",
	} {
		if got := KindName(n); got != want {
			t.Errorf("KindName = %q, want %q", got, want)
		}
	}
	if !IsNull(nil) || !IsNull(&yaml.Node{}) || IsNull(&yaml.Node{Kind: yaml.ScalarNode, Value: "x", Tag: "!!str"}) {
		t.Error("IsNull")
	}
}

func TestSyntaxError(t *testing.T) {
	line, msg, tabs := SyntaxError(errors.New("yaml: line 3: found character that cannot start any token"), []byte("a:\n\tb"))
	if line != 3 || msg != "found character that cannot start any token" || !tabs {
		t.Errorf("got %d %q %v", line, msg, tabs)
	}
	line, msg, tabs = SyntaxError(errors.New("yaml: did not find expected key"), nil)
	if line != 1 || msg != "did not find expected key" || tabs {
		t.Errorf("got %d %q %v", line, msg, tabs)
	}
}

func TestZeroLimitsAreDefaults(t *testing.T) {
	var r recorder
	w := &Walker{Errorf: func(n *yaml.Node, field, format string, args ...any) {
		r.errs = append(r.errs, fmt.Sprintf(format, args...))
	}}
	n := &yaml.Node{Kind: yaml.ScalarNode, Value: "x"}
	for i := 0; i < DefaultMaxAliasChain; i++ {
		n = &yaml.Node{Kind: yaml.AliasNode, Alias: n}
	}
	if w.Resolve(n) == nil || w.Resolve(&yaml.Node{Kind: yaml.AliasNode, Alias: n}) != nil {
		t.Error("alias chain bound is not DefaultMaxAliasChain")
	}
	if !w.Budget(n, DefaultMaxSteps-2*DefaultMaxAliasChain) || w.Budget(n, 1) {
		t.Error("budget is not DefaultMaxSteps")
	}
	if len(r.errs) != 1 {
		t.Errorf("errs = %q", r.errs)
	}
}

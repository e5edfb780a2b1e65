package appspec

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

type schemaNode struct {
	Properties           map[string]*schemaNode `json:"properties"`
	Items                *schemaNode            `json:"items"`
	Ref                  string                 `json:"$ref"`
	Definitions          map[string]*schemaNode `json:"definitions"`
	AdditionalProperties *bool                  `json:"additionalProperties"`
	MaxItems             *int                   `json:"maxItems"`
}

// yamlKeys lists the yaml tags of a struct type, skipping "-".
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag != "" && tag != "-" {
			keys = append(keys, tag)
		}
	}
	sort.Strings(keys)
	return keys
}

func propKeys(n *schemaNode) []string {
	var keys []string
	for k := range n.Properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestSchemaMatchesTypes keeps docs/appspec.schema.json in step with the Go
// types: each struct's yaml keys must be exactly the properties of its
// schema object (both ways), hooks must list exactly the Events, and the
// events that take no scripts must allow no items.
func TestSchemaMatchesTypes(t *testing.T) {
	data, err := os.ReadFile("../docs/appspec.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var root schemaNode
	if err := json.Unmarshal(data, &root); err != nil {
		t.Fatalf("schema is not valid JSON: %v", err)
	}
	resolve := func(n *schemaNode) *schemaNode {
		for n != nil && n.Ref != "" {
			n = root.Definitions[strings.TrimPrefix(n.Ref, "#/definitions/")]
		}
		return n
	}
	objects := []struct {
		name string
		typ  reflect.Type
		node *schemaNode
	}{
		{"Spec", reflect.TypeOf(Spec{}), &root},
		{"FileMapping", reflect.TypeOf(FileMapping{}), resolve(root.Properties["files"].Items)},
		{"Permission", reflect.TypeOf(Permission{}), resolve(root.Properties["permissions"].Items)},
		{"Context", reflect.TypeOf(Context{}), resolve(resolve(root.Properties["permissions"].Items).Properties["context"])},
		{"Script", reflect.TypeOf(Script{}), resolve(resolve(root.Properties["hooks"].Properties["AfterInstall"]).Items)},
	}
	for _, o := range objects {
		if o.node == nil {
			t.Errorf("%s: no schema object", o.name)
			continue
		}
		if got, want := propKeys(o.node), yamlKeys(o.typ); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: schema properties %v, Go yaml keys %v", o.name, got, want)
		}
		if o.name != "Spec" && (o.node.AdditionalProperties == nil || *o.node.AdditionalProperties) {
			t.Errorf("%s: schema must set additionalProperties: false so editors flag typos", o.name)
		}
	}
	hooks := root.Properties["hooks"]
	if got, want := propKeys(hooks), EventNames(); !reflect.DeepEqual(got, sortedCopy(want)) {
		t.Errorf("hooks properties %v, events %v", got, want)
	}
	for _, e := range Events {
		n := hooks.Properties[e.Name]
		if n == nil {
			continue
		}
		noItems := n.MaxItems != nil && *n.MaxItems == 0
		if noItems == e.TakesScripts {
			t.Errorf("hooks.%s: schema maxItems 0 = %v, but TakesScripts = %v", e.Name, noItems, e.TakesScripts)
		}
	}
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

// schemaValues is the part of the schema that constrains values, read to
// check it against the Go validators.
type schemaValues struct {
	Properties struct {
		OS                 struct{ Enum []string } `json:"os"`
		FileExistsBehavior struct{ Enum []string } `json:"file_exists_behavior"`
	} `json:"properties"`
	Definitions struct {
		Permission struct {
			Properties struct {
				Mode struct{ Pattern string } `json:"mode"`
				ACLs struct {
					Items struct{ Pattern string } `json:"items"`
				} `json:"acls"`
				Type struct {
					Items struct{ Enum []string } `json:"items"`
				} `json:"type"`
			} `json:"properties"`
		} `json:"permission"`
		Context struct {
			Properties struct {
				Range struct{ Pattern string } `json:"range"`
			} `json:"properties"`
		} `json:"context"`
	} `json:"definitions"`
}

// TestSchemaValuesMatchValidator keeps the schema's enums and patterns in
// step with what Validate accepts: the enums list exactly the Go values, and
// every value the Go parsers accept matches the schema's pattern (an editor
// must never flag a valid file; the Go side may be stricter, e.g. about
// c1024 or a base ACL entry).
func TestSchemaValuesMatchValidator(t *testing.T) {
	data, err := os.ReadFile("../docs/appspec.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s schemaValues
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	enums := []struct {
		name      string
		got, want []string
	}{
		{"os", s.Properties.OS.Enum, []string{OSLinux, OSWindows}},
		{"file_exists_behavior", s.Properties.FileExistsBehavior.Enum, []string{string(Disallow), string(Overwrite), string(Retain)}},
		{"permission type", s.Definitions.Permission.Properties.Type.Items.Enum, []string{"file", "directory"}},
	}
	for _, e := range enums {
		if !reflect.DeepEqual(sortedCopy(e.got), sortedCopy(e.want)) {
			t.Errorf("schema enum of %s is %v, Go accepts %v", e.name, e.got, e.want)
		}
	}
	patterns := []struct {
		name    string
		pattern string
		valid   func(string) bool
		samples []string
	}{
		{"mode", s.Definitions.Permission.Properties.Mode.Pattern, validModeDigits,
			[]string{"644", "0644", "4755", "7", "0", "", "8", "12345", "rwx", "06a4"}},
		{"acls", s.Definitions.Permission.Properties.ACLs.Items.Pattern,
			func(v string) bool { _, err := ParseACL(v); return err == nil },
			[]string{"u:bob:rwx", "user:bob:r-x", "g:web:5", "m::rw", "mask::r", "o::r", "d:u:bob:rw", "default:g:web:7",
				"d:o::r", "bob:rw", "default:bob:rw", "d:m::rwx", "u::rwx", "x:bob:r", "u:bob:8", "u:bob:rwq"}},
		{"context range", s.Definitions.Context.Properties.Range.Pattern,
			func(v string) bool { _, err := ParseRange(v); return err == nil },
			[]string{"s0", "s0-s3", "s0:c0.c255", "s0-s15:c0.c1023", "s0:c1,c3.c5,c9", "s3-s1", "s0:c1024", "s0:", "x0"}},
	}
	for _, p := range patterns {
		re, err := regexp.Compile(p.pattern)
		if err != nil {
			t.Errorf("schema pattern of %s does not compile: %v", p.name, err)
			continue
		}
		for _, v := range p.samples {
			if p.valid(v) && !re.MatchString(v) {
				t.Errorf("%s %q is valid for Validate but the schema pattern %s rejects it", p.name, v, p.pattern)
			}
		}
	}
	// mode is the one pattern that must agree both ways.
	re := regexp.MustCompile(s.Definitions.Permission.Properties.Mode.Pattern)
	for _, v := range patterns[0].samples {
		if re.MatchString(v) != validModeDigits(v) {
			t.Errorf("mode %q: schema says %v, Validate says %v", v, re.MatchString(v), validModeDigits(v))
		}
	}
}

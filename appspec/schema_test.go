package appspec

import (
	"encoding/json"
	"os"
	"reflect"
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

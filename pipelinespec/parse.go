package pipelinespec

import (
	"gopkg.in/yaml.v3"

	"github.com/slipwayhq/slipway/internal/yamlwalk"
)

// Bounds of a definition (contract of issue 21).
const (
	MaxFileSize  = 256 << 10 // bytes of a definition file
	MaxNesting   = 32        // how deep mappings and lists may nest
	MaxNameLen   = 100       // pipeline, stage, action, namespace and artifact names
	MaxStages    = 50
	MaxActions   = 50 // per stage
	MaxVariables = 50
	MaxTriggers  = 20
	MaxCommands  = 50  // commands of a Command action
	MaxRunOrder  = 999 // runOrder is 1 to MaxRunOrder
	// MaxFilters is how many push and how many pullRequest filters a trigger has, and
	// MaxPatterns how many includes and how many excludes a filter has (AWS's limits).
	MaxFilters  = 3
	MaxPatterns = 8
	// DefaultApprovalMinutes is a Manual action's timeout when its timeoutInMinutes is absent
	// (7 days, as in CodePipeline); MaxTimeoutMinutes bounds any action's timeoutInMinutes.
	DefaultApprovalMinutes = 7 * 24 * 60
	MaxTimeoutMinutes      = 86400
)

// Defaults Parse fills in.
const (
	DefaultExecutionMode = "SUPERSEDED"
	PipelineTypeV2       = "V2"
)

// Parse decodes and validates a definition (YAML or JSON, with or without the top-level
// pipeline: wrapper) named file in diagnostics. It never panics; the Pipeline is nil when the
// diagnostics have errors. Providers are normalized (CodeCommit → SlipwayRepo, CodeBuild →
// SlipwayBuild, CodeDeploy → SlipwayDeploy), runOrder defaults to 1, executionMode to
// SUPERSEDED, pipelineType to V2.
//
// The diagnostics cover the bounds, YAML syntax, values of the wrong kind, duplicate keys
// (errors), unknown keys (warnings with a did-you-mean), AWS keys that mean nothing here (one
// warning per key, naming it) and every rule of docs/PIPELINE_DEFINITION.md (validate.go).
func Parse(file string, data []byte) (*Pipeline, Diagnostics) {
	return ParseFor(file, data, "")
}

// ParseFor is Parse for an update of the pipeline name: a file without a name takes it, and
// a file naming another pipeline is an error. name "" is Parse.
func ParseFor(file string, data []byte, name string) (*Pipeline, Diagnostics) {
	d := newDecoder(file)
	p := d.document(data)
	if p != nil {
		v := newValidator(d, p)
		if name != "" {
			v.pipelineName(name)
		}
		v.pipeline()
		d.finishIgnored()
	}
	d.diags.sort()
	if d.diags.HasErrors() {
		return nil, d.diags
	}
	return p, d.diags
}

// document decodes the file into a Pipeline (nil when nothing can be read from it).
func (d *decoder) document(data []byte) *Pipeline {
	if len(data) > MaxFileSize {
		d.errorf(nil, "", "the definition is %d bytes, more than the %d (256 KiB) Slipway reads", len(data), MaxFileSize)
		return nil
	}
	var root yaml.Node
	if err := unmarshal(data, &root); err != nil {
		d.syntaxError(err, data)
		return nil
	}
	if root.Kind == 0 || len(root.Content) == 0 || yamlwalk.IsNull(d.Resolve(root.Content[0])) {
		d.errorf(nil, "", "the file is empty; a pipeline definition has a name and stages")
		return nil
	}
	doc := root.Content[0]
	d.record("", doc, nil)
	if r := d.Resolve(doc); r == nil || r.Kind != yaml.MappingNode {
		d.errorf(doc, "", "a pipeline definition must be a mapping of keys (name, stages, ...), not a %s", yamlwalk.KindName(r))
		return nil
	}
	d.Duplicates(doc, "")
	if d.Deep() {
		return nil
	}
	body := d.unwrap(doc)
	if body == nil {
		return nil
	}
	return d.pipeline(body)
}

// unwrap answers the pipeline's mapping: the value of a top-level pipeline: key (AWS's
// create-pipeline input and get-pipeline output, whose metadata and tags are ignored), or
// the document itself.
func (d *decoder) unwrap(doc *yaml.Node) *yaml.Node {
	var wrapped *yaml.Node
	for _, p := range d.Collect(d.Resolve(doc), "") {
		if p.Key == "pipeline" {
			wrapped = p.Val
		}
	}
	if wrapped == nil {
		return doc
	}
	for _, p := range d.mapping(doc, "", "the file", wrapperKeys, wrapperIgnored) {
		_ = p // only pipeline is left
	}
	if r := d.Resolve(wrapped); r == nil || r.Kind != yaml.MappingNode {
		d.errorf(wrapped, "", "pipeline: must be a mapping of keys (name, stages, ...), not a %s", yamlwalk.KindName(r))
		return nil
	}
	return wrapped
}

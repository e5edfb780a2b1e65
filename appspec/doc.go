// Package appspec reads AWS CodeDeploy AppSpec files (EC2/on-premises,
// version 0.0) the way CodeDeploy does, and reports what CodeDeploy lets
// through silently.
//
// The flow is Parse → Validate → Plan:
//
//   - Parse decodes YAML with gopkg.in/yaml.v3's node API so that every
//     value keeps its line and column; it handles comments, anchors,
//     aliases and merge keys, and reports duplicate keys (error), unknown
//     keys (warning) and values of the wrong kind.
//   - Validate checks the meaning of the values (Load runs both).
//     ValidateFile and ValidateBundle are the entry points of
//     `slipway appspec validate`; FindSpec finds the spec in a bundle.
//   - Plan turns a valid spec, an unpacked bundle, the previous install's
//     cleanup record and a view of the host into an InstallPlan: data the
//     agent's Install event executes, testable without touching /.
//
// Diagnostics are typed values (Diagnostic) rendered once at the edge as
// "path:line:col: message" or as JSON. Events is the one ordered table of
// lifecycle events. The package does no network I/O and reads only the
// files it is asked to.
package appspec

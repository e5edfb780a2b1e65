// Package buildspec reads AWS CodeBuild buildspec files (versions 0.1 and
// 0.2) the way CodeBuild does, and reports what CodeBuild lets through
// silently. docs/BUILDSPEC.md is the spec it follows.
//
// The flow is Parse → Validate (Load runs both):
//
//   - Parse decodes YAML with gopkg.in/yaml.v3's node API so that every
//     value keeps its line and column; it handles comments, anchors,
//     aliases and merge keys, keeps commands as written (a "- false" item
//     is the command false, a block scalar one command), applies the
//     bounds (MaxFileSize, MaxCommands, MaxCommandBytes, MaxNesting), and
//     reports duplicate keys (error), unknown keys (warning with a
//     did-you-mean) and values of the wrong kind.
//   - Validate checks the meaning of the values: version, phase names,
//     on-failure, shells, variable names, globs, report formats, cache
//     actions and the batch (one kind, identifiers, dependencies, size).
//
// Diagnostics are typed values (Diagnostic, the same shape as package
// appspec's) rendered once at the edge as "path:line:col: message" or as
// JSON. Match and CheckPattern are the globs of artifacts, reports and
// cache, with "**". The package does no I/O.
package buildspec

// Package mutate checks the checks: it puts one-line bugs into a scratch copy of the tree, one at
// a time, runs the tests that should notice each, and reports which were caught.
//
// The list of mutations is YAML (scripts/mutate/mutations.yml holds the project's). Each names the
// rule it breaks, the file, a text that occurs exactly once in it, the text that replaces it, and
// the packages whose tests must fail. A mutation whose text no longer occurs once is stale: the
// code moved, and the list must follow it, so the check refuses to run rather than report a
// mutation it did not make.
package mutate

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Mutation is one bug put in on purpose.
type Mutation struct {
	// Name says which rule the bug breaks, as a reader of the report needs it.
	Name string `yaml:"name"`
	// File is the path, relative to the tree's root, of the file to change.
	File string `yaml:"file"`
	// Find must occur exactly once in File; Replace takes its place.
	Find    string `yaml:"find"`
	Replace string `yaml:"replace"`
	// Packages are the go test patterns whose tests must fail (for example ./server/deploy/).
	Packages []string `yaml:"packages"`
	// Run, when set, is go test's -run: the tests that own the rule, where a package's whole
	// suite would take minutes.
	Run string `yaml:"run,omitempty"`
}

// Load reads a mutation list and checks its shape: every entry named once, with a file, a find
// text that differs from its replacement, and at least one package.
func Load(path string) ([]Mutation, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var ms []Mutation
	if err := dec.Decode(&ms); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	seen := map[string]bool{}
	var errs []error
	for i, m := range ms {
		where := fmt.Sprintf("%s: mutation %d (%q)", path, i+1, m.Name)
		switch {
		case m.Name == "":
			errs = append(errs, fmt.Errorf("%s: no name; say which rule the bug breaks", where))
		case seen[m.Name]:
			errs = append(errs, fmt.Errorf("%s: the name is used twice", where))
		case m.File == "" || filepath.IsAbs(m.File) || !filepath.IsLocal(m.File):
			errs = append(errs, fmt.Errorf("%s: file %q must be a path inside the tree", where, m.File))
		case m.Find == "" || m.Find == m.Replace:
			errs = append(errs, fmt.Errorf("%s: find must be non-empty and differ from replace", where))
		case len(m.Packages) == 0:
			errs = append(errs, fmt.Errorf("%s: no packages; name the tests that must catch it", where))
		}
		if m.Run != "" {
			if _, err := regexp.Compile(m.Run); err != nil {
				errs = append(errs, fmt.Errorf("%s: run: %w", where, err))
			}
		}
		seen[m.Name] = true
	}
	return ms, errors.Join(errs...)
}

// Check reports every mutation of ms that cannot be applied to the tree at root: its file is
// missing, or its find text does not occur in it exactly once.
func Check(root string, ms []Mutation) error {
	var errs []error
	for _, m := range ms {
		if _, err := m.apply(root); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// apply returns the content of m's file with the mutation made.
func (m Mutation) apply(root string) ([]byte, error) {
	src, err := os.ReadFile(filepath.Join(root, m.File))
	if err != nil {
		return nil, fmt.Errorf("%q: %w", m.Name, err)
	}
	switch n := strings.Count(string(src), m.Find); n {
	case 1:
		return []byte(strings.Replace(string(src), m.Find, m.Replace, 1)), nil
	case 0:
		return nil, fmt.Errorf("%q is stale: %s no longer contains %q; update the mutation to the code", m.Name, m.File, m.Find)
	default:
		return nil, fmt.Errorf("%q is ambiguous: %s contains %q %d times; quote more of the line", m.Name, m.File, m.Find, n)
	}
}

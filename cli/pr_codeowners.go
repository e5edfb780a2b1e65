package cli

import (
	"strconv"
	"strings"

	"github.com/slipwayhq/slipway/pkg/api"
)

// printCodeOwners prints, after `pr evaluate`'s table, the paths each CODEOWNERS rule covers
// and the CODEOWNERS file read with its problems (a bad line is skipped, so its owners are not
// asked for: the author of the file wants to know).
func printCodeOwners(p *printer, e *api.PullRequestEvaluation) error {
	if e.CodeOwners == nil {
		return nil
	}
	f := e.CodeOwners
	if err := p.Linef("CODEOWNERS: %s at %s", cell(f.Path), cell(f.Commit)); err != nil {
		return err
	}
	for _, d := range f.Diagnostics {
		where := "file"
		if d.Line > 0 {
			where = "line " + strconv.Itoa(d.Line)
		}
		if err := p.Linef("  %s: %s", where, cell(d.Message)); err != nil {
			return err
		}
	}
	for _, r := range e.Rules {
		if r.Origin != api.RuleOriginCodeOwners || len(r.Paths) == 0 {
			continue
		}
		paths := make([]string, len(r.Paths))
		for i, s := range r.Paths {
			paths[i] = cell(s)
		}
		more := ""
		if r.MorePaths > 0 {
			more = " and " + strconv.Itoa(r.MorePaths) + " more"
		}
		if err := p.Linef("%s covers %s%s", cell(r.Name), strings.Join(paths, ", "), more); err != nil {
			return err
		}
	}
	return nil
}

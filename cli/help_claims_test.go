package cli

import (
	"context"
	"regexp"
	"strings"
	"testing"
)

// unshipped names the services a help page could promise before the release has them, each
// with the top-level command that would ship it.
var unshipped = []struct {
	claim   *regexp.Regexp
	command string
}{
	{regexp.MustCompile(`(?i)\b(git hosting|repositor(y|ies))\b`), "repo"},
	{regexp.MustCompile(`(?i)\b(builds|buildspec)\b`), "build"},
	{regexp.MustCompile(`(?i)\bpipelines?\b`), "pipeline"},
	{regexp.MustCompile(`(?i)\btemplates?\b`), "stack"},
}

// shipped are words the claims would match that name what ships: code review's approval rule
// templates (slipway repo approval-template) are not a stack's.
var shipped = regexp.MustCompile(`(?i)\bapproval[- ](rule[- ])?templates?\b`)

// TestHelpClaimsOnlyWhatShips renders every command's --help and fails when one speaks of
// repositories, builds, pipelines or templates while the command that would provide them does
// not exist: the help promised them before they shipped.
func TestHelpClaimsOnlyWhatShips(t *testing.T) {
	t.Parallel()
	paths := commandPaths(t)
	top := map[string]bool{}
	for _, p := range paths {
		if len(p) == 1 {
			top[p[0]] = true
		}
	}
	for _, p := range paths {
		res := runWith(t, context.Background(), nil, append(p, "--help")...)
		if res.code != 0 {
			t.Errorf("slipway %s --help: exit %d, stderr %q", strings.Join(p, " "), res.code, res.stderr)
			continue
		}
		for _, u := range unshipped {
			if m := u.claim.FindString(shipped.ReplaceAllString(res.stdout, "")); m != "" && !top[u.command] {
				t.Errorf("slipway %s --help speaks of %q, but there is no `slipway %s`", strings.Join(p, " "), m, u.command)
			}
		}
	}
}

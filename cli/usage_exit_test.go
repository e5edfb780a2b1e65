package cli

import (
	"strings"
	"testing"
)

// TestUsageErrorsExitTwo runs the real root command with command lines the CLI can refuse by
// itself (malformed tag, unknown enum value, bad duration or number, missing argument) across
// commands. Each must exit 2 with a message that names the mistake, and send no request: the
// server's refusals exit 1, so a usage error that reached the server would be reported as a
// failure.
func TestUsageErrorsExitTwo(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"group tag without =", []string{"group", "create", "--app", "web", "prod", "--tag", "envdev"}, `tag "envdev" must be key=value`},
		{"group unknown auto-rollback", []string{"group", "create", "--app", "web", "prod", "--tag", "env=prod", "--auto-rollback", "yes"},
			`invalid --auto-rollback "yes": want on-failure, on-stop or off`},
		{"group update unknown auto-rollback", []string{"group", "update", "--app", "web", "prod", "--host", "web-1", "--auto-rollback", "On-Failure"},
			`invalid --auto-rollback "On-Failure"`},
		{"group without members", []string{"group", "create", "--app", "web", "prod"}, "give --tag key=value or --host NAME"},
		{"group without --app", []string{"group", "create", "prod", "--tag", "env=prod"}, "--app is required"},
		{"group without name", []string{"group", "create", "--app", "web"}, "missing NAME"},
		{"deploy without revision", []string{"deploy", "create", "--app", "web", "--group", "prod"}, "--revision"},
		{"deploy group and hosts", []string{"deploy", "create", "--app", "web", "--revision", "r", "--group", "prod", "--host", "web-1"}, "either --group or at least one --host"},
		{"deploy get without ID", []string{"deploy", "get"}, "missing ID"},
		{"host token bad ttl", []string{"host", "token", "create", "--ttl", "tomorrow"}, `invalid --ttl "tomorrow"`},
		{"host token bad tag", []string{"host", "token", "create", "--tag", "role"}, `tag "role" must be key=value`},
		{"host token negative max-uses", []string{"host", "token", "create", "--max-uses", "-1"}, "invalid --max-uses -1"},
		{"host tag bad tag", []string{"host", "tag", "web-1", "quarantined"}, `tag "quarantined" must be key=value`},
		{"host tag nothing to do", []string{"host", "tag", "web-1"}, "give tags to set"},
		{"token unknown type", []string{"token", "create", "--name", "ci", "--type", "admin"}, `invalid --type "admin"`},
		{"token bad ttl", []string{"token", "create", "--name", "ci", "--ttl", "soon"}, `invalid argument "soon" for "--ttl"`},
		{"token negative ttl", []string{"token", "create", "--name", "ci", "--ttl", "-1h"}, "must not be negative"},
		{"token without name", []string{"token", "create"}, "--name is required"},
		{"app create without name", []string{"app", "create"}, "missing NAME"},
		{"app update bad cas", []string{"app", "update", "web", "--description", "x", "--cas", "-3"}, `invalid argument "-3" for "--cas"`},
		{"kv put without value", []string{"kv", "put", "k"}, "missing VALUE"},
		{"kv delete cas 0", []string{"kv", "delete", "k", "--cas", "0"}, "--cas 0 means create only"},
		{"revision push without --app", []string{"revision", "push", "."}, "--app is required"},
		{"revision get without ID", []string{"revision", "get"}, "missing ID"},
		{"config neither kind", []string{"config", "create", "c"}, "give exactly one of --min-healthy-hosts and --min-healthy-percent"},
		{"config percent too high", []string{"config", "create", "c", "--min-healthy-percent", "100"}, "invalid --min-healthy-percent 100: give 0 to 99"},
		{"config negative hosts", []string{"config", "create", "c", "--min-healthy-hosts", "-1"}, "invalid --min-healthy-hosts -1: give 0 or more"},
		{"config bad number", []string{"config", "create", "c", "--min-healthy-hosts", "two"}, `invalid argument "two" for "--min-healthy-hosts"`},
		{"bad output format", []string{"group", "list", "--app", "web", "--output", "yaml"}, `invalid --output "yaml"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeAPI(t)
			res := runAgainst(t, f, tc.args...)
			if res.code != ExitUsage {
				t.Errorf("slipway %s: exit %d, want %d (usage); stderr %q", strings.Join(tc.args, " "), res.code, ExitUsage, res.stderr)
			}
			if !strings.Contains(res.stderr, tc.want) || !strings.Contains(res.stderr, "--help')") {
				t.Errorf("slipway %s: stderr %q, want it to contain %q and point to --help", strings.Join(tc.args, " "), res.stderr, tc.want)
			}
			if reqs := f.requests(); len(reqs) != 0 {
				t.Errorf("slipway %s sent %v; a usage error must be found before any request", strings.Join(tc.args, " "), requestLines(reqs))
			}
		})
	}
}

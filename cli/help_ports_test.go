package cli

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/server/core/config"
)

// portInHelp finds the port of a server URL in help text (http://host:N, https://host:N). A
// listen address such as --http-addr 127.0.0.1:8400 may name any port and is not matched.
var portInHelp = regexp.MustCompile(`https?://[^\s/:,'"]+:(\d+)`)

// TestHelpNamesOnlyRealPorts renders every command's --help and fails on 4646 (once printed
// in examples) or on a server URL whose port is not the server's default HTTP port.
func TestHelpNamesOnlyRealPorts(t *testing.T) {
	t.Parallel()
	want := strconv.Itoa(config.DefaultHTTPPort)
	paths := commandPaths(t)
	for _, p := range paths {
		res := runWith(t, context.Background(), nil, append(p, "--help")...)
		if res.code != 0 {
			t.Errorf("slipway %s --help: exit %d, stderr %q", strings.Join(p, " "), res.code, res.stderr)
			continue
		}
		if strings.Contains(res.stdout, "4646") {
			t.Errorf("slipway %s --help mentions 4646", strings.Join(p, " "))
		}
		for _, m := range portInHelp.FindAllStringSubmatch(res.stdout, -1) {
			if m[1] != want {
				t.Errorf("slipway %s --help names %q; the server's HTTP port is %s", strings.Join(p, " "), m[0], want)
			}
		}
	}
}

// commandPaths lists every command of the tree (the root as nil), completion commands aside.
func commandPaths(t *testing.T) [][]string {
	t.Helper()
	root := NewRootCommand(Options{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}})
	var paths [][]string
	var walk func(cmd *cobra.Command, path []string)
	walk = func(cmd *cobra.Command, path []string) {
		if cmd.Name() == cobra.ShellCompRequestCmd || cmd.Name() == cobra.ShellCompNoDescRequestCmd {
			return
		}
		paths = append(paths, path)
		for _, sub := range cmd.Commands() {
			walk(sub, append(append([]string(nil), path...), sub.Name()))
		}
	}
	walk(root, nil)
	if len(paths) < 20 {
		t.Fatalf("walked only %d commands", len(paths))
	}
	return paths
}

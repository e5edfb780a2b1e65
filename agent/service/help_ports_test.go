package service

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

// portInHelp finds the port of a server URL in help text (http://host:N, https://host:N). A
// listen address such as --http-addr 127.0.0.1:8400 may name any port and is not matched.
var portInHelp = regexp.MustCompile(`https?://[^\s/:,'"]+:(\d+)`)

// TestHelpNamesOnlyTheServerPort renders every command's --help and fails on a server port
// other than the server's default (4646 was once printed in examples; the server listens on
// the port of api.DefaultAddress).
func TestHelpNamesOnlyTheServerPort(t *testing.T) {
	isolate(t)
	u, err := url.Parse(api.DefaultAddress)
	if err != nil {
		t.Fatal(err)
	}
	want := u.Port()
	root := (&app{}).rootCommand()
	paths := [][]string{nil}
	for _, sub := range root.Commands() {
		if sub.Name() != cobra.ShellCompRequestCmd && sub.Name() != cobra.ShellCompNoDescRequestCmd {
			paths = append(paths, []string{sub.Name()})
		}
	}
	for _, p := range paths {
		res := runMain(t, nil, Options{}, append(p, "--help")...)
		if res.code != 0 {
			t.Errorf("slipway-agent %s --help: exit %d", strings.Join(p, " "), res.code)
			continue
		}
		if strings.Contains(res.stdout, "4646") {
			t.Errorf("slipway-agent %s --help mentions 4646", strings.Join(p, " "))
		}
		for _, m := range portInHelp.FindAllStringSubmatch(res.stdout, -1) {
			if m[1] != want {
				t.Errorf("slipway-agent %s --help names %q; the server's port is %s", strings.Join(p, " "), m[0], want)
			}
		}
	}
}

// Command slipway-agent is the host agent. This release ships only its version command; the
// service, session and deployment lifecycle arrive with the agent milestone.
package main

import (
	"fmt"
	"os"

	"github.com/slipwayhq/slipway/internal/version"
)

func main() {
	if len(os.Args) == 2 && (os.Args[1] == "version" || os.Args[1] == "--version") {
		fmt.Printf("slipway-agent %s (%s)\n", version.Version, version.Commit())
		return
	}
	fmt.Fprintln(os.Stderr, "slipway-agent: only 'version' is available in this release; the agent service is not built yet")
	os.Exit(2)
}

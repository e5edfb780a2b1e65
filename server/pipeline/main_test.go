package pipeline_test

import (
	"os"
	"testing"

	"github.com/slipwayhq/slipway/server/git/transport"
)

// TestMain lets this test binary be the git hooks of the real pushes the tests make (the git
// service's hook scripts run `TEST_BINARY git-hook NAME`).
func TestMain(m *testing.M) {
	transport.RunHookIfInvoked()
	os.Exit(m.Run())
}

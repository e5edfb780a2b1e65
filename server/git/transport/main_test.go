package transport_test

import (
	"os"
	"testing"

	"github.com/slipwayhq/slipway/server/git/transport"
)

// TestMain lets this test binary be the hooks: the scripts the transport writes run
// `TEST_BINARY git-hook NAME` (Config.HookBinary defaults to os.Executable()).
func TestMain(m *testing.M) {
	transport.RunHookIfInvoked()
	os.Exit(m.Run())
}

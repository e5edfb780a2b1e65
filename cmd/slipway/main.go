// Command slipway is Slipway's command line and server: `slipway <noun> <verb>` talks to a
// cluster; `slipway server` and `slipway dev` run one.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/slipwayhq/slipway/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

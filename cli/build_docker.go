package cli

import (
	"context"
	"fmt"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/slipwayhq/slipway/builder/executor/docker"
)

// dockerFlags are the flags of `build local` that shape the Docker
// executor's container; they need --image.
type dockerFlags struct {
	pull       bool
	network    string
	memory     string
	cpus       float64
	pidsLimit  int64
	privileged bool
}

func (f *dockerFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&f.pull, "pull", false, "with --image: pull the image when it is not on this host")
	fs.StringVar(&f.network, "network", "", `with --image: the container's network mode ("none", "host", a network's name; default the engine's bridge)`)
	fs.StringVar(&f.memory, "memory", "", "with --image: the container's memory limit (512m, 2g)")
	fs.Float64Var(&f.cpus, "cpus", 0, "with --image: the CPUs the container may use (1.5)")
	fs.Int64Var(&f.pidsLimit, "pids-limit", 0, "with --image: the most processes the container may have")
	fs.BoolVar(&f.privileged, "privileged", false, "with --image: run the container privileged (Docker in Docker)")
}

// validate refuses Docker flags without --image and values the executor
// would refuse, as usage errors.
func (f *dockerFlags) validate(cmd *cobra.Command, image string) error {
	if image == "" {
		for _, name := range []string{"pull", "network", "memory", "cpus", "pids-limit", "privileged"} {
			if cmd.Flags().Changed(name) {
				return usagef("--%s shapes the Docker executor's container: give --image IMAGE too, or leave --%s out", name, name)
			}
		}
		return nil
	}
	if _, err := f.config(image); err != nil {
		return usagef("%v", err)
	}
	return nil
}

func (f *dockerFlags) config(image string) (docker.Config, error) {
	cfg := docker.Config{Image: image, Pull: f.pull, Network: f.network, CPUs: f.cpus, PidsLimit: f.pidsLimit, Privileged: f.privileged}
	if f.memory != "" {
		n, err := units.RAMInBytes(f.memory)
		if err != nil || n <= 0 {
			return cfg, fmt.Errorf("--memory %q: give a size such as 512m or 2g", f.memory)
		}
		cfg.Memory = n
	}
	if f.cpus < 0 {
		return cfg, fmt.Errorf("--cpus %g: give a positive number of CPUs, such as 1.5", f.cpus)
	}
	if f.pidsLimit < 0 {
		return cfg, fmt.Errorf("--pids-limit %d: give a positive number of processes", f.pidsLimit)
	}
	return cfg, cfg.Validate()
}

// executor makes the Docker executor and checks, before any phase, that
// the engine answers and the image is there.
func (f *dockerFlags) executor(ctx context.Context, image string) (*docker.Docker, error) {
	cfg, err := f.config(image)
	if err != nil {
		return nil, usagef("%v", err)
	}
	d, err := docker.New(cfg)
	if err != nil {
		return nil, err
	}
	if err := d.Check(ctx); err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("%w; or leave --image out to use the process executor", err)
	}
	return d, nil
}

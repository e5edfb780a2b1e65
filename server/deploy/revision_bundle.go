package deploy

import (
	"errors"
	"io"
	"strings"

	"github.com/slipwayhq/slipway/appspec"
	"github.com/slipwayhq/slipway/pkg/bundle"
	"github.com/slipwayhq/slipway/server/core/fault"
)

// checkBundle is CodeDeploy's upload rule and a bit more: the upload must be a readable tar,
// tar.gz or zip archive (bundle.Inspect: every tar header read, a zip's directory loaded, names
// that agents would refuse refused) with a valid AppSpec where agents look for it
// (appspec.yml or appspec.yaml at its root, or inside its only folder). The API is open to
// clients that skip the CLI's checks, so the server makes them itself. The work is bounded:
// a tar.gz is decompressed up to what an agent unpacks by default (100 times its size, at least
// 64 MiB, at most 8 GiB); past that the entries read so far are judged and the agents' own
// limits do the rest.
func checkBundle(r io.ReaderAt, size int64) error {
	in, err := bundle.Inspect(r, size, bundle.Limits{MaxExpansion: uploadScanExpansion})
	switch {
	case errors.Is(err, bundle.ErrUnknownFormat):
		return fault.New(fault.Invalid, "the upload is not a tar, tar.gz or zip archive: push a bundle folder or archive with slipway revision push")
	case errors.Is(err, bundle.ErrNoSpec):
		return fault.New(fault.Invalid, "%v: put the AppSpec file at the top of the bundle (CodeDeploy's rule); nothing was stored", err)
	case errors.Is(err, bundle.ErrDamaged):
		return fault.New(fault.Invalid, "the upload is not a readable archive (%v); nothing was stored: was it cut short or corrupted?", err)
	case err != nil:
		return fault.New(fault.Invalid, "agents would refuse this bundle: %v; nothing was stored", err)
	}
	_, diags := appspec.Load(in.SpecPath, in.Spec)
	if diags.HasErrors() {
		errs := diags.Errors()
		return fault.New(fault.Invalid, "the bundle's %s has %d error(s); nothing was stored (slipway appspec validate shows them too):\n%s",
			in.SpecPath, len(errs), strings.TrimRight(errs.String(), "\n"))
	}
	return nil
}

// uploadScanExpansion bounds checkBundle's work on a tar.gz, as the agent's default
// bundle_max_expansion bounds unpacking.
const uploadScanExpansion = 100

package lifecycle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/slipwayhq/slipway/agent/config"
	"github.com/slipwayhq/slipway/appspec"
	"github.com/slipwayhq/slipway/pkg/bundle"
	"github.com/slipwayhq/slipway/pkg/bytesize"
)

// downloadBundle fetches the revision into <deployment>/bundle, checks its sha256, unpacks it
// into <deployment>/deployment-archive with pkg/bundle (which refuses any entry that would
// land outside it, and stops at Config.BundleLimits: by default 100 times the downloaded size,
// at least 64 MiB, at most 8 GiB), and loads and validates the appspec it holds. It leaves the
// spec and the bundle root (the folder holding the appspec) in the deployment for the later
// events.
//
// Unpacking is all or nothing: the bundle is unpacked into a staging folder that is renamed to
// deployment-archive only when complete. On any refusal or error (a bomb, an escaping entry, a
// damaged archive, a full disk) the staging folder and the downloaded bundle are removed, so the
// failed deployment's folder keeps only its logs. Setuid, setgid and sticky bits in the bundle
// are dropped; only the AppSpec's permissions section can set them on installed files.
type downloadBundle struct{}

func (downloadBundle) run(ctx context.Context, d *deployment) outcome {
	dst := d.bundleFile()
	if err := d.fetcher.Fetch(ctx, d.run.Revision, dst); err != nil {
		return failed(fmt.Sprintf("download revision %s: %v", d.run.Revision.ID, err))
	}
	if want := strings.ToLower(d.run.Revision.SHA256); want != "" {
		got, err := fileSHA256(dst)
		if err != nil {
			return failed(fmt.Sprintf("verify bundle: %v", err))
		}
		if got != want {
			return failed(fmt.Sprintf("bundle sha256 is %s, expected %s: the download is corrupt", got, want))
		}
	}
	archive := d.archiveDir()
	if err := bundle.RemoveTree(archive); err != nil {
		return failed(fmt.Sprintf("clear %s: %v", archive, err))
	}
	lim := d.r.cfg.BundleLimits
	lim.ArchiveSize = 0 // UnpackFile takes the downloaded file's size
	if err := bundle.UnpackFileStaged(dst, archive, lim); err != nil {
		msg := unpackMessage(err)
		if rerr := os.Remove(dst); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			msg += fmt.Sprintf(" (removing the refused bundle also failed: %v)", rerr)
		}
		return failed(msg)
	}
	specPath, err := appspec.FindSpec(archive)
	if err != nil {
		return failed(err.Error())
	}
	data, err := os.ReadFile(specPath)
	if err != nil {
		return failed(fmt.Sprintf("read appspec: %v", err))
	}
	rel, _ := filepath.Rel(archive, specPath)
	spec, diags := appspec.Load(rel, data)
	if diags.HasErrors() {
		return failed("the appspec is not valid:\n" + strings.TrimRight(diags.Errors().String(), "\n"))
	}
	if spec.OS != runtime.GOOS {
		return failed(fmt.Sprintf("the appspec is for os %q but this host runs %s", spec.OS, runtime.GOOS))
	}
	d.spec, d.bundleRoot = spec, filepath.Dir(specPath)
	msg := fmt.Sprintf("revision %s unpacked", d.run.Revision.ID)
	if len(diags) > 0 {
		msg += "; appspec warnings:\n" + strings.TrimRight(diags.String(), "\n")
	}
	return succeeded(msg)
}

func unpackMessage(err error) string {
	var ee *bundle.EntryError
	var se *bundle.SizeError
	switch {
	case errors.As(err, &se):
		expansion, size := config.BundleSettingNames()
		setting := size
		if se.ByExpansion {
			setting = expansion + " or, past " + bytesize.Format(se.MaxBytes) + ", " + size
		}
		return fmt.Sprintf("bundle refused and nothing kept: %v. If the bundle is genuine, raise %s in the agent's configuration", err, setting)
	case errors.Is(err, bundle.ErrUnsafePath), errors.Is(err, bundle.ErrUnsafeLink), errors.Is(err, bundle.ErrThroughLink):
		name := ""
		if errors.As(err, &ee) {
			name = fmt.Sprintf(" (entry %q)", ee.Name)
		}
		return fmt.Sprintf("bundle refused and nothing kept: it has an entry that would be written outside the deployment archive%s: %v", name, err)
	default:
		return fmt.Sprintf("unpack bundle (nothing kept): %v", err)
	}
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

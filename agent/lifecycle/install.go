package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/appspec"
)

// install plans the install with appspec.Plan (from the unpacked bundle, the group's previous
// cleanup record and the host) and executes the plan: the previous install's paths are removed
// in reverse, folders created, files and symlinks copied (file_exists_behavior decided by the
// plan), permissions applied in order (mode, ACLs, SELinux context, owner). Then it writes the
// group's install record (the executed plan) and cleanup record, and marks this deployment as
// the group's last successful install: as in CodeDeploy, "last successful" means the install
// succeeded, so a deployment that fails later (say at ValidateService) still has its
// ApplicationStop run by the next deployment, to stop what its ApplicationStart started.
//
// When the install fails after the previous install was removed, the cleanup record is still
// rewritten with the paths this install did create, so the next install removes them.
type install struct{}

func (install) run(_ context.Context, d *deployment) outcome {
	r, group := d.r, d.run.GroupID
	previous, err := r.previousCleanup(group)
	if err != nil {
		return failed(err.Error())
	}
	plan, err := appspec.Plan(appspec.PlanInput{
		Spec:        d.spec.Rooted(r.cfg.InstallRoot),
		Bundle:      os.DirFS(d.bundleRoot),
		Previous:    previous,
		Destination: r.cfg.Destination,
	})
	if err != nil {
		return failed(err.Error())
	}
	if err := writeFileSync(r.mostRecentFile(group), []byte(d.dir+"\n"), 0o644); err != nil {
		return failed(fmt.Sprintf("write most recent install record: %v", err))
	}
	for _, w := range plan.Warnings {
		d.logs.note(time.Now(), "Install", "agent", "warning: "+w)
	}

	ex := &installer{plan: plan, bundleRoot: d.bundleRoot, created: map[string]bool{}}
	applyErr := ex.apply()
	for _, w := range ex.warnings {
		d.logs.note(time.Now(), "Install", "agent", "warning: "+w)
	}
	if ex.removed {
		var cleanup []string
		for _, p := range plan.Cleanup {
			if ex.created[p] {
				cleanup = append(cleanup, p)
			}
		}
		if err := writeFileSync(r.cleanupFile(group), appspec.EncodeCleanup(cleanup), 0o644); err != nil && applyErr == nil {
			applyErr = fmt.Errorf("write cleanup record: %w", err)
		}
	}
	if applyErr != nil {
		return failed(applyErr.Error())
	}
	record, err := json.MarshalIndent(plan, "", "  ")
	if err != nil {
		return failed(fmt.Sprintf("encode install record: %v", err))
	}
	if err := writeFileSync(r.installRecordFile(group), record, 0o644); err != nil {
		return failed(fmt.Sprintf("write install record: %v", err))
	}
	if err := writeFileSync(r.lastSuccessfulFile(group), []byte(d.dir+"\n"), 0o644); err != nil {
		return failed(fmt.Sprintf("write last successful install record: %v", err))
	}
	msg := fmt.Sprintf("%d removed, %d folders, %d files, %d permission steps", len(plan.Remove), len(plan.Mkdirs), len(plan.Copies), len(plan.Permissions))
	if ws := append(plan.Warnings, ex.warnings...); len(ws) > 0 {
		msg += "; warnings: " + strings.Join(ws, "; ")
	}
	return succeeded(msg)
}

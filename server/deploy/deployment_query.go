package deploy

import (
	"sort"
	"strconv"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// DeploymentQuery selects a page of deployments, oldest first: of App and Group when set (a
// group name, of any app unless App is set), with Status when set, created at or after Since
// when it is not zero; after the cursor After (the Next of the previous page, "" for the first)
// and at most Limit of them (0: all).
type DeploymentQuery struct {
	App, Group, Status string
	Since              time.Time
	After              string
	Limit              int
}

// deploymentStatuses are the statuses a deployment list may be filtered by.
var deploymentStatuses = []string{DeploymentInProgress, DeploymentSucceeded, DeploymentFailed, DeploymentStopped}

// check refuses a query with an invalid name, status or cursor, saying what is allowed.
func (q DeploymentQuery) check() (after uint64, err error) {
	if q.App != "" {
		if err := state.ValidateName("application", q.App); err != nil {
			return 0, err
		}
	}
	if q.Group != "" {
		if err := state.ValidateName("deployment group", q.Group); err != nil {
			return 0, err
		}
	}
	if q.Status != "" {
		known := false
		for _, s := range deploymentStatuses {
			known = known || s == q.Status
		}
		if !known {
			return 0, fault.New(fault.Invalid, "status %s is not a deployment status: use one of %v", state.Shorten(q.Status), deploymentStatuses)
		}
	}
	if q.After != "" {
		if after, err = strconv.ParseUint(q.After, 10, 64); err != nil {
			return 0, fault.New(fault.Invalid, "next %s is not a cursor from a deployment list: pass the next value you were given", state.Shorten(q.After))
		}
	}
	return after, nil
}

// Query returns the page of deployments q selects, oldest first, and the cursor of the next
// page ("" when no more match). Records are filtered before they are turned into the API's view,
// so only the page's deployments are.
func (s Deployments) Query(q DeploymentQuery) (page []pub.Deployment, next string, err error) {
	after, err := q.check()
	if err != nil {
		return nil, "", err
	}
	page = []pub.Deployment{}
	err = s.core.State.View(func(tx *state.Tx) error {
		// Headers only: filtering needs no host's part, and only the page is assembled.
		list, _, err := state.List(tx, bucketDeployments, "", 0, func(d *Deployment) bool { return q.App == "" || d.App == q.App })
		if err != nil {
			return err
		}
		keep := list[:0]
		for _, d := range list {
			if d.CreateIndex > after && (q.Group == "" || d.Group == q.Group) && (q.Status == "" || d.Status == q.Status) &&
				!d.CreateTime.Before(q.Since) {
				keep = append(keep, d)
			}
		}
		sort.Slice(keep, func(i, j int) bool { return keep[i].CreateIndex < keep[j].CreateIndex })
		if q.Limit > 0 && len(keep) > q.Limit {
			keep = keep[:q.Limit]
			next = strconv.FormatUint(keep[len(keep)-1].CreateIndex, 10)
		}
		for _, d := range keep {
			whole, err := assemble(tx, d)
			if err != nil {
				return err
			}
			page = append(page, deploymentView(whole))
		}
		return nil
	})
	return page, next, err
}

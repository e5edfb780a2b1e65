package deploy

import (
	"sort"
	"strconv"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// DeploymentQuery selects a page of deployments: of App and Group when set (a group name, of any
// app unless App is set), targeting the host named Host when set, with Status when set, created
// at or after Since when it is not zero; oldest first, or newest first with Newest; after the
// cursor After (the Next of the previous page, "" for the first) and at most Limit of them (0:
// all).
//
// The cursor is the create index of the previous page's last deployment: the next page holds
// the deployments created after it (oldest first) or before it (newest first), so a page never
// repeats or skips one, whatever was created meanwhile (newest first, those created since the
// first page are not in later pages: read from "" again to see them).
//
// A Host query reads the host's deployments from their index (bucketByHost), not every
// deployment, and each listed deployment carries that host's own status (HostStatus).
type DeploymentQuery struct {
	App, Group, Status string
	Host               string
	Newest             bool
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

// Query returns the page of deployments q selects and the cursor of the next page ("" when no
// more match). Records are filtered before they are turned into the API's view, so only the
// page's deployments are.
func (s Deployments) Query(q DeploymentQuery) (page []pub.Deployment, next string, err error) {
	after, err := q.check()
	if err != nil {
		return nil, "", err
	}
	page = []pub.Deployment{}
	err = s.core.State.View(func(tx *state.Tx) error {
		var keep []Deployment
		hostID := ""
		if q.Host != "" {
			h, err := tx.HostByName(q.Host)
			if fault.CodeOf(err) == fault.NotFound {
				return fault.New(fault.NotFound, "host %s not found: see slipway host list for the hosts' names", state.Shorten(q.Host))
			} else if err != nil {
				return err
			}
			hostID = h.ID
			keep, err = q.ofHost(tx, hostID, after)
			if err != nil {
				return err
			}
		} else {
			keep, err = q.ofAll(tx, after)
			if err != nil {
				return err
			}
		}
		if q.Limit > 0 && len(keep) > q.Limit {
			keep = keep[:q.Limit]
			next = strconv.FormatUint(keep[len(keep)-1].CreateIndex, 10)
		}
		for _, d := range keep {
			if hostID != "" {
				page = append(page, hostView(tx, d, hostID))
				continue
			}
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

// hostView is a deployment (d a header) as a host's list shows it: with that host's target
// only, and its status as HostStatus, read without the rest of the fleet's targets.
func hostView(tx *state.Tx, d Deployment, hostID string) pub.Deployment {
	tg, ok := readTarget(tx, d, hostID)
	d.Targets = map[string]*Target{}
	if ok {
		d.Targets[hostID] = tg
	}
	v := deploymentView(d)
	if ok {
		v.HostStatus = tg.Status
	}
	return v
}

// matches reports whether a deployment's header passes q's filters (all but Host and After).
func (q DeploymentQuery) matches(d *Deployment) bool {
	return (q.App == "" || d.App == q.App) && (q.Group == "" || d.Group == q.Group) &&
		(q.Status == "" || d.Status == q.Status) && !d.CreateTime.Before(q.Since)
}

// ofAll returns every deployment's header q selects past the cursor, in q's order: it reads
// every header.
func (q DeploymentQuery) ofAll(tx *state.Tx, after uint64) ([]Deployment, error) {
	list, _, err := state.List(tx, bucketDeployments, "", 0, func(d *Deployment) bool { return q.App == "" || d.App == q.App })
	if err != nil {
		return nil, err
	}
	keep := list[:0]
	for _, d := range list {
		past := d.CreateIndex > after
		if q.Newest {
			past = after == 0 || d.CreateIndex < after
		}
		if past && q.matches(&d) {
			keep = append(keep, d)
		}
	}
	sort.Slice(keep, func(i, j int) bool { return (keep[i].CreateIndex < keep[j].CreateIndex) != q.Newest })
	return keep, nil
}

// ofHost returns the headers of the host's deployments q selects past the cursor, in q's order,
// reading them from the host's index and stopping one past the page (to know whether another
// follows).
func (q DeploymentQuery) ofHost(tx *state.Tx, hostID string, after uint64) ([]Deployment, error) {
	var keep []Deployment
	var err error
	deploymentsOfHost(tx, hostID, q.Newest, after, func(id string, _ uint64) bool {
		var d Deployment
		if d, err = readHeader(tx, id); err != nil {
			return false
		}
		if q.matches(&d) {
			keep = append(keep, d)
		}
		return q.Limit == 0 || len(keep) <= q.Limit
	})
	return keep, err
}

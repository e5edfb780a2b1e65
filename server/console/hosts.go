package console

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/fleet"
	"github.com/slipwayhq/slipway/server/deploy"
)

func init() { pageSets = append(pageSets, (*Module).hostsRoutes) }

// hostsRoutes are the hosts' pages, authorized by the API's actions for the same reads.
func (m *Module) hostsRoutes() []api.Route {
	return []api.Route{
		{Method: "GET", Pattern: "/ui/hosts", Access: api.Console, Action: "hosts:ListHosts", Resource: "host/*", Handle: m.hostsPage},
		{Method: "GET", Pattern: "/ui/hosts/{name}", Access: api.Console, Action: "hosts:GetHost", Resource: "host/{name}", Handle: m.hostPage},
	}
}

// hostsData is the hosts page's: one page of hosts, the filters as given, and the query of the
// next page ("" at the end).
type hostsData struct {
	Hosts    []pub.Host
	Sort     tableSort
	Tag      []string
	Status   string
	Filtered bool
	Next     string
}

// hostsPage lists the hosts a page at a time (?limit=, default 100, and ?next=, as the API
// pages), filtered as `slipway host list` filters them:
// ?tag=KEY=VALUE (repeatable; every one must match) and ?status=online|offline.
func (m *Module) hostsPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	q := r.URL.Query()
	pg, err := m.core.HTTP.Page(r)
	if err != nil {
		return err
	}
	d := hostsData{Tag: q["tag"], Status: q.Get("status")}
	hq := fleet.HostQuery{Status: d.Status, After: pg.After, Limit: pg.Limit}
	for _, t := range d.Tag {
		k, v, ok := strings.Cut(t, "=")
		if !ok || k == "" {
			return fault.New(fault.Invalid, "tag %q is not KEY=VALUE: filter by ?tag=env=prod", t)
		}
		if hq.Tags == nil {
			hq.Tags = map[string]string{}
		}
		hq.Tags[k] = v
	}
	d.Filtered = len(hq.Tags) > 0 || d.Status != ""
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	hosts, next, err := m.core.HTTP.Hosts().Query(ctx, hq)
	if err != nil {
		return err
	}
	d.Hosts = hosts
	d.Sort = sortTable(r, "sort", "name", d.Hosts, hostColumns)
	if next != "" {
		nq := d.Sort.Keep(url.Values{"tag": d.Tag, "next": {next}})
		if d.Status != "" {
			nq.Set("status", d.Status)
		}
		if l := q.Get("limit"); l != "" {
			nq.Set("limit", l)
		}
		d.Next = "/ui/hosts?" + nq.Encode()
	}
	return m.render(w, http.StatusOK, "hosts", frame(r, id.Token.User, "Hosts", d))
}

// hostColumns are the hosts table's sortable columns.
var hostColumns = map[string]func(a, b pub.Host) int{
	"name":    func(a, b pub.Host) int { return strings.Compare(a.Name, b.Name) },
	"status":  func(a, b pub.Host) int { return strings.Compare(a.Status, b.Status) },
	"address": func(a, b pub.Host) int { return strings.Compare(a.Address, b.Address) },
	"agent":   func(a, b pub.Host) int { return strings.Compare(a.AgentVersion, b.AgentVersion) },
	"seen":    func(a, b pub.Host) int { return a.LastSeen.Compare(b.LastSeen) },
}

// hostRevision is one of a host's current revisions: the group ("app/group", or the app for a
// deployment to named hosts) and the revision's ID.
type hostRevision struct{ Group, Revision string }

// hostData is one host's page.
type hostData struct {
	Host      pub.Host
	Tags      []tagPair
	Revisions []hostRevision
	// ShowDeployments is set when the user may list deployments; Deployments are then the
	// host's newest (hostDeploymentsShown), each with the host's own status (HostStatus), and
	// More says older ones exist.
	ShowDeployments bool
	Deployments     []pub.Deployment
	More            bool
	// Latest is the host's part of its newest deployment (nil: none), Events its lifecycle
	// events in lifecycle order.
	Latest *pub.DeploymentTarget
	Events []hostEvent
}

// hostDeploymentsShown is how many of a host's deployments its page lists, newest first.
const hostDeploymentsShown = 20

// hostEvent is one lifecycle event of a host in a deployment: the eventCell of the
// deployment's page (status of its last script, time from the first's start to the last's end)
// and when it started.
type hostEvent struct {
	eventCell
	Start *time.Time
}

// hostEvents lists a host's lifecycle events in a deployment in the order of the deployment
// page's columns (lifecycleOrder, then any other event as first seen), folded as that page
// folds them.
func hostEvents(tg pub.DeploymentTarget) []hostEvent {
	columns := append([]string(nil), lifecycleOrder...)
	cells := eventCells(tg.Events, &columns)
	starts := map[string]*time.Time{}
	for _, ev := range tg.Events {
		if starts[ev.Name] == nil {
			starts[ev.Name] = ev.Start
		}
	}
	var out []hostEvent
	for _, c := range columns {
		if cell, ok := cells[c]; ok {
			out = append(out, hostEvent{cell, starts[c]})
		}
	}
	return out
}

// hostDeployments fills in d's deployments section: the host's newest deployments and its
// events in the newest one, when the user may list deployments.
func (m *Module) hostDeployments(r *http.Request, id *auth.Identity, d *hostData) error {
	if d.ShowDeployments = m.core.HTTP.Allowed(r, id, "codedeploy:ListDeployments", "deployment/*"); !d.ShowDeployments {
		return nil
	}
	list, next, err := m.deploy.Deployments().Query(deploy.DeploymentQuery{Host: d.Host.Name, Newest: true, Limit: hostDeploymentsShown})
	if err != nil {
		return err
	}
	d.Deployments, d.More = list, next != ""
	if len(list) == 0 {
		return nil
	}
	for i := range list[0].Targets {
		if tg := &list[0].Targets[i]; tg.Host == d.Host.Name {
			d.Latest, d.Events = tg, hostEvents(*tg)
		}
	}
	return nil
}

// tagPair is a tag, for a sorted list.
type tagPair struct{ Key, Value string }

// sortedTags lists tags in key order.
func sortedTags(tags map[string]string) []tagPair {
	out := make([]tagPair, 0, len(tags))
	for k, v := range tags {
		out = append(out, tagPair{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// hostPage shows one host: its facts, tags, the revision each of its groups left it at (the
// host record's) and, for a user who may list deployments, its recent deployments and its
// lifecycle events in the newest one (the deployments service's index by host).
func (m *Module) hostPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	h, err := m.core.HTTP.Hosts().Get(ctx, r.PathValue("name"))
	if err != nil {
		return err
	}
	d := hostData{Host: h, Tags: sortedTags(h.Tags)}
	for g, rev := range h.Revisions {
		d.Revisions = append(d.Revisions, hostRevision{g, rev})
	}
	sort.Slice(d.Revisions, func(i, j int) bool { return d.Revisions[i].Group < d.Revisions[j].Group })
	if err := m.hostDeployments(r, id, &d); err != nil {
		return err
	}
	return m.render(w, http.StatusOK, "host", frame(r, id.Token.User, "Host "+h.Name, d))
}

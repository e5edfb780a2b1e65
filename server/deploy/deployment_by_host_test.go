package deploy

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/module"
)

// hostHistoryFSM deploys, to host-1 (h1) and host-2 (h2): d1 to h1, d2 to h2, d3 to both, d4 to
// h1, d5 to h1 (which fails on h1). Each ends before the next starts.
func hostHistoryFSM(t *testing.T) *testFSM {
	t.Helper()
	f := newFSM(t)
	f.setUp()
	if r := f.apply(legacy(51, map[string]any{"host_id": "h2", "secret_hash": strings.Repeat("c", 64), "name": "host-2", "token_accessor": "tok"})); r.Code != "" {
		t.Fatalf("host-2: %+v", r)
	}
	for _, d := range []struct {
		id    string
		hosts []string
	}{{"d1", []string{"h1"}}, {"d2", []string{"h2"}}, {"d3", []string{"h1", "h2"}}, {"d4", []string{"h1"}}, {"d5", []string{"h1"}}} {
		if r := f.apply(cmdDeploymentCreate.New("", testTime, DeploymentCreate{ID: d.id, App: "web", RevisionID: "r1", HostIDs: d.hosts})); r.Code != "" {
			t.Fatalf("create %s: %+v", d.id, r)
		}
		for _, h := range d.hosts {
			status := agentproto.StatusSucceeded
			if d.id == "d5" {
				status = agentproto.StatusFailed
			}
			f.report(d.id, h, 1, agentproto.DeploymentEnd, status)
		}
	}
	return f
}

func (tf *testFSM) query(q DeploymentQuery) ([]pub.Deployment, string, error) {
	return Deployments{core: &module.Core{State: tf.f.Store()}}.Query(q)
}

// pages reads every page of q, limit at a time, and returns the IDs of each page.
func (tf *testFSM) pages(q DeploymentQuery) [][]string {
	tf.t.Helper()
	var out [][]string
	for i := 0; ; i++ {
		page, next, err := tf.query(q)
		if err != nil {
			tf.t.Fatalf("%+v: %v", q, err)
		}
		var ids []string
		for _, d := range page {
			ids = append(ids, d.ID+":"+d.HostStatus)
		}
		out = append(out, ids)
		if next == "" || i > 10 {
			return out
		}
		q.After = next
	}
}

func pagesString(p [][]string) string {
	var s []string
	for _, ids := range p {
		s = append(s, strings.Join(ids, ","))
	}
	return strings.Join(s, " | ")
}

// TestHostQueryPagesBothOrders: a host's deployments, from the index, page oldest and newest
// first without repeating or skipping one, each with that host's own status; the other filters
// still apply; an unknown host is not found.
func TestHostQueryPagesBothOrders(t *testing.T) {
	f := hostHistoryFSM(t)
	for _, tc := range []struct {
		q    DeploymentQuery
		want string
	}{
		{DeploymentQuery{Host: "host-1", Limit: 2}, "d1:succeeded,d3:succeeded | d4:succeeded,d5:failed"},
		{DeploymentQuery{Host: "host-1", Limit: 2, Newest: true}, "d5:failed,d4:succeeded | d3:succeeded,d1:succeeded"},
		{DeploymentQuery{Host: "host-1", Limit: 3, Newest: true}, "d5:failed,d4:succeeded,d3:succeeded | d1:succeeded"},
		{DeploymentQuery{Host: "host-1"}, "d1:succeeded,d3:succeeded,d4:succeeded,d5:failed"},
		{DeploymentQuery{Host: "host-2", Newest: true}, "d3:succeeded,d2:succeeded"},
		{DeploymentQuery{Host: "host-1", Status: DeploymentFailed}, "d5:failed"},
		{DeploymentQuery{Host: "host-1", Status: DeploymentSucceeded, Limit: 1, Newest: true}, "d4:succeeded | d3:succeeded | d1:succeeded"},
		{DeploymentQuery{Host: "host-2", App: "other"}, ""},
		// Without a host: every deployment, both orders, no host status.
		{DeploymentQuery{Limit: 3, Newest: true}, "d5:,d4:,d3: | d2:,d1:"},
		{DeploymentQuery{Limit: 3}, "d1:,d2:,d3: | d4:,d5:"},
	} {
		if got := pagesString(f.pages(tc.q)); got != tc.want {
			t.Errorf("%+v: pages %q, want %q", tc.q, got, tc.want)
		}
	}
	_, _, err := f.query(DeploymentQuery{Host: "host-9"})
	if fault.CodeOf(err) != fault.NotFound || !strings.Contains(err.Error(), "host-9") {
		t.Errorf("unknown host: %v, want not found naming it", err)
	}
}

// TestHostIndexBuiltFromOlderSnapshot: a snapshot of the previous release, which has no
// deploy/by_host bucket, restores with the index built from its deployments, so host queries
// answer as on a server that kept the index all along.
func TestHostIndexBuiltFromOlderSnapshot(t *testing.T) {
	f := hostHistoryFSM(t)
	snap, err := f.f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var buf snapshotBuffer
	if err := snap.Persist(&buf); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	// Take the index out of the snapshot's state file, as the previous release wrote it.
	path := filepath.Join(t.TempDir(), "old.db")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketByHost) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	old, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	restored := newFSM(t)
	if err := restored.f.Restore(io.NopCloser(old)); err != nil {
		t.Fatal(err)
	}
	for _, q := range []DeploymentQuery{{Host: "host-1", Limit: 2}, {Host: "host-2", Newest: true}} {
		if a, b := pagesString(f.pages(q)), pagesString(restored.pages(q)); a != b || a == "" {
			t.Errorf("%+v: restored %q, kept %q", q, b, a)
		}
	}
}

// TestGroupDeploymentIndexedForEveryMember: a group deployment is listed for each of its hosts,
// including those it had not started yet, with each one's status.
func TestGroupDeploymentIndexedForEveryMember(t *testing.T) {
	f := groupFSM(t, 3, RollbackOff)
	f.create("d1", "r2", "")
	var statuses []string
	for _, h := range []string{"host-1", "host-2", "host-3"} {
		page, _, err := f.query(DeploymentQuery{Host: h, Newest: true, Limit: 1})
		if err != nil || len(page) != 1 || page[0].ID != "d1" {
			t.Fatalf("%s: %v %v", h, page, err)
		}
		statuses = append(statuses, page[0].HostStatus)
	}
	slices.Sort(statuses)
	if !slices.Equal(statuses, []string{TargetPending, TargetWaiting, TargetWaiting}) {
		t.Fatalf("host statuses %v, want one pending and two waiting (OneAtATime)", statuses)
	}
}

package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

// receiver is a trigger endpoint that checks each POST's signature and records the events.
type receiver struct {
	t       *testing.T
	srv     *httptest.Server
	secret  atomic.Value // string
	answer  atomic.Int32 // the status it answers
	mu      sync.Mutex
	events  []api.TriggerMessage
	ids     map[string]int // deliveries per event ID
	refused int            // bad signatures
	tries   int            // requests of any kind
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, ids: map[string]int{}}
	r.answer.Store(http.StatusOK)
	r.secret.Store("")
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.tries++
		if err := api.VerifyTrigger(r.secret.Load().(string), req.Header, body, time.Now(), 5*time.Minute); err != nil {
			r.refused++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		status := int(r.answer.Load())
		if status == http.StatusOK {
			var m api.TriggerMessage
			if err := json.Unmarshal(body, &m); err != nil || m.EventID != req.Header.Get(api.TriggerEventIDHeader) || m.EventType != req.Header.Get(api.TriggerEventHeader) {
				r.t.Errorf("message %s (%v) does not match its headers %v", body, err, req.Header)
			}
			if r.ids[m.EventID] == 0 {
				r.events = append(r.events, m)
			}
			r.ids[m.EventID]++
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// seen lists "<event> <deployment> <host>" of the events received, once each, sorted.
func (r *receiver) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.events {
		out = append(out, strings.TrimSpace(m.EventType+" "+m.DeploymentID+" "+m.Hostname))
	}
	sort.Strings(out)
	return out
}

// awaitSeen waits until the receiver has every one of want.
func (r *receiver) awaitSeen(t *testing.T, want []string) {
	t.Helper()
	sort.Strings(want)
	testutil.Eventually(t, 60*time.Second, func() error {
		if got := r.seen(); !slices.Equal(got, want) {
			return fmt.Errorf("received\n%q\nwant\n%q", got, want)
		}
		return nil
	})
}

func addTrigger(t *testing.T, cl *api.Client, r *receiver, events ...string) {
	t.Helper()
	tr, err := cl.TriggerAdd(context.Background(), "web", "fleet", api.TriggerRequest{Name: "hook", Events: events, URL: r.srv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tr.Secret, "whsec_") {
		t.Fatalf("secret %q", tr.Secret)
	}
	r.secret.Store(tr.Secret)
	l, err := cl.TriggerList(context.Background(), "web", "fleet", &api.QueryOptions{Consistent: true})
	if err != nil || len(l.Triggers) != 1 || l.Triggers[0].URL != r.srv.URL+"/hook" {
		t.Fatalf("trigger list %+v %v", l, err)
	}
	if b, _ := json.Marshal(l); strings.Contains(string(b), "whsec_") {
		t.Fatalf("the list shows the secret: %s", b)
	}
}

// TestTriggersDeliverSignedEvents: a group's trigger receives, signed, the events of a real
// deployment that succeeds and of one that fails and rolls back.
func TestTriggersDeliverSignedEvents(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: fastAgents})
	fleet(t, c, 2, api.GroupRequest{Config: "AllAtOnce", AutoRollback: api.RollbackOnFailure})
	r := newReceiver(t)
	addTrigger(t, c.Client(0), r, "all")
	dir := t.TempDir()
	cl, d1 := deployGroup(t, c, fleetBundle(t, filepath.Join(dir, "record"), dir, "v1"), "")
	if d := waitDeployment(t, cl, d1.ID); d.Status != api.DeploymentSucceeded {
		t.Fatalf("d1 %s: %s", d.Status, d.Message)
	}
	want := []string{"DeploymentStart " + d1.ID, "InstanceStart " + d1.ID + " h01", "InstanceStart " + d1.ID + " h02",
		"InstanceSuccess " + d1.ID + " h01", "InstanceSuccess " + d1.ID + " h02", "DeploymentSuccess " + d1.ID}
	r.awaitSeen(t, want)

	_, d2 := deployGroup(t, c, fleetBundle(t, filepath.Join(dir, "record"), dir, "v2", "h01", "h02"), "")
	if d := waitDeployment(t, cl, d2.ID); d.Status != api.DeploymentFailed || d.RolledBack == "" {
		t.Fatalf("d2 %s (rolled back by %q): %s", d.Status, d.RolledBack, d.Message)
	}
	rb := d2.ID + "-rollback"
	if d := waitDeployment(t, cl, rb); d.Status != api.DeploymentSucceeded {
		t.Fatalf("rollback %s: %s", d.Status, d.Message)
	}
	want = append(want, "DeploymentStart "+d2.ID, "InstanceStart "+d2.ID+" h01", "InstanceStart "+d2.ID+" h02",
		"InstanceFailure "+d2.ID+" h01", "InstanceFailure "+d2.ID+" h02", "DeploymentFailure "+d2.ID, "DeploymentRollback "+d2.ID,
		"DeploymentStart "+rb, "InstanceStart "+rb+" h01", "InstanceStart "+rb+" h02",
		"InstanceSuccess "+rb+" h01", "InstanceSuccess "+rb+" h02", "DeploymentSuccess "+rb)
	r.awaitSeen(t, want)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.events {
		if m.EventType == "InstanceFailure" && (m.ErrorInformation == nil || !strings.Contains(m.ErrorInformation.ErrorMessage, "ValidateService")) {
			t.Errorf("instance failure without its reason: %+v", m)
		}
		if m.EventType == "DeploymentRollback" && m.RollbackDeploymentID != rb {
			t.Errorf("rollback event names %q", m.RollbackDeploymentID)
		}
	}
	if r.refused != 0 {
		t.Errorf("%d deliveries did not verify", r.refused)
	}
}

// TestTriggerEventSurvivesLeaderChange: events the leader could not deliver (the receiver
// answered 503) are delivered by the next leader once the receiver is back.
func TestTriggerEventSurvivesLeaderChange(t *testing.T) {
	c := testutil.NewCluster(t, 3, testutil.Options{Tweak: fastAgents})
	fleet(t, c, 1, api.GroupRequest{Config: "AllAtOnce"})
	r := newReceiver(t)
	r.answer.Store(http.StatusServiceUnavailable)
	addTrigger(t, c.Client(c.Running()[0]), r, "DeploymentStart", "DeploymentSuccess")
	dir := t.TempDir()
	cl, d := deployGroup(t, c, fleetBundle(t, filepath.Join(dir, "record"), dir, "v1"), "")
	if d := waitDeployment(t, cl, d.ID); d.Status != api.DeploymentSucceeded {
		t.Fatalf("deployment %s: %s", d.Status, d.Message)
	}
	// The leader has tried the first event, and the receiver took nothing.
	testutil.Eventually(t, 30*time.Second, func() error {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.tries == 0 {
			return fmt.Errorf("no delivery attempted yet")
		}
		return nil
	})
	if got := r.seen(); len(got) != 0 {
		t.Fatalf("events taken while the receiver answered 503: %q", got)
	}
	c.Kill(c.WaitLeader())
	r.answer.Store(http.StatusOK)
	c.WaitLeader()
	r.awaitSeen(t, []string{"DeploymentStart " + d.ID, "DeploymentSuccess " + d.ID})
}

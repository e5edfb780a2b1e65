package pipeline_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
)

// TestWatchSendsChanges: the watch sends the pipeline at once, then the execution a start
// makes, then End when the pipeline is deleted. On the way, a stop with abandon ends the
// running build action Abandoned and the driver stops its work through the provider.
func TestWatchSendsChanges(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	f := newFake()
	f.hold["Build"] = true
	wire(c, f, fixed)
	ctx, cl := context.Background(), c.Client(0)
	if _, err := cl.PipelineCreate(ctx, pub.PipelineRequest{Definition: definition("web", "web", "")}); err != nil {
		t.Fatal(err)
	}
	url := "ws" + strings.TrimPrefix(c.URL(0), "http") + "/v1/pipelines/web/watch"
	ws, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Authorization": {"Bearer " + testutil.ManagementToken}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	_ = resp.Body.Close()
	defer func() { _ = ws.Close() }()
	read := func() pub.PipelineWatchMessage {
		t.Helper()
		_ = ws.SetReadDeadline(time.Now().Add(20 * time.Second))
		var msg pub.PipelineWatchMessage
		if err := ws.ReadJSON(&msg); err != nil {
			t.Fatalf("read: %v", err)
		}
		return msg
	}
	if first := read(); first.Pipeline == nil || first.Pipeline.Name != "web" || len(first.Executions) != 0 {
		t.Fatalf("first message: %+v", first)
	}
	e, err := cl.PipelineStart(ctx, "web", pub.PipelineStartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		msg := read()
		if len(msg.Executions) == 1 && msg.Executions[0].ID == e.ID {
			break
		}
	}
	awaitExecution(t, cl, "web", e.ID, actionWorking("Build", "Build"))
	if _, err := cl.PipelineStop(ctx, "web", e.ID, pub.PipelineStopRequest{Abandon: true}); err != nil {
		t.Fatal(err)
	}
	// The driver stops the abandoned action's work through its provider.
	testutil.Eventually(t, 20*time.Second, func() error {
		if got := f.stopped(); len(got) != 1 || got[0] != "Build:work-Build" {
			return fmt.Errorf("Stop calls: %v; want the build's work", got)
		}
		return nil
	})
	if got := awaitExecution(t, cl, "web", e.ID, statusIs(pub.PipelineStopped)); got.Stages[1].Actions[0].Status != pub.PipelineAbandoned {
		t.Fatalf("the build action is %s; want Abandoned", got.Stages[1].Actions[0].Status)
	}
	testutil.Eventually(t, 20*time.Second, func() error { return cl.PipelineDelete(ctx, "web") })
	for {
		if msg := read(); msg.End != "" {
			if msg.End != "deleted" {
				t.Fatalf("end: %q", msg.End)
			}
			break
		}
	}
}

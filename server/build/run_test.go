package build_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/agentproto"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/config"
)

// fakeAgent is a build agent on the wire: a registered host whose websocket session speaks
// agentproto with the "build" capability, heartbeats until it is silenced, and hands the test
// every message the server sends.
type fakeAgent struct {
	t      *testing.T
	base   string
	secret string
	ws     *websocket.Conn
	msgs   chan agentproto.Envelope
	wmu    sync.Mutex
	quiet  chan struct{}
	once   sync.Once
}

func startAgent(t *testing.T, c *testutil.Cluster, name, os string) *fakeAgent {
	t.Helper()
	return startAgentOn(t, c, 0, name, os)
}

// startAgentOn is startAgent with its session on server i.
func startAgentOn(t *testing.T, c *testutil.Cluster, i int, name, os string) *fakeAgent {
	t.Helper()
	ctx := context.Background()
	tok, err := c.Client(i).HostTokenCreate(ctx, pub.HostTokenCreateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	a := &fakeAgent{t: t, base: c.URL(i), secret: "slwh_" + name + "-secret-0123456789abcdefghijklmnop", msgs: make(chan agentproto.Envelope, 64), quiet: make(chan struct{})}
	reg, _ := json.Marshal(agentproto.Register{HostID: name, Secret: a.secret, Name: name, OS: os, Arch: "amd64", Hostname: name, AgentVersion: "test"})
	if st, body := a.do("POST", "/v1/agent/register", tok.Token, bytes.NewReader(reg)); st != http.StatusOK {
		t.Fatalf("register %s: %d %s", name, st, body)
	}
	hdr := http.Header{"Authorization": {"Bearer " + a.secret}}
	agentproto.Peer{Protocol: agentproto.ProtocolVersion, Capabilities: []string{agentproto.KindBuild}}.SetHeaders(hdr)
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(a.base, "http")+"/v1/agent/session", hdr)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		t.Fatalf("session: %v", err)
	}
	a.ws = ws
	t.Cleanup(func() { a.silence(); _ = ws.Close() })
	go func() {
		for {
			var env agentproto.Envelope
			if err := ws.ReadJSON(&env); err != nil {
				close(a.msgs)
				return
			}
			if env.Type != agentproto.TypeHeartbeat {
				a.msgs <- env
			}
		}
	}()
	go func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			a.send(agentproto.TypeHeartbeat, agentproto.Heartbeat{})
			select {
			case <-a.quiet:
				return
			case <-tick.C:
			}
		}
	}()
	return a
}

// silence stops the heartbeats and closes the session: the agent is gone.
func (a *fakeAgent) silence() {
	a.once.Do(func() { close(a.quiet); _ = a.ws.Close() })
}

func (a *fakeAgent) send(typ string, body any) {
	b, err := agentproto.Encode(typ, body)
	if err != nil {
		a.t.Error(err)
		return
	}
	a.wmu.Lock()
	defer a.wmu.Unlock()
	_ = a.ws.WriteMessage(websocket.TextMessage, b)
}

// do calls the server as the host (or with token), answering the status and body.
func (a *fakeAgent) do(method, path, token string, body io.Reader) (int, []byte) {
	a.t.Helper()
	req, _ := http.NewRequest(method, a.base+path, body)
	if token == "" {
		token = a.secret
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// next waits for the next message of type typ (others are skipped), decoding its body into v.
func (a *fakeAgent) next(typ string, v any) {
	a.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case env, ok := <-a.msgs:
			if !ok {
				a.t.Fatalf("the session ended waiting for a %s", typ)
			}
			if env.Type != typ {
				continue
			}
			if err := json.Unmarshal(env.Body, v); err != nil {
				a.t.Fatal(err)
			}
			return
		case <-deadline:
			a.t.Fatalf("no %s from the server", typ)
		}
	}
}

// awaitCancel waits for a cancel of work id (other messages are skipped).
func (a *fakeAgent) awaitCancel(id string) agentproto.Cancel {
	a.t.Helper()
	for {
		var c agentproto.Cancel
		a.next(agentproto.TypeCancel, &c)
		if c.DeploymentID == id {
			return c
		}
	}
}

// awaitAck waits for the acknowledgement of build id up to seq.
func (a *fakeAgent) awaitAck(id string, seq uint64) {
	a.t.Helper()
	for {
		var ack agentproto.Ack
		a.next(agentproto.TypeAck, &ack)
		if ack.DeploymentID == id && ack.Seq >= seq {
			return
		}
	}
}

func awaitBuild(t *testing.T, cl *pub.Client, id string, ok func(b *pub.Build) error) *pub.Build {
	t.Helper()
	var b *pub.Build
	testutil.Eventually(t, 30*time.Second, func() error {
		var err error
		if b, err = cl.BuildGet(context.Background(), id, &pub.QueryOptions{Consistent: true}); err != nil {
			return err
		}
		return ok(b)
	})
	return b
}

func statusIs(want string) func(b *pub.Build) error {
	return func(b *pub.Build) error {
		if b.Status != want {
			return fmt.Errorf("build %s is %s, want %s", b.ID, b.Status, want)
		}
		return nil
	}
}

func zipOf(t *testing.T, name, content string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	f, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(f, content)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestBuildRunsOnAnAgent: a one-node cluster schedules a build on a fake agent, which gets the
// run, downloads the source tar of a real repository, uploads an artifact, reports phases, log
// lines and the end; the record shows them. Another host gets nothing of the build; a stop
// reaches the agent as a cancel; an agent that goes silent has its build end FAULT.
func TestBuildRunsOnAnAgent(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: func(_ int, cfg *config.Config) {
		cfg.Agents.Heartbeat = 300 * time.Millisecond
		cfg.Agents.HostTimeout = 3 * time.Second
	}})
	ctx := context.Background()
	cl := c.Client(0)
	head := repoWithBuildspec(t, cl, "shop")
	if _, err := cl.ProjectCreate(ctx, pub.ProjectCreateRequest{Artifacts: pub.ProjectArtifacts{Type: pub.ArtifactsBlob}, Name: "shop-web", Source: pub.ProjectSource{Type: pub.SourceSlipwayRepo, Repository: "shop"},
		Environment: pub.BuildEnvironment{Labels: map[string]string{"os": "linux"}, Variables: []pub.EnvironmentVariable{
			{Name: "STAGE", Value: "test"}, {Name: "DB_PASSWORD", Value: "prod/db/password", Type: pub.VariableSecretsManager}}}}); err != nil {
		t.Fatal(err)
	}
	agent := startAgent(t, c, "builder", "linux")

	b1, err := cl.BuildStart(ctx, pub.BuildStartRequest{Project: "shop-web"})
	if err != nil {
		t.Fatal(err)
	}
	var run agentproto.BuildRun
	agent.next(agentproto.TypeRun, &run)
	if run.Kind != agentproto.KindBuild || run.DeploymentID != b1.ID || run.ResolvedSourceVersion != head || run.Source.Repository != "shop" ||
		run.Source.Path == "" || len(run.Variables) != 2 || run.Variables[1].Value != "prod/db/password" || run.TimeoutMinutes != 60 {
		t.Fatalf("run %+v", run)
	}
	awaitBuild(t, cl, b1.ID, func(b *pub.Build) error {
		if b.Status != pub.BuildInProgress || b.CurrentPhase != "PROVISIONING" {
			return fmt.Errorf("build %s, phase %s", b.Status, b.CurrentPhase)
		}
		return nil
	})

	// The source: a tar of the commit, to this host only.
	st, tarball := agent.do("GET", run.Source.Path, "", nil)
	if st != http.StatusOK {
		t.Fatalf("source: %d %s", st, tarball)
	}
	tr := tar.NewReader(bytes.NewReader(tarball))
	found := false
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "buildspec.yml" {
			got, _ := io.ReadAll(tr)
			found = string(got) == buildspecYAML
		}
	}
	if !found {
		t.Fatal("the source tar has no buildspec.yml of the commit")
	}
	other := startAgent(t, c, "other", "windows") // the project's label os=linux keeps its builds off it
	if st, body := other.do("GET", run.Source.Path, "", nil); st != http.StatusForbidden || !strings.Contains(string(body), "does not run on host other") {
		t.Fatalf("another host's source download: %d %s", st, body)
	}
	// Secrets: the project has no service role, so none are read.
	if st, body := agent.do("POST", run.SecretsPath, "", strings.NewReader(`{"names":["prod/db/password"]}`)); st != http.StatusForbidden || !strings.Contains(string(body), "no service role") {
		t.Fatalf("secrets without a service role: %d %s", st, body)
	}
	// An artifact, then the reports.
	st, body := agent.do("PUT", run.ArtifactsPath+"/primary", "", bytes.NewReader(zipOf(t, "app", "binary")))
	var up agentproto.BuildArtifactUploaded
	if st != http.StatusOK || json.Unmarshal(body, &up) != nil || len(up.SHA256) != 64 {
		t.Fatalf("artifact upload: %d %s", st, body)
	}
	if st, body := agent.do("PUT", run.ArtifactsPath+"/primary", "", strings.NewReader("not a zip")); st != http.StatusBadRequest {
		t.Fatalf("a bad artifact: %d %s", st, body)
	}
	now := time.Now()
	event := func(seq uint64, name string, status agentproto.Status) agentproto.Event {
		return agentproto.Event{Kind: agentproto.KindBuild, DeploymentID: b1.ID, Seq: seq, Event: name, Status: status, Time: now}
	}
	agent.send(agentproto.TypeEvent, event(1, "DOWNLOAD_SOURCE", agentproto.StatusStarted))
	agent.send(agentproto.TypeLog, agentproto.Log{Kind: agentproto.KindBuild, DeploymentID: b1.ID, Seq: 2,
		Lines: []agentproto.LogLine{{Time: now, Event: "BUILD", Stream: "stdout", Text: "hello"}}})
	agent.send(agentproto.TypeEvent, event(3, "DOWNLOAD_SOURCE", agentproto.StatusSucceeded))
	agent.send(agentproto.TypeEvent, event(4, "BUILD", agentproto.StatusStarted))
	agent.send(agentproto.TypeEvent, event(5, "BUILD", agentproto.StatusSucceeded))
	end := event(6, agentproto.BuildEnd, agentproto.StatusSucceeded)
	end.Result, end.Build = pub.BuildSucceeded, &agentproto.BuildOutcome{Status: pub.BuildSucceeded, ExportedVariables: map[string]string{"VERSION": "1"},
		Artifacts: []agentproto.BuildArtifact{{SHA256: up.SHA256, Size: up.Size, Files: 1}}}
	agent.send(agentproto.TypeEvent, end)
	agent.awaitAck(b1.ID, 6)
	got := awaitBuild(t, cl, b1.ID, statusIs(pub.BuildSucceeded))
	var phases []string
	for _, p := range got.Phases {
		phases = append(phases, p.Name+"="+p.Status)
	}
	if strings.Join(phases, " ") != "SUBMITTED=SUCCEEDED QUEUED=SUCCEEDED PROVISIONING=SUCCEEDED DOWNLOAD_SOURCE=SUCCEEDED BUILD=SUCCEEDED COMPLETED=" ||
		len(got.Artifacts) != 1 || got.Artifacts[0].Blob != up.SHA256 || got.ExportedVariables["VERSION"] != "1" || got.EndTime == nil {
		t.Fatalf("the ended build: %v %+v", phases, got)
	}
	if st, body := agent.do("GET", run.Source.Path, "", nil); st != http.StatusConflict {
		t.Fatalf("the source of an ended build: %d %s", st, body)
	}

	// A stop reaches the agent as a cancel; the agent's STOPPED end ends the build.
	b2, err := cl.BuildStart(ctx, pub.BuildStartRequest{Project: "shop-web"})
	if err != nil {
		t.Fatal(err)
	}
	var run2 agentproto.BuildRun
	agent.next(agentproto.TypeRun, &run2)
	if run2.DeploymentID != b2.ID {
		t.Fatalf("run of build 2: %+v", run2)
	}
	if _, err := cl.BuildStop(ctx, b2.ID); err != nil {
		t.Fatal(err)
	}
	if cancel := agent.awaitCancel(b2.ID); cancel.Kind != agentproto.KindBuild {
		t.Fatalf("cancel %+v", cancel)
	}
	stopped := agentproto.Event{Kind: agentproto.KindBuild, DeploymentID: b2.ID, Seq: 1, Event: agentproto.BuildEnd, Status: agentproto.StatusFailed,
		Result: pub.BuildStopped, Time: time.Now(), Build: &agentproto.BuildOutcome{Status: pub.BuildStopped}}
	agent.send(agentproto.TypeEvent, stopped)
	agent.awaitAck(b2.ID, 1)
	awaitBuild(t, cl, b2.ID, statusIs(pub.BuildStopped))
	// An agent whose heartbeat says it runs a build that ended (it reconnected after the end) is
	// told to cancel it.
	agent.send(agentproto.TypeHeartbeat, agentproto.Heartbeat{Work: map[string][]string{agentproto.KindBuild: {b1.ID}}})
	agent.awaitCancel(b1.ID)

	// An agent that goes silent mid-build: its build ends FAULT within the host timeout.
	b3, err := cl.BuildStart(ctx, pub.BuildStartRequest{Project: "shop-web"})
	if err != nil {
		t.Fatal(err)
	}
	var run3 agentproto.BuildRun
	agent.next(agentproto.TypeRun, &run3)
	if run3.DeploymentID != b3.ID {
		t.Fatalf("run of build 3: %+v", run3)
	}
	agent.send(agentproto.TypeEvent, agentproto.Event{Kind: agentproto.KindBuild, DeploymentID: b3.ID, Seq: 1, Event: "BUILD", Status: agentproto.StatusStarted, Time: time.Now()})
	agent.awaitAck(b3.ID, 1)
	silentAt := time.Now()
	agent.silence()
	faulted := awaitBuild(t, cl, b3.ID, statusIs(pub.BuildFault))
	last := faulted.Phases[len(faulted.Phases)-2]
	if last.Name != "BUILD" || last.Status != pub.BuildFault || !strings.Contains(last.Message, "agent on host builder was not heard from") {
		t.Fatalf("the silent agent's build: %+v", faulted.Phases)
	}
	t.Logf("the silent agent's build ended FAULT %s after the agent went silent", time.Since(silentAt).Round(time.Millisecond))
}

// TestBuildSurvivesALeaderChange: on three servers, an agent whose session is on a follower runs
// a build; the leader is killed mid-build; the agent keeps reporting through its server, the new
// leader neither fails the build nor loses it, the build ends SUCCEEDED, and the new leader's
// scheduler assigns the next build.
func TestBuildSurvivesALeaderChange(t *testing.T) {
	c := testutil.NewCluster(t, 3, testutil.Options{Tweak: func(_ int, cfg *config.Config) {
		cfg.Agents.Heartbeat = 300 * time.Millisecond
		cfg.Agents.HostTimeout = 3 * time.Second
	}})
	ctx := context.Background()
	leader := c.WaitLeader()
	f := c.Follower()
	cl := c.Client(f)
	if _, err := cl.ProjectCreate(ctx, pub.ProjectCreateRequest{Artifacts: pub.ProjectArtifacts{Type: pub.ArtifactsBlob}, Name: "web", Source: pub.ProjectSource{Type: pub.SourceNone, BuildspecInline: buildspecYAML}}); err != nil {
		t.Fatal(err)
	}
	agent := startAgentOn(t, c, f, "builder", "linux")
	b1, err := cl.BuildStart(ctx, pub.BuildStartRequest{Project: "web"})
	if err != nil {
		t.Fatal(err)
	}
	var run agentproto.BuildRun
	agent.next(agentproto.TypeRun, &run)
	ev := func(seq uint64, name string, st agentproto.Status) agentproto.Event {
		return agentproto.Event{Kind: agentproto.KindBuild, DeploymentID: b1.ID, Seq: seq, Event: name, Status: st, Time: time.Now()}
	}
	agent.send(agentproto.TypeEvent, ev(1, "BUILD", agentproto.StatusStarted))
	agent.awaitAck(b1.ID, 1)

	c.Kill(leader)
	newLeader := c.WaitLeader()
	t.Logf("leader %d killed, %d leads", leader, newLeader)
	agent.send(agentproto.TypeLog, agentproto.Log{Kind: agentproto.KindBuild, DeploymentID: b1.ID, Seq: 2, Lines: []agentproto.LogLine{{Time: time.Now(), Event: "BUILD", Text: "still here"}}})
	agent.send(agentproto.TypeEvent, ev(3, "BUILD", agentproto.StatusSucceeded))
	end := ev(4, agentproto.BuildEnd, agentproto.StatusSucceeded)
	end.Result, end.Build = pub.BuildSucceeded, &agentproto.BuildOutcome{Status: pub.BuildSucceeded}
	agent.send(agentproto.TypeEvent, end)
	agent.awaitAck(b1.ID, 4)
	got := awaitBuild(t, cl, b1.ID, statusIs(pub.BuildSucceeded))
	if got.Phases[len(got.Phases)-2].Name != "BUILD" {
		t.Fatalf("phases %+v", got.Phases)
	}
	b2, err := cl.BuildStart(ctx, pub.BuildStartRequest{Project: "web"})
	if err != nil {
		t.Fatal(err)
	}
	var run2 agentproto.BuildRun
	agent.next(agentproto.TypeRun, &run2)
	if run2.DeploymentID != b2.ID {
		t.Fatalf("the new leader's run %+v", run2)
	}
}

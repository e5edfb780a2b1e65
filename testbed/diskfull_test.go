//go:build testbed

package testbed

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/pkg/bundle"
)

const (
	// diskBlobDir is where a server of the bed keeps its blob store (--data-dir /data/server).
	diskBlobDir = "/data/server/blobs"
	// diskSize is each server's data disk, and diskReserve the blobs.reserve the servers run with:
	// the default (128 MiB) suits real disks, not these.
	diskSize    = 48 << 20
	diskReserve = 8 << 20
)

// TestDiskFullDuringRevisionPush: every server's data dir (Raft log, state and blobs on one file
// system, as on a host with one data disk) is a 48 MiB tmpfs, the servers keep blobs.reserve
// (8 MiB here) free on it for the Raft log and state (ARCHITECTURE.md "Disk reserve"), and
// writers create applications through all three servers the whole time. It proves:
//
//  1. A revision that does not fit above the reserve of the server it is pushed to is refused
//     with HTTP 507 insufficient_storage naming blobs.reserve, through the leader and through a
//     follower: with its size unknown (a chunked upload bigger than the whole disk) while it
//     streams, when it reaches the reserve, and with its size declared (smaller than the free
//     space, so that only the reserve can refuse it) before anything is stored. Nothing is
//     registered (no revision on any server, no file in any blob store), the server's free
//     space is back when the answer arrives, and the server keeps running (the same process: a
//     crash fails the test) and following the Raft log.
//  2. When a follower has less free space than a revision plus the reserve (reserve + 1 MiB
//     for a 2 MiB bundle, which its disk could still hold), a push through the leader succeeds
//     through the leader and the other follower. The short follower refuses the copy and its
//     repair fetches for the reserve, holds neither the blob nor a partial file, and keeps
//     following the Raft log: its own state catches up with writes acknowledged after the push.
//     Once space is freed its blob repair fetches the blob by itself (no restart), and it
//     serves it with the right sha256.
//  3. A disk filled to the last byte by something else (FillDisk until ENOSPC), on a follower
//     and then on the leader: the majority keeps acknowledging writes (within the minute the
//     test waits: a full leader steps down, but while its log is the longest it may win
//     elections again and fail again, which the test counts and reports). The filled node may
//     exit (a failed state write panics on purpose); once its disk is freed it is started again
//     if it did, as its service manager would (logged), and catches up to the cluster's state.
//  4. Afterwards a small revision pushed through each server succeeds, every revision downloads
//     with the right sha256 from every server, and no acknowledged write is lost or applied
//     twice.
func TestDiskFullDuringRevisionPush(t *testing.T) {
	started := time.Now()
	b := newBed(t, bedOptions{DataDisk: map[int]int64{0: diskSize, 1: diskSize, 2: diskSize},
		Config: fmt.Sprintf("blobs:\n  repair_interval: 500ms\n  reserve: %d\n", diskReserve)})
	leader := b.WaitLeader(30*time.Second, b.all())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := b.Client(leader).AppCreate(ctx, api.AppCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	// Few writers: enough to keep Raft writing to every disk, not so many that the Raft log and
	// state fill the small disks by themselves.
	w := startWriters(b, writerOptions{Prefix: "d", Concurrency: 4, Targets: b.all(), Pace: 50 * time.Millisecond})
	w.waitAcked(t, 60*time.Second, time.Time{}, 50, "creates acknowledged before the first push")

	// 1. Too big for the receiving server's room above the reserve, through the leader and
	// through a follower, with the size declared and unknown.
	var maxFree int64
	for _, s := range b.servers {
		maxFree = max(maxFree, s.DiskFree())
	}
	huge := diskRandomTarGz(t, maxFree+8<<20)
	hugeSHA := diskSHA256(huge)
	var refusals []string
	pushesStart := time.Now()
	for _, role := range []string{"leader", "follower"} {
		leader = b.WaitLeader(60*time.Second, b.all())
		i := leader
		if role == "follower" {
			i = without(b.all(), leader)[0]
		}
		for _, declared := range []bool{false, true} {
			refusals = append(refusals, diskPushRefused(t, b, i, role, declared, huge, hugeSHA))
		}
	}
	pushesGap := diskAckGap(w.Ops(), pushesStart, time.Now())
	for i, s := range b.servers {
		if f := diskBlobFiles(t, s); len(f) > 0 {
			t.Errorf("%s: files in the blob store after the refused pushes: %v", s.id, f)
		}
		l, err := b.Client(i).RevisionList(ctx, "web", &api.QueryOptions{Consistent: true})
		if err != nil {
			t.Fatalf("%s: list revisions: %v", s.id, err)
		}
		if len(l.Revisions) != 0 {
			t.Errorf("%s: a refused push registered revisions: %+v", s.id, l.Revisions)
		}
		if err := diskCatchUp(t, b, i, 15*time.Second, nil); err != nil {
			t.Errorf("%s stopped following the Raft log after the refused pushes: %v", s.id, err)
		}
	}

	// 2. A follower with less free space than the revision plus the reserve; a push through the
	// leader.
	leader = b.WaitLeader(60*time.Second, b.all())
	short := without(b.all(), leader)[0]
	fs := b.servers[short]
	fs.FillDisk(fs.DiskFree() - diskReserve - 1<<20)
	shortFree := fs.DiskFree()
	small, smallSHA := testutil.RandomBundle(t, 2<<20)
	if n := int64(len(small)); n+diskReserve <= shortFree || n >= shortFree {
		t.Fatalf("%s: %s free for a %s bundle and a %s reserve: the check proves nothing", fs.id, diskMiB(shortFree), diskMiB(n), diskMiB(diskReserve))
	}
	shortPID := diskPID(t, fs)
	pushStart := time.Now()
	rev, created, err := b.Client(leader).RevisionPush(ctx, "web", bytes.NewReader(small), int64(len(small)), smallSHA, "while a follower is short of space")
	pushShort := time.Since(pushStart)
	if err != nil || !created || rev.SHA256 != smallSHA {
		t.Fatalf("push of %s through the leader %s while %s has %s free: %+v, created %v, %v",
			diskMiB(int64(len(small))), b.servers[leader].id, fs.id, diskMiB(shortFree), rev, created, err)
	}
	// The short follower is offered the blob (the leader copies it to every voter) and its repair
	// loop (every 500 ms here) tries to fetch it: both must stop at the reserve.
	for _, what := range []string{"peer push refused", "blob repair: fetch failed"} {
		eventually(t, 15*time.Second, fs.id+" logs '"+what+"' for the reserve", func() error {
			if held := diskHeld(diskBlobFiles(t, fs)); len(held) > 0 {
				t.Fatalf("%s, with %s free and a %s reserve, took space for the %s blob: %v (free now %s; last repair: %s)",
					fs.id, diskMiB(shortFree), diskMiB(diskReserve), diskMiB(int64(len(small))), held, diskMiB(fs.DiskFree()), diskLastLog(fs, "blob repair"))
			}
			if l := diskLastLog(fs, what); !strings.Contains(l, "blobs.reserve") {
				return fmt.Errorf("last such line: %s", l)
			}
			return nil
		})
	}
	refusedBy := time.Since(pushStart)
	w.waitAcked(t, 30*time.Second, pushStart.Add(pushShort), 50, "creates acknowledged after the push")
	if err := diskCatchUp(t, b, short, 15*time.Second, nil); err != nil {
		t.Errorf("%s, with %s free before the push of a %s revision, stopped following the Raft log: %v (now: %s free, blob files %v; last Raft disk error: %s)",
			fs.id, diskMiB(shortFree), diskMiB(int64(len(small))), err, diskMiB(fs.DiskFree()), diskBlobFiles(t, fs), diskLastLog(fs, "raft.db"))
	}
	shortCaughtUp := time.Since(pushStart)
	if held := diskHeld(diskBlobFiles(t, fs)); len(held) > 0 {
		t.Errorf("%s took space for the blob it has no room for above the reserve: %v", fs.id, held)
	}
	if pid := diskPID(t, fs); pid != shortPID {
		t.Fatalf("%s: process %s while short of space, %s before: it crashed (%s)", fs.id, pid, shortPID, diskPanic(fs))
	}
	freeAt := time.Now()
	fs.FreeDisk()
	eventually(t, 30*time.Second, fs.id+"'s blob repair fetches the revision's blob once space is freed", func() error {
		if out, err := fs.Exec("test", "-f", diskBlobPath(rev.SHA256)); err != nil {
			return fmt.Errorf("%s has no blob file %s: %w %s (last repair: %s)", fs.id, rev.SHA256, err, out, diskLastLog(fs, "blob repair"))
		}
		return nil
	})
	repaired := time.Since(freeAt)
	if pid := diskPID(t, fs); pid != shortPID {
		t.Fatalf("%s: process %s after its repair, %s before: it was restarted", fs.id, pid, shortPID)
	}
	got, n, err := diskDownloadSHA(ctx, b.Client(short), rev.ID)
	if err != nil || got != rev.SHA256 || n != rev.Size {
		t.Errorf("%s: download of revision %s after its disk was freed: sha256 %s, %d bytes, %v", fs.id, rev.ID, got, n, err)
	}

	// 3. A disk full to the last byte, on a follower (the other one) and then on the leader.
	leader = b.WaitLeader(60*time.Second, b.all())
	fi := without(b.all(), leader)[0]
	if fi == short {
		fi = without(b.all(), leader)[1]
	}
	fullFollower := diskFillToZero(t, b, w, fi, "follower")
	leader = b.WaitLeader(60*time.Second, b.all())
	fullLeader := diskFillToZero(t, b, w, leader, "leader")

	w.Stop()
	tl := tallyOps(w.Ops())
	tl.attempted["web"] = true // created by the test before the writers started
	lost, final := verify(b, tl, b.all())
	for i := range b.servers {
		waitLocalState(b, i, final, 60*time.Second)
	}

	// 4. A small push through every server; every revision from every server.
	revs := []*api.Revision{rev}
	for i, s := range b.servers {
		data, sha := testutil.RandomBundle(t, 1<<20)
		r, created, err := b.Client(i).RevisionPush(ctx, "web", bytes.NewReader(data), int64(len(data)), sha, "after "+s.id)
		if err != nil || !created || r.SHA256 != sha {
			t.Fatalf("push through %s after the full disks: %+v, created %v, %v", s.id, r, created, err)
		}
		revs = append(revs, r)
	}
	for _, r := range revs {
		for i, s := range b.servers {
			got, n, err := diskDownloadSHA(ctx, b.Client(i), r.ID)
			if err != nil || got != r.SHA256 || n != r.Size {
				t.Errorf("%s: download of revision %s: sha256 %s, %d bytes, %v; want %s, %d bytes", s.id, r.ID, got, n, err, r.SHA256, r.Size)
			}
		}
	}

	t.Logf("4 pushes refused with 507 (%s), longest time without an acknowledged create meanwhile %s; "+
		"push of %s through the leader with %s free on %s: %s, its refusals for the reserve seen after %s, its state caught up after %s, "+
		"blob repaired %s after freeing; %s; %s; %d creates acknowledged, %d unknown, %d lost; scenario %s",
		strings.Join(refusals, ", "), pushesGap.Round(time.Millisecond),
		diskMiB(int64(len(small))), diskMiB(shortFree), fs.id, pushShort.Round(time.Millisecond), refusedBy.Round(time.Millisecond),
		shortCaughtUp.Round(time.Millisecond), repaired.Round(time.Millisecond), fullFollower, fullLeader,
		len(tl.acked), len(tl.unknown), len(lost), time.Since(started).Round(time.Millisecond))
	addReport(t, reportRow{
		Scenario: "disk-full", Faults: fmt.Sprintf("4 pushes>room; %s short; %s, leader %s full", fs.id, fullFollower.id, fullLeader.id),
		Acknowledged: len(tl.acked), Lost: len(lost), Unknown: len(tl.unknown), Recover: max(fullFollower.catchUp, fullLeader.catchUp),
	})
}

// diskFull is what diskFillToZero measured.
type diskFull struct {
	id, role string
	acks     time.Duration // from the fill until 100 more creates were acknowledged
	gap      time.Duration // the longest time without an acknowledged create meanwhile
	won      int           // elections the node won with its disk full
	exited   string        // why the process exited while the disk was full ("" if it did not)
	catchUp  time.Duration // from freeing the disk until the node's state held the cluster's
}

func (d diskFull) String() string {
	ex := "kept running"
	if d.exited != "" {
		ex = "exited (" + d.exited + ") and was started again"
	}
	return fmt.Sprintf("%s %s filled to 0: 100 creates acknowledged in %s (longest gap %s; it won %d elections meanwhile), it %s, caught up %s after freeing",
		d.role, d.id, d.acks.Round(time.Millisecond), d.gap.Round(time.Millisecond), d.won, ex, d.catchUp.Round(time.Millisecond))
}

// diskFillToZero fills server i's disk to the last byte, waits until the majority has
// acknowledged 100 creates, then frees the disk, starts the process again if it exited (as a
// service manager would: a node whose state write fails stops on purpose) and waits until the
// node's own state holds every write the cluster acknowledged.
func diskFillToZero(t *testing.T, b *bed, w *writers, i int, role string) diskFull {
	t.Helper()
	s := b.servers[i]
	d := diskFull{id: s.id, role: role}
	fillAt := time.Now()
	filled := s.FillDisk(-1)
	w.waitAcked(t, 60*time.Second, fillAt, 100, "creates acknowledged while "+role+" "+s.id+"'s disk is full")
	d.acks = time.Since(fillAt)
	d.gap = diskAckGap(w.Ops(), fillAt, time.Now())
	// A leader that cannot append steps down, but its log may be the longest (the entry it
	// stored and could not send): it can win elections again, and fail again, until another
	// server times out first. Counted, as the reason for a long gap.
	d.won = diskLogCount(s, "raft: election won", fillAt)
	h, herr := b.health(i)
	t.Logf("%s (%s) filled with %s, %s left: 100 creates acknowledged in %s; process alive %v, health %+v %v",
		s.id, role, diskMiB(filled), diskMiB(s.DiskFree()), d.acks.Round(time.Millisecond), diskProcessAlive(s), h, herr)

	freeAt := time.Now()
	s.FreeDisk()
	revive := func() {
		if d.exited != "" || diskProcessAlive(s) {
			return
		}
		d.exited = diskPanic(s)
		t.Logf("%s exited while its disk was full, as a node does whose state write fails (%s; %s): starting it again",
			s.id, d.exited, diskLastLog(s, "exited with status"))
		s.RestartProcess()
		b.WaitHTTP(i, 30*time.Second)
	}
	revive()
	b.WaitLeader(60*time.Second, b.all())
	w.waitAcked(t, 30*time.Second, freeAt, 50, "creates acknowledged after "+s.id+"'s disk was freed")
	if err := diskCatchUp(t, b, i, 60*time.Second, revive); err != nil {
		t.Fatalf("%s does not catch up after its disk was freed: %v (process alive %v)", s.id, err, diskProcessAlive(s))
	}
	d.catchUp = time.Since(freeAt)
	return d
}

// diskCatchUp takes the cluster's applications with a consistent read through another server,
// then waits until server i's own state holds every one of them at the same index (the
// writers go on, so it may hold more), calling each (if not nil) before every look. It returns
// why not, after timeout.
func diskCatchUp(t *testing.T, b *bed, i int, timeout time.Duration, each func()) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	want, err := testutil.ListApps(ctx, b.Client(without(b.all(), i)[0]), true)
	if err != nil {
		t.Fatalf("consistent list: %v", err)
	}
	cl := b.Client(i)
	return poll(timeout, func() error {
		if each != nil {
			each()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		apps, err := testutil.ListApps(ctx, cl, false)
		if err != nil {
			return err
		}
		missing := 0
		for name, a := range want {
			got, ok := apps[name]
			if !ok {
				missing++
				continue
			}
			if got.CreateIndex != a.CreateIndex {
				return fmt.Errorf("%s: create index %d, %d on the others", name, got.CreateIndex, a.CreateIndex)
			}
		}
		if missing > 0 {
			return fmt.Errorf("%d of the cluster's %d applications are missing from its state (it holds %d)", missing, len(want), len(apps))
		}
		return nil
	})
}

// diskPushRefused pushes a revision through server i that does not fit above its reserve and
// checks that it is refused with 507 naming the reserve, that nothing is left on that server and
// that the same process serves on. declared: a bundle a little smaller than the free space,
// with its size declared; otherwise huge (bigger than the disk) as a chunked upload of unknown
// size. It returns a description with the time the refusal took.
func diskPushRefused(t *testing.T, b *bed, i int, role string, declared bool, huge []byte, hugeSHA string) string {
	t.Helper()
	s := b.servers[i]
	before, raftBefore := diskUsage(t, s)
	pid := diskPID(t, s)
	body, sha, size, kind := huge, hugeSHA, int64(-1), "size unknown"
	if declared {
		// reserve/2 under the free space: the disk could hold it, only the reserve refuses it.
		body = diskRandomTarGz(t, before-diskReserve/2-64<<10)
		sha, size, kind = diskSHA256(body), int64(len(body)), "size declared"
		if size <= before-diskReserve || size >= before {
			t.Fatalf("%s: a %s bundle with %s free and a %s reserve: the check proves nothing", s.id, diskMiB(size), diskMiB(before), diskMiB(diskReserve))
		}
	} else if int64(len(body)) <= before {
		t.Fatalf("%s: the bundle (%s) fits in the free space (%s): the check proves nothing", s.id, diskMiB(int64(len(body))), diskMiB(before))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	rev, _, err := b.Client(i).RevisionPush(ctx, "web", bytes.NewReader(body), size, sha, "too big")
	took := time.Since(start)
	after, raftAfter := diskUsage(t, s)
	files := diskBlobFiles(t, s)
	if now := diskPID(t, s); now != pid {
		t.Fatalf("%s (%s): the server crashed instead of refusing a %s push (%s) for lack of room (process %q, %q before; client saw: %v; %s free before, %s after, blob files %v): %s; %s",
			s.id, role, diskMiB(int64(len(body))), kind, now, pid, err, diskMiB(before), diskMiB(after), files, diskPanic(s), diskLastLog(s, "exited with status"))
	}
	var ae *api.Error
	switch {
	case err == nil:
		// Registered and copied to the others: what follows would prove nothing.
		t.Fatalf("%s (%s): a %s push (%s) with %s free and a %s reserve was accepted: %+v (now %s free)",
			s.id, role, diskMiB(int64(len(body))), kind, diskMiB(before), diskMiB(diskReserve), rev, diskMiB(after))
	case !errors.As(err, &ae):
		t.Errorf("%s: %s push: want HTTP 507 insufficient_storage, got a transport error: %v", s.id, kind, err)
	case ae.Status != http.StatusInsufficientStorage || ae.Code != api.CodeNoSpace || !strings.Contains(ae.Message, "blobs.reserve"):
		t.Errorf("%s: %s push: want HTTP 507 %s naming blobs.reserve, got HTTP %d %s: %s", s.id, kind, api.CodeNoSpace, ae.Status, ae.Code, ae.Message)
	}
	// The Raft log and state grow meanwhile (measured); a partial upload left behind would hold
	// what it took.
	if grown := raftAfter - raftBefore; after < before-grown-1<<20 {
		t.Errorf("%s: %s free before the push, %s after its refusal (Raft log and state grew by %s): the partial upload was not removed",
			s.id, diskMiB(before), diskMiB(after), diskMiB(grown))
	}
	if len(files) > 0 {
		t.Errorf("%s: files left in the blob store after a refused push: %v", s.id, files)
	}
	if _, err := b.health(i); err != nil {
		t.Errorf("%s: health after the refused push: %v", s.id, err)
	}
	t.Logf("%s (%s): %s push of %s answered in %s: %v; free %s before, %s after",
		s.id, role, kind, diskMiB(int64(len(body))), took.Round(time.Millisecond), err, diskMiB(before), diskMiB(after))
	return fmt.Sprintf("%s %s %s", took.Round(time.Millisecond), role, kind)
}

// diskUsage returns the free space of server s's data disk and the space its Raft log and state
// take, in one look.
func diskUsage(t *testing.T, s *server) (free, raft int64) {
	t.Helper()
	out, err := s.Exec("sh", "-c", "df -P -k /data | tail -n 1; du -s -k /data/server/raft /data/server/state")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err != nil || len(lines) != 3 {
		t.Fatalf("%s: df and du: %v: %s", s.id, err, out)
	}
	for k, line := range lines {
		f := strings.Fields(line)
		col := 0
		if k == 0 && len(f) >= 4 {
			col = 3
		}
		v, err := strconv.ParseInt(f[col], 10, 64)
		if err != nil {
			t.Fatalf("%s: df and du: %s", s.id, out)
		}
		if k == 0 {
			free = v << 10
		} else {
			raft += v << 10
		}
	}
	return free, raft
}

// diskAckGap returns the longest time between from and to during which no create was
// acknowledged.
func diskAckGap(ops []op, from, to time.Time) time.Duration {
	var acks []time.Time
	for _, r := range ops {
		if r.outcome == acked && r.end.After(from) && r.end.Before(to) {
			acks = append(acks, r.end)
		}
	}
	sort.Slice(acks, func(i, j int) bool { return acks[i].Before(acks[j]) })
	gap, last := time.Duration(0), from
	for _, a := range append(acks, to) {
		gap = max(gap, a.Sub(last))
		last = a
	}
	return gap
}

// diskLastLog returns the last line of the server's log that contains substr.
func diskLastLog(s *server, substr string) string {
	logs := s.Logs()
	k := strings.LastIndex(logs, substr)
	if k < 0 {
		return "none"
	}
	start := strings.LastIndexByte(logs[:k], '\n') + 1
	line, _, _ := strings.Cut(logs[start:], "\n")
	if _, rest, ok := strings.Cut(line, " "); ok {
		line = rest // the timestamp docker logs adds
	}
	return line
}

// diskLogCount counts the lines of the server's log since a time that contain substr.
func diskLogCount(s *server, substr string, since time.Time) int {
	n := 0
	for _, line := range strings.Split(s.Logs(), "\n") {
		ts, _, _ := strings.Cut(line, " ") // the timestamp docker logs adds
		if at, err := time.Parse(time.RFC3339Nano, ts); err == nil && !at.Before(since) && strings.Contains(line, substr) {
			n++
		}
	}
	return n
}

// diskPanic returns the first line of the server's last panic, from its log.
func diskPanic(s *server) string {
	logs := s.Logs()
	k := strings.LastIndex(logs, "panic: ")
	if k < 0 {
		return "no panic in its log"
	}
	line, _, _ := strings.Cut(logs[k:], "\n")
	return line
}

// diskFile is a file in a server's blob store.
type diskFile struct {
	path string
	size int64
}

func (f diskFile) String() string { return fmt.Sprintf("%s (%d bytes)", f.path, f.size) }

// diskBlobFiles lists the files in a server's blob store (blobs and temporary files).
func diskBlobFiles(t *testing.T, s *server) []diskFile {
	t.Helper()
	out, err := s.Exec("find", diskBlobDir, "-type", "f", "-exec", "stat", "-c", "%s %n", "{}", ";")
	if err != nil {
		t.Fatalf("%s: find %s: %v: %s", s.id, diskBlobDir, err, out)
	}
	var files []diskFile
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		size, path, ok := strings.Cut(line, " ")
		n, err := strconv.ParseInt(size, 10, 64)
		if !ok || err != nil {
			if line != "" {
				t.Fatalf("%s: find %s: %q", s.id, diskBlobDir, line)
			}
			continue
		}
		files = append(files, diskFile{path: path, size: n})
	}
	return files
}

// diskHeld returns the files that hold space. A repair fetch creates its partial file before it
// checks for room and removes it when there is none, so an empty one may be seen for a moment.
func diskHeld(files []diskFile) []diskFile {
	var out []diskFile
	for _, f := range files {
		if f.size > 0 {
			out = append(out, f)
		}
	}
	return out
}

// diskBlobPath is where a server keeps a blob.
func diskBlobPath(sha string) string { return diskBlobDir + "/sha256/" + sha[:2] + "/" + sha }

// diskProcessAlive reports whether the slipway server process runs in the container.
func diskProcessAlive(s *server) bool {
	pids, err := s.serverPIDs()
	return err == nil && len(pids) > 0
}

// diskPID returns the slipway server process's ID ("none" if it does not run): a different one
// means it exited and was started again.
func diskPID(t *testing.T, s *server) string {
	t.Helper()
	pids, err := s.serverPIDs()
	if err != nil || len(pids) == 0 {
		return "none"
	}
	return strings.Join(pids, " ")
}

// diskRandomTarGz returns a tar.gz of at least size bytes: an appspec and random data, stored
// without compression so that building it is fast. The server checks only the archive's magic
// bytes before storing it, so it is pushed as any bundle is.
func diskRandomTarGz(t *testing.T, size int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	buf.Grow(int(size + 1<<20))
	gz, err := gzip.NewWriterLevel(&buf, gzip.NoCompression)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(gz)
	spec := []byte("version: 0.0\nos: linux\nfiles:\n  - source: /\n    destination: /opt/app\n")
	for _, f := range []struct {
		name string
		size int64
		r    io.Reader
	}{{"appspec.yml", int64(len(spec)), bytes.NewReader(spec)}, {"payload.bin", size, rand.Reader}} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: 0o644, Size: f.size, ModTime: bundle.Epoch}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyN(tw, f.r, f.size); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// diskDownloadSHA downloads a revision's bundle and returns its sha256 and size.
func diskDownloadSHA(ctx context.Context, cl *api.Client, id string) (string, int64, error) {
	d, err := cl.RevisionDownload(ctx, id, 0)
	if err != nil {
		return "", 0, err
	}
	defer func() { _ = d.Body.Close() }()
	h := sha256.New()
	n, err := io.Copy(h, d.Body)
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func diskSHA256(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func diskMiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

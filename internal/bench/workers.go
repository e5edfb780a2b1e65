package bench

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/internal/simagent"
)

// fleet is the simulated agents a run drives: a simagent.Fleet in this process, or agents spread
// over worker processes (workerFleet), so that a fleet bigger than one process's open-files
// limit fits the machine.
type fleet interface {
	Add(ctx context.Context, n, parallel int) error
	Len() int
	Records(id string) []simagent.Record
	Done() <-chan struct{}
	EndAcked(id string) int
	Resent() int64
	Close()
}

var _ fleet = (*simagent.Fleet)(nil)

// workerCommand is the hidden verb a worker process runs (`slipway bench agent-worker`).
const workerCommand = "agent-worker"

// workerMsg is one line between the bench and a worker process, in either direction: a request
// (Op add, records, ended, stats, close), its answer (the same Op, with Err when it failed), or
// the worker's event "done" (some agent's deployment end was acknowledged).
type workerMsg struct {
	Op       string            `json:"op"`
	Err      string            `json:"err,omitempty"`
	Config   *workerConfig     `json:"config,omitempty"`
	N        int               `json:"n,omitempty"`
	Parallel int               `json:"parallel,omitempty"`
	ID       string            `json:"id,omitempty"`
	Records  []simagent.Record `json:"records,omitempty"`
	Count    int64             `json:"count,omitempty"`
	CPUNanos int64             `json:"cpu_ns,omitempty"`
}

// workerConfig is a worker's simagent.Config.
type workerConfig struct {
	Servers           []string `json:"servers"`
	RegistrationToken string   `json:"registration_token"`
	NamePrefix        string   `json:"name_prefix"`
	RootCAPEM         []byte   `json:"root_ca_pem,omitempty"`
}

// workerFleet spreads simulated agents over worker processes, each this same executable running
// `slipway bench agent-worker`: one JSON line per message on its stdin and stdout.
type workerFleet struct {
	workers []*worker
	notify  chan struct{}
	mu      sync.Mutex
	n       int
}

type worker struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	replies chan workerMsg
	mu      sync.Mutex // one request at a time
	n       int
}

// startWorkers starts procs worker processes whose agents use cfg (with ca, the cluster CA, when
// the cluster speaks TLS); their stderr goes to progress.
func startWorkers(procs int, cfg simagent.Config, ca []byte, progress io.Writer) (*workerFleet, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	wf := &workerFleet{notify: make(chan struct{}, 1)}
	for i := range procs {
		w, err := wf.start(exe, workerConfig{Servers: cfg.Servers, RegistrationToken: cfg.RegistrationToken,
			NamePrefix: fmt.Sprintf("%s-w%d", cfg.NamePrefix, i+1), RootCAPEM: ca}, progress)
		if err != nil {
			wf.Close()
			return nil, fmt.Errorf("agent worker %d: %w", i+1, err)
		}
		wf.workers = append(wf.workers, w)
	}
	return wf, nil
}

func (wf *workerFleet) start(exe string, cfg workerConfig, progress io.Writer) (*worker, error) {
	cmd := exec.Command(exe, "bench", workerCommand)
	cmd.Stderr = progress
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w := &worker{cmd: cmd, in: in, replies: make(chan workerMsg, 1)}
	go func() {
		defer close(w.replies)
		dec := json.NewDecoder(bufio.NewReaderSize(out, 1<<20))
		for {
			var m workerMsg
			if dec.Decode(&m) != nil {
				return
			}
			if m.Op == "done" {
				select {
				case wf.notify <- struct{}{}:
				default:
				}
				continue
			}
			w.replies <- m
		}
	}()
	if _, err := w.call(workerMsg{Op: "config", Config: &cfg}); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, err
	}
	return w, nil
}

// call sends a request and waits for its answer.
func (w *worker) call(req workerMsg) (workerMsg, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	b, err := json.Marshal(req)
	if err != nil {
		return workerMsg{}, err
	}
	if _, err := w.in.Write(append(b, '\n')); err != nil {
		return workerMsg{}, fmt.Errorf("agent worker gone: %w", err)
	}
	m, ok := <-w.replies
	if !ok {
		return workerMsg{}, errors.New("agent worker exited")
	}
	if m.Err != "" {
		return m, errors.New(m.Err)
	}
	return m, nil
}

// each calls fn for every worker at once and returns the first error.
func (wf *workerFleet) each(fn func(w *worker) error) error {
	errs := make([]error, len(wf.workers))
	var wg sync.WaitGroup
	for i, w := range wf.workers {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = fn(w) }()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Add starts n more agents, spread so that every worker has as many as the others (or one
// more), parallel at a time per worker.
func (wf *workerFleet) Add(ctx context.Context, n, parallel int) error {
	wf.mu.Lock()
	total := wf.n + n
	wf.mu.Unlock()
	err := wf.each(func(w *worker) error {
		i := 0
		for k, x := range wf.workers {
			if x == w {
				i = k
			}
		}
		want := total / len(wf.workers)
		if i < total%len(wf.workers) {
			want++
		}
		if add := want - w.n; add > 0 {
			if _, err := w.call(workerMsg{Op: "add", N: add, Parallel: parallel}); err != nil {
				return err
			}
			w.n = want
		}
		return nil
	})
	wf.mu.Lock()
	wf.n = 0
	for _, w := range wf.workers {
		wf.n += w.n
	}
	wf.mu.Unlock()
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// Len implements fleet.
func (wf *workerFleet) Len() int {
	wf.mu.Lock()
	defer wf.mu.Unlock()
	return wf.n
}

// Records implements fleet.
func (wf *workerFleet) Records(id string) []simagent.Record {
	var mu sync.Mutex
	var out []simagent.Record
	_ = wf.each(func(w *worker) error {
		m, err := w.call(workerMsg{Op: "records", ID: id})
		mu.Lock()
		out = append(out, m.Records...)
		mu.Unlock()
		return err
	})
	return out
}

// Done implements fleet.
func (wf *workerFleet) Done() <-chan struct{} { return wf.notify }

func (wf *workerFleet) sum(req workerMsg, field func(workerMsg) int64) int64 {
	var mu sync.Mutex
	var n int64
	_ = wf.each(func(w *worker) error {
		m, err := w.call(req)
		mu.Lock()
		n += field(m)
		mu.Unlock()
		return err
	})
	return n
}

// EndAcked implements fleet.
func (wf *workerFleet) EndAcked(id string) int {
	return int(wf.sum(workerMsg{Op: "ended", ID: id}, func(m workerMsg) int64 { return m.Count }))
}

// Resent implements fleet.
func (wf *workerFleet) Resent() int64 {
	return wf.sum(workerMsg{Op: "stats"}, func(m workerMsg) int64 { return m.Count })
}

// CPUTime is the CPU time the worker processes used so far.
func (wf *workerFleet) CPUTime() time.Duration {
	return time.Duration(wf.sum(workerMsg{Op: "stats"}, func(m workerMsg) int64 { return m.CPUNanos }))
}

// Close implements fleet: it closes every worker's agents and waits for the processes.
func (wf *workerFleet) Close() {
	_ = wf.each(func(w *worker) error {
		_, _ = w.call(workerMsg{Op: "close"})
		_ = w.in.Close()
		done := make(chan struct{})
		go func() { _ = w.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = w.cmd.Process.Kill()
			<-done
		}
		return nil
	})
}

// runWorker is a worker process: it serves the bench's requests on in, answering on out, until
// in ends or it is told to close.
func runWorker(ctx context.Context, in io.Reader, out io.Writer) error {
	var (
		wmu   sync.Mutex
		enc   = json.NewEncoder(out)
		fl    *simagent.Fleet
		stopN = make(chan struct{})
	)
	send := func(m workerMsg) error {
		wmu.Lock()
		defer wmu.Unlock()
		return enc.Encode(m)
	}
	defer close(stopN)
	dec := json.NewDecoder(bufio.NewReader(in))
	for {
		var req workerMsg
		if err := dec.Decode(&req); err != nil {
			if fl != nil {
				fl.Close()
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		resp := workerMsg{Op: req.Op}
		var err error
		switch {
		case req.Op == "config" && fl == nil && req.Config != nil:
			fl, err = newWorkerFleet(*req.Config)
			if err == nil {
				go func() {
					for {
						select {
						case <-fl.Done():
							_ = send(workerMsg{Op: "done"})
						case <-stopN:
							return
						}
					}
				}()
			}
		case fl == nil:
			err = errors.New("agent worker: no config yet")
		case req.Op == "add":
			if _, lerr := raiseOpenFiles(uint64(2*(fl.Len()+req.N) + 1024)); lerr != nil {
				err = lerr
				break
			}
			err = fl.Add(ctx, req.N, req.Parallel)
		case req.Op == "records":
			resp.Records = fl.Records(req.ID)
		case req.Op == "ended":
			resp.Count = int64(fl.EndAcked(req.ID))
		case req.Op == "stats":
			resp.Count, resp.CPUNanos = fl.Resent(), int64(cpuTime())
		case req.Op == "close":
			fl.Close()
			_ = send(resp)
			return nil
		default:
			err = fmt.Errorf("agent worker: unknown request %q", req.Op)
		}
		if err != nil {
			resp.Err = err.Error()
		}
		if err := send(resp); err != nil {
			return err
		}
	}
}

func newWorkerFleet(c workerConfig) (*simagent.Fleet, error) {
	sc := simagent.Config{Servers: c.Servers, RegistrationToken: c.RegistrationToken, NamePrefix: c.NamePrefix}
	if len(c.RootCAPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(c.RootCAPEM) {
			return nil, errors.New("agent worker: the cluster CA is not PEM")
		}
		sc.RootCAs = pool
	}
	return simagent.NewFleet(sc)
}

package api

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// roundTripFunc lets a test decide what each attempt of a request meets.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func okResponse(r *http.Request) *http.Response {
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader(`{"name":"web"}`)),
		Header: http.Header{"Content-Type": {"application/json"}}, Request: r}
}

func TestRetryOnTransportErrors(t *testing.T) {
	t.Parallel()
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		name      string
		first     error // what the first attempt meets; later attempts succeed
		wantCalls int32
		wantErr   bool
	}{
		{"connection refused is reported at once", refused, 1, true},
		{"unknown host is reported at once", &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "nope", IsNotFound: true}}, 1, true},
		{"dropped connection is retried", io.ErrUnexpectedEOF, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				if calls.Add(1) == 1 {
					return nil, tt.first
				}
				return okResponse(r), nil
			})}
			c, err := NewClient(Config{Address: "127.0.0.1:1", HTTPClient: hc, RetryFor: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.AppGet(context.Background(), "web", nil)
			if (err != nil) != tt.wantErr || calls.Load() != tt.wantCalls {
				t.Errorf("err = %v after %d calls; want error %v after %d", err, calls.Load(), tt.wantErr, tt.wantCalls)
			}
			if tt.wantErr && !errors.Is(err, tt.first) && !strings.Contains(err.Error(), "cannot reach slipway") {
				t.Errorf("err = %v, want the transport error", err)
			}
		})
	}
}

func TestPathEscapedOnce(t *testing.T) {
	t.Parallel()
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.URL.EscapedPath())
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	for _, base := range []string{srv.URL, srv.URL + "/prefix%20dir/"} {
		c, err := NewClient(Config{Address: base, RetryFor: -1})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.TokenRevoke(context.Background(), "a/b c%"); err != nil {
			t.Fatal(err)
		}
		want := strings.TrimSuffix(strings.TrimPrefix(base, srv.URL), "/") + "/v1/tokens/a%2Fb%20c%25"
		if got.Load() != want {
			t.Errorf("base %s: server saw %v, want %s", base, got.Load(), want)
		}
	}
}

// TestLostAnswerThenRefusedIsNotReportedAsUnreachable: a write that reached the server and lost
// its answer must not be reported as "cannot reach slipway" when the retry meets a refused
// connection (the server going down): the outcome is unknown, and the error says so.
func TestLostAnswerThenRefusedIsNotReportedAsUnreachable(t *testing.T) {
	var applied atomic.Int32
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		applied.Add(1)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = ln.Close() // the server goes away: every retry is refused
			_ = conn.Close()
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Close() }()
	cl, err := NewClient(Config{Address: "http://" + ln.Addr().String(), RetryFor: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cl.AppCreate(context.Background(), AppCreateRequest{Name: "web"})
	if applied.Load() != 1 {
		t.Fatalf("applied %d times", applied.Load())
	}
	if ErrorCode(err) != CodeTimeout || !strings.Contains(err.Error(), "may or may not have been applied") {
		t.Fatalf("want an outcome-unknown error, got %v", err)
	}
}

// TestLostAnswerThenDeadlineIsIndeterminate: when the caller's context ends while the client
// retries a write whose first attempt reached the server, the error must still say that the
// outcome is unknown, not that the server could not be reached.
func TestLostAnswerThenDeadlineIsIndeterminate(t *testing.T) {
	var applied atomic.Int32
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if applied.Add(1) == 1 {
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				_ = conn.Close() // the answer is lost
			}
			return
		}
		// Later attempts: the cluster has no leader (retryable), until the caller gives up.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":{"code":"no_leader","message":"no leader"}}`))
	})}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Close() }()
	cl, err := NewClient(Config{Address: "http://" + ln.Addr().String(), RetryFor: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err = cl.AppCreate(ctx, AppCreateRequest{Name: "web"})
	if applied.Load() < 2 {
		t.Fatalf("the client tried %d times; want a retry after the lost answer", applied.Load())
	}
	if ErrorCode(err) != CodeTimeout || !Indeterminate(err) {
		t.Fatalf("want an outcome-unknown error, got %v (code %q)", err, ErrorCode(err))
	}
}

// TestIndeterminate classifies errors by whether the write may have been applied.
func TestIndeterminate(t *testing.T) {
	cl, err := NewClient(Config{Address: "http://127.0.0.1:1", RetryFor: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, refused := cl.AppCreate(context.Background(), AppCreateRequest{Name: "web"})
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{&Error{Code: CodeConflict}, false},
		{&Error{Code: CodeNotFound}, false},
		{&Error{Code: CodeBadRequest}, false},
		{&Error{Code: CodeTimeout}, true},
		{&Error{Code: CodeNoLeader}, true},
		{&Error{Code: CodeUnavailable}, true},
		{refused, false}, // nothing listening: never sent
	} {
		if got := Indeterminate(tc.err); got != tc.want {
			t.Errorf("Indeterminate(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

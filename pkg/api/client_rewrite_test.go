package api

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestWriteSentThenServerDiedIsIndeterminate: a server reads a write in full on a reused
// keep-alive connection and dies before it answers. net/http sends a request with an
// Idempotency-Key again on a new connection, which is refused, and reports only that refusal;
// the client must still say the write may have been applied (it was read), not that it was not.
func TestWriteSentThenServerDiedIsIndeterminate(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() {
		served <- func() error {
			conn, err := ln.Accept()
			if err != nil {
				return err
			}
			defer func() { _ = conn.Close() }()
			br := bufio.NewReader(conn)
			first, err := http.ReadRequest(br) // a read, answered: the connection is now reused
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, first.Body)
			body := `{"name":"web"}`
			if _, err := fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body); err != nil {
				return err
			}
			write, err := http.ReadRequest(br) // the write, read in full: the server may act on it
			if err != nil {
				return err
			}
			if _, err := io.Copy(io.Discard, write.Body); err != nil {
				return err
			}
			if write.Header.Get("Idempotency-Key") == "" {
				return fmt.Errorf("the write came without an Idempotency-Key")
			}
			return ln.Close() // the server dies: no answer, and later dials are refused
		}()
	}()
	c, err := NewClient(Config{Address: "http://" + ln.Addr().String(), Token: "t", RetryFor: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.AppGet(ctx, "web", nil); err != nil {
		t.Fatalf("the first request: %v", err)
	}
	_, err = c.AppUpdate(ctx, "web", AppUpdateRequest{Description: "d"}, 0)
	if serr := <-served; serr != nil {
		t.Fatalf("server: %v", serr)
	}
	if err == nil || !Indeterminate(err) {
		t.Fatalf("a write the server read and never answered: err = %v (indeterminate %v); want an outcome-unknown error", err, Indeterminate(err))
	}
}

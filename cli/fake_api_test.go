package cli

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/slipwayhq/slipway/pkg/api"
)

// testToken is the only secret the fake API accepts.
const testToken = "s3cret"

var (
	t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	t1 = time.Date(2025, 2, 3, 4, 5, 6, 0, time.UTC)

	fakeApps = []api.App{
		{Name: "api", Description: "Public API", CreateTime: t0, CreateIndex: 3, ModifyIndex: 3},
		{Name: "web", Description: "Web site\twith a tab", CreateTime: t1, CreateIndex: 5, ModifyIndex: 9},
	}
	fakeTokens = []api.Token{
		{AccessorID: "acc-1", Name: "bootstrap", Type: api.TokenTypeManagement, CreateTime: t0},
		{AccessorID: "acc-2", Name: "ci", Type: api.TokenTypeClient, CreateTime: t0, ExpirationTime: &t1},
	}
	fakeRaft = api.RaftConfiguration{Index: 42, ObservedBy: "node-1", Servers: []api.RaftServer{
		{ID: "node-1", RaftAddr: "10.0.0.1:4647", HTTPAddr: "http://10.0.0.1:7400", Leader: true, Voter: true, Reachable: true,
			LastContact: &t1, LastContactAgeMS: ptr(int64(0))},
		{ID: "node-2", RaftAddr: "10.0.0.2:4647", HTTPAddr: "http://10.0.0.2:7400", Voter: true, Reachable: false,
			LastContact: &t0, LastContactAgeMS: ptr(int64(312_400))},
		{ID: "node-3", RaftAddr: "10.0.0.3:4647", Voter: false},
	}}
	fakeSnapshot = "SLIPWAY-SNAPSHOT\x00\x01\x02 bytes"
)

// request is what the fake API saw of one call.
type request struct {
	Method, Path, Query, Body string
	IdempotencyKey            string
	ContentType               string
}

func (r request) String() string {
	s := r.Method + " " + r.Path
	if r.Query != "" {
		s += "?" + r.Query
	}
	return s
}

// fakeAPI serves the /v1 endpoints the CLI uses from fixed data and records every request.
type fakeAPI struct {
	srv *httptest.Server

	mu   sync.Mutex
	reqs []request
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	return newFakeAPIWith(t, nil)
}

// newFakeAPIWith is newFakeAPI served over TLS with tlsCfg when it is not nil.
func newFakeAPIWith(t *testing.T, tlsCfg *tls.Config) *fakeAPI {
	t.Helper()
	f := &fakeAPI{}
	mux := http.NewServeMux()

	mux.HandleFunc("GET /v1/events", func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer func() { _ = ws.Close() }()
		_ = ws.WriteJSON(api.Event{Index: 12, Kind: "app", Op: "create", Resource: "web", Time: t0})
		_, _, _ = ws.ReadMessage() // until the client goes
	})

	mux.HandleFunc("GET /v1/apps", func(w http.ResponseWriter, r *http.Request) {
		// Two pages, to make the CLI follow Next.
		switch r.URL.Query().Get("next") {
		case "":
			writeJSON(w, http.StatusOK, api.AppList{Apps: fakeApps[:1], Next: "page-2"})
		case "page-2":
			writeJSON(w, http.StatusOK, api.AppList{Apps: fakeApps[1:]})
		default:
			writeError(w, http.StatusBadRequest, api.CodeBadRequest, "bad page token")
		}
	})
	mux.HandleFunc("POST /v1/apps", func(w http.ResponseWriter, r *http.Request) {
		var req api.AppCreateRequest
		if !decodeStrict(w, r, &req) {
			return
		}
		if req.Name == "web" {
			writeError(w, http.StatusConflict, api.CodeConflict, `app "web" already exists`)
			return
		}
		writeJSON(w, http.StatusOK, api.App{Name: req.Name, Description: req.Description, CreateTime: t0, CreateIndex: 7, ModifyIndex: 7})
	})
	mux.HandleFunc("GET /v1/apps/{name}", func(w http.ResponseWriter, r *http.Request) {
		for _, a := range fakeApps {
			if a.Name == r.PathValue("name") {
				writeJSON(w, http.StatusOK, a)
				return
			}
		}
		writeError(w, http.StatusNotFound, api.CodeNotFound, fmt.Sprintf("app %q not found", r.PathValue("name")))
	})
	mux.HandleFunc("PUT /v1/apps/{name}", func(w http.ResponseWriter, r *http.Request) {
		var req api.AppUpdateRequest
		if !decodeStrict(w, r, &req) {
			return
		}
		for _, a := range fakeApps {
			if a.Name != r.PathValue("name") {
				continue
			}
			if cas := r.URL.Query().Get("cas"); cas != "" && cas != fmt.Sprint(a.ModifyIndex) {
				writeError(w, http.StatusConflict, api.CodeConflict, fmt.Sprintf("application %q was modified at index %d, not %s", a.Name, a.ModifyIndex, cas))
				return
			}
			a.Description, a.ModifyIndex = req.Description, 12
			writeJSON(w, http.StatusOK, a)
			return
		}
		writeError(w, http.StatusNotFound, api.CodeNotFound, fmt.Sprintf("app %q not found", r.PathValue("name")))
	})
	mux.HandleFunc("DELETE /v1/apps/{name}", func(w http.ResponseWriter, r *http.Request) {
		for _, a := range fakeApps {
			if a.Name == r.PathValue("name") {
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		writeError(w, http.StatusNotFound, api.CodeNotFound, fmt.Sprintf("app %q not found", r.PathValue("name")))
	})

	mux.HandleFunc("POST /v1/acl/bootstrap", func(w http.ResponseWriter, r *http.Request) {
		var req api.ACLBootstrapRequest
		if !decodeStrict(w, r, &req) {
			return
		}
		writeJSON(w, http.StatusOK, api.Token{AccessorID: "acc-1", SecretID: "boot-secret", Name: "bootstrap", Type: api.TokenTypeManagement, CreateTime: t0})
	})
	mux.HandleFunc("POST /v1/tokens", func(w http.ResponseWriter, r *http.Request) {
		var req api.TokenCreateRequest
		if !decodeStrict(w, r, &req) {
			return
		}
		tok := api.Token{AccessorID: "acc-new", SecretID: "new-secret", Name: req.Name, Type: req.Type, CreateTime: t0}
		if req.TTL != "" {
			d, err := time.ParseDuration(req.TTL)
			if err != nil {
				writeError(w, http.StatusBadRequest, api.CodeBadRequest, "bad ttl")
				return
			}
			exp := t0.Add(d)
			tok.ExpirationTime = &exp
		}
		writeJSON(w, http.StatusOK, tok)
	})
	mux.HandleFunc("GET /v1/tokens", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("next") {
		case "":
			writeJSON(w, http.StatusOK, api.TokenList{Tokens: fakeTokens[:1], Next: "t2"})
		default:
			writeJSON(w, http.StatusOK, api.TokenList{Tokens: fakeTokens[1:]})
		}
	})
	mux.HandleFunc("GET /v1/tokens/self", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, fakeTokens[0])
	})
	mux.HandleFunc("GET /v1/tokens/{id}", func(w http.ResponseWriter, r *http.Request) {
		for _, tok := range fakeTokens {
			if tok.AccessorID == r.PathValue("id") {
				writeJSON(w, http.StatusOK, tok)
				return
			}
		}
		writeError(w, http.StatusNotFound, api.CodeNotFound, "token not found")
	})
	mux.HandleFunc("DELETE /v1/tokens/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})

	mux.HandleFunc("GET /v1/status/leader", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, api.Leader{ID: "node-1", RaftAddr: "10.0.0.1:4647", HTTPAddr: "http://10.0.0.1:7400"})
	})
	mux.HandleFunc("GET /v1/operator/raft", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, fakeRaft)
	})
	mux.HandleFunc("DELETE /v1/operator/raft/peers/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /v1/operator/snapshot", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = io.WriteString(w, fakeSnapshot)
	})
	mux.HandleFunc("PUT /v1/operator/snapshot", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})

	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, request{
			Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Body: string(body),
			IdempotencyKey: r.Header.Get("Idempotency-Key"), ContentType: r.Header.Get("Content-Type"),
		})
		f.mu.Unlock()
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		if r.URL.Path != "/v1/acl/bootstrap" && r.Header.Get("Authorization") != "Bearer "+testToken {
			writeError(w, http.StatusUnauthorized, api.CodeUnauthorized, "missing or unknown token")
			return
		}
		mux.ServeHTTP(w, r)
	}))
	if tlsCfg != nil {
		f.srv.TLS = tlsCfg
		f.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
		f.srv.StartTLS()
	} else {
		f.srv.Start()
	}
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.reqs...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, api.ErrorBody{Error: api.ErrorDetail{Code: code, Message: msg}})
}

func decodeStrict(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, api.CodeBadRequest, "bad body: "+err.Error())
		return false
	}
	return true
}

func ptr[T any](v T) *T { return &v }

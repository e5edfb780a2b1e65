package build

import (
	"archive/zip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"regexp"
	"strings"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Secrets reads secret values for builds: the secrets service's Value (wired by the server),
// which decides by as's policies (secretsmanager:GetSecretValue on secret/NAME) and records
// every read in the audit trail. A name not allowed is fault.Forbidden, an unknown one
// fault.NotFound.
type Secrets interface {
	Value(ctx context.Context, name string, as *auth.Identity, origin api.Origin, requestID string) ([]byte, error)
}

// Bounds of the agent routes.
const (
	MaxSecretNames   = MaxVariables // names one secrets request asks for
	maxSecretRef     = 512 + 1 + 255
	maxArtifactNames = 255
)

var artifactNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$`)

// agentRoutes are the routes a build's agent calls while it runs the build: host-authenticated
// (api.HostSecret), and answered only to the host the build is in progress on.
func (m *Module) agentRoutes() []api.Route {
	return []api.Route{
		{Method: "GET", Pattern: "/v1/agent/builds/{id}/source", Access: api.HostSecret, Action: "codebuild:DownloadSource", Resource: "project/*", Handle: m.agentSource},
		{Method: "POST", Pattern: "/v1/agent/builds/{id}/secrets", Access: api.HostSecret, Action: "codebuild:GetSecrets", Resource: "project/*", Handle: m.agentSecrets},
		{Method: "POST", Pattern: "/v1/agent/builds/{id}/git-credential", Access: api.HostSecret, Action: "codebuild:GetGitCredential", Resource: "project/*", Handle: m.agentGitCredential},
		{Method: "PUT", Pattern: "/v1/agent/builds/{id}/artifacts/{name}", Access: api.HostSecret, Action: "codebuild:PutArtifact", Resource: "project/*", Handle: m.agentArtifact},
	}
}

// runningOn answers the build the path names if it is in progress on the calling host: a build
// of another host is Forbidden, one that is not in progress (queued, or ended) a Conflict. A
// build this server has not seen in progress yet is read again after a consistent read (the
// assignment may have committed through another server a moment ago).
func (m *Module) runningOn(r *http.Request, id *auth.Identity) (Build, error) {
	if id == nil || id.Host == nil {
		return Build{}, fault.New(fault.Forbidden, "this endpoint is for agents")
	}
	bid := r.PathValue("id")
	if _, _, err := SplitID(bid); err != nil {
		return Build{}, err
	}
	read := func() (Build, error) {
		var b Build
		err := m.core.State.View(func(tx *state.Tx) error {
			var err error
			b, err = mustBuild(tx, bid)
			return err
		})
		return b, err
	}
	b, err := read()
	if err != nil || !b.runsOnOrStopping(id.Host.ID) {
		ctx, cancel := m.core.HTTP.WaitContext(r)
		defer cancel()
		if cerr := m.core.Cluster.ConsistentRead(ctx); cerr != nil {
			return Build{}, cerr
		}
		if b, err = read(); err != nil {
			return Build{}, err
		}
	}
	switch {
	case b.Agent != "" && b.Agent != id.Host.ID:
		return Build{}, fault.New(fault.Forbidden, "build %s does not run on host %s", b.ID, id.Host.Name)
	case b.Status == pub.BuildQueued:
		return Build{}, fault.New(fault.Conflict, "build %s is queued, not assigned to host %s", b.ID, id.Host.Name)
	case b.Status != pub.BuildInProgress:
		return Build{}, fault.New(fault.Conflict, "build %s ended %s: it no longer needs its source, secrets or artifacts", b.ID, b.Status)
	}
	return b, nil
}

// runsOnOrStopping reports whether the build is in progress on the host, stop requested or
// not (an agent stopping a build may still upload what it has).
func (b Build) runsOnOrStopping(hostID string) bool {
	return b.Status == pub.BuildInProgress && b.Agent == hostID
}

// agentSource answers the build's source: a tar of its commit's files (git archive). A build
// without source is 404.
func (m *Module) agentSource(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	b, err := m.runningOn(r, id)
	if err != nil {
		return err
	}
	if b.SourceArtifact != nil {
		return m.serveSourceArtifact(w, r, b)
	}
	if b.Source.Type == pub.SourceNone || b.Source.Repository == "" {
		return fault.New(fault.NotFound, "build %s has no source (NO_SOURCE): it runs its inline buildspec in an empty directory", b.ID)
	}
	if m.Sources == nil {
		return fault.New(fault.Unavailable, "this server reads no repositories")
	}
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Cache-Control", "no-store")
	cw := &countingWriter{w: w}
	err = m.Sources.Archive(r.Context(), b.Source.Repository, b.ResolvedSourceVersion, cw)
	if err != nil && cw.n > 0 {
		// The answer has begun: break the tar, so the agent's reader fails instead of taking
		// a cut archive for a whole one (a block that is not a valid tar header).
		_, _ = io.WriteString(w, strings.Repeat("slipway: the archive failed on the server\n", 13)[:512])
		m.core.Log.Warn("build source archive failed midway", "build", b.ID, "error", err)
		return nil
	}
	return err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// agentSecrets answers the values of the secrets the build's agent asks for, each read with
// Secrets.Value under the build's service role (its policies decide; the audit trail records
// each read as the role's, with the build and host in the token's name). A build without a
// service role reads none; a name the role may not read is 403 naming it.
func (m *Module) agentSecrets(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	b, err := m.runningOn(r, id)
	if err != nil {
		return err
	}
	var req agentproto.BuildSecretsRequest
	if err := m.core.HTTP.Decode(w, r, &req); err != nil {
		return err
	}
	if len(req.Names) > MaxSecretNames {
		return fault.New(fault.Invalid, "%d secret names asked for; at most %d", len(req.Names), MaxSecretNames)
	}
	if m.Secrets == nil {
		return fault.New(fault.Unavailable, "this server has no secrets store")
	}
	if b.ServiceRole == "" {
		return fault.New(fault.Forbidden, "build project %s has no service role, so its builds read no secrets: set service_role to a role allowed secretsmanager:GetSecretValue on them", b.Project)
	}
	as := &auth.Identity{Token: state.Token{AccessorID: "build-role/" + b.ServiceRole, Type: pub.TokenTypeRole, Role: b.ServiceRole,
		Name: "build " + b.ID, Source: "host/" + id.Host.Name}}
	origin := api.Origin{Secure: r.TLS != nil}
	if a, err := netip.ParseAddr(api.SourceOf(r)); err == nil {
		origin.Addr = a
	}
	ctx, cancel := m.core.HTTP.ReadContext(r)
	defer cancel()
	reply := agentproto.BuildSecretsReply{Values: map[string]string{}}
	plain := map[string][]byte{}
	for _, ref := range req.Names {
		if len(ref) > maxSecretRef {
			return fault.New(fault.Invalid, "secret reference %s is over %d bytes", state.Shorten(ref), maxSecretRef)
		}
		if _, ok := reply.Values[ref]; ok {
			continue
		}
		name, key, hasKey := strings.Cut(ref, ":")
		v, ok := plain[name]
		if !ok {
			v, err = m.Secrets.Value(ctx, name, as, origin, m.core.HTTP.RequestID(w))
			switch {
			case fault.CodeOf(err) == fault.Forbidden:
				return fault.New(fault.Forbidden, "service role %s of build project %s may not read secret %s (secretsmanager:GetSecretValue)", b.ServiceRole, b.Project, state.Shorten(name))
			case err != nil:
				return err
			}
			plain[name] = v
		}
		if !hasKey {
			reply.Values[ref] = string(v)
			continue
		}
		field, err := jsonField(v, key)
		if err != nil {
			return fault.New(fault.NotFound, "secret %s: %v", state.Shorten(name), err)
		}
		reply.Values[ref] = field
	}
	w.Header().Set("Cache-Control", "no-store")
	m.core.HTTP.JSON(w, http.StatusOK, reply)
	return nil
}

// jsonField is the value of key in a secret holding a JSON object: a string as it is, anything
// else as its JSON.
func jsonField(v []byte, key string) (string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(v, &obj); err != nil {
		return "", fault.New(fault.Invalid, "its value is not a JSON object, so it has no key %s", state.Shorten(key))
	}
	raw, ok := obj[key]
	if !ok {
		return "", fault.New(fault.NotFound, "its JSON has no key %s", state.Shorten(key))
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	return string(raw), nil
}

// agentArtifact stores an artifact's zip in the blob store (content-addressed, so a retry
// stores nothing twice; at most the blob store's upload limit, 2 GiB by default) and answers
// its SHA-256 and size. The build's end names it by that SHA; the build then references it.
func (m *Module) agentArtifact(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	b, err := m.runningOn(r, id)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if len(name) > maxArtifactNames || !artifactNameRe.MatchString(name) {
		return fault.New(fault.Invalid, "artifact name %s is not \"primary\" or a secondary artifact's identifier (letters, digits, '_' and '-')", state.Shorten(name))
	}
	if m.core.Blobs == nil {
		return fault.New(fault.Unavailable, "this server has no blob store")
	}
	blob, err := m.core.Blobs.Upload(r.Context(), r.Body, r.Header.Get(pub.HeaderSHA256), r.ContentLength, checkZip)
	if err != nil {
		return err
	}
	m.core.Log.Info("build artifact uploaded", "build", b.ID, "artifact", name, "sha256", blob.SHA256, "size", blob.Size)
	m.core.HTTP.JSON(w, http.StatusOK, agentproto.BuildArtifactUploaded{SHA256: blob.SHA256, Size: blob.Size})
	return nil
}

// checkZip refuses an artifact that is not a zip archive.
func checkZip(r io.ReaderAt, size int64) error {
	if _, err := zip.NewReader(r, size); err != nil {
		return fault.New(fault.Invalid, "the artifact is not a zip archive: %v", err)
	}
	return nil
}

package session

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/slipwayhq/slipway/buildspec"
	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// GitTokenVar is the variable holding a build's git credential (buildspec env
// git-credential-helper: yes): the helper gitCredentialEnv configures answers it as git's
// password. Its value is masked in the log.
const GitTokenVar = "SLIPWAY_GIT_TOKEN"

// gitCredentialHelper is the credential helper git runs: for "get" it answers user "build" and
// the token (read from GitTokenVar, so the token is in no git configuration); "store" and
// "erase" do nothing.
const gitCredentialHelper = `!f() { test "$1" = get || return 0; echo username=build; echo "password=$` + GitTokenVar + `"; }; f`

// maxGitCredentialReply bounds the answer to a git credential request.
const maxGitCredentialReply = 64 << 10

// BuildGitCredential asks any server for the build's git credential (POST path): a role session
// of the build's service role. A refusal (a project without a service role, a build that
// ended) is a *refusedError naming the server's reason.
func (f *Fetcher) BuildGitCredential(ctx context.Context, path string) (agentproto.BuildGitCredential, error) {
	var reply agentproto.BuildGitCredential
	err := f.eachServer(ctx, func(srv string) error {
		resp, err := f.request(ctx, srv, http.MethodPost, path, strings.NewReader("{}"), "application/json")
		if err != nil {
			return err
		}
		defer func() { _ = resp.Body.Close() }()
		reply = agentproto.BuildGitCredential{}
		return json.NewDecoder(io.LimitReader(resp.Body, maxGitCredentialReply)).Decode(&reply)
	})
	if err != nil {
		return reply, fmt.Errorf("get the build's git credential: %w", err)
	}
	if reply.Token == "" {
		return reply, fmt.Errorf("get the build's git credential: the server answered no token")
	}
	return reply, nil
}

// gitCredentialEnv is the environment that makes git in a build use token for each server:
// git's GIT_CONFIG_COUNT / GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n (git 2.31 and later) set, for
// each server's scheme://host:port, credential.URL.helper to "" (other helpers are not asked
// for the cluster) then to gitCredentialHelper; GitTokenVar holds the token. Git matches a
// credential.URL entry against a remote's scheme and host only, so the URL carries no path.
func gitCredentialEnv(servers []string, token string) []buildspec.Var {
	var urls []string
	for _, s := range servers {
		s = strings.TrimRight(s, "/")
		if s == "" || strings.ContainsAny(s, "\n\r") {
			continue
		}
		if !slices.Contains(urls, s) {
			urls = append(urls, s)
		}
	}
	env := []buildspec.Var{{Name: GitTokenVar, Value: token}}
	n := 0
	add := func(k, v string) {
		env = append(env, buildspec.Var{Name: "GIT_CONFIG_KEY_" + strconv.Itoa(n), Value: k}, buildspec.Var{Name: "GIT_CONFIG_VALUE_" + strconv.Itoa(n), Value: v})
		n++
	}
	for _, u := range urls {
		add("credential."+u+".helper", "")
		add("credential."+u+".helper", gitCredentialHelper)
	}
	return append(env, buildspec.Var{Name: "GIT_CONFIG_COUNT", Value: strconv.Itoa(n)})
}

// gitCredential gets the build's git credential when its buildspec has env
// git-credential-helper: yes, and answers the environment that makes git use it for the
// cluster's servers (gitCredentialEnv) and the values to mask (the token; buildLog.Mask
// replaces the mask set, so the caller masks them with the secrets'). Without the key it answers nothing; a server that issues no git credentials
// (an older one) is logged and the build goes on without.
func (r *buildRun) gitCredential(ctx context.Context, spec *buildspec.Spec) ([]buildspec.Var, []string, error) {
	if !spec.Env.GitCredentialHelper {
		return nil, nil, nil
	}
	if r.run.GitCredentialPath == "" {
		r.log.Printf("git-credential-helper: yes has no effect: this server issues no git credentials")
		return nil, nil, nil
	}
	r.log.Printf("Getting the build's git credential (git-credential-helper: yes)")
	cr, err := r.b.cfg.Fetcher.BuildGitCredential(ctx, r.run.GitCredentialPath)
	if err != nil {
		return nil, nil, err
	}
	servers := r.b.cfg.Fetcher.Servers()
	r.log.Printf("git authenticates to %s as role %s (token %s, until %s)", strings.Join(servers, ", "), cr.Role, cr.Accessor, cr.Expiration.UTC().Format("2006-01-02T15:04:05Z"))
	return gitCredentialEnv(servers, cr.Token), []string{cr.Token}, nil
}

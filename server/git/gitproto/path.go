package gitproto

import (
	"fmt"
	"net/http"
	"strings"
)

// Service is a git smart service.
type Service string

// The services Slipway serves. Names are git's, as they appear in paths and in the
// ?service= query.
const (
	UploadPack  Service = "git-upload-pack"
	ReceivePack Service = "git-receive-pack"
)

// PathPrefix is where smart HTTP is served on the API port.
const PathPrefix = "/git/"

// Route is a smart-HTTP request understood: which repository, which service, and whether it
// asks for the ref advertisement (GET info/refs) or runs the service (POST).
type Route struct {
	Repo      string
	Service   Service
	Advertise bool
}

// ParseHTTPPath maps a smart-HTTP request to a Route. It accepts exactly
//
//	GET  /git/NAME.git/info/refs?service=git-upload-pack   (or git-receive-pack)
//	POST /git/NAME.git/git-upload-pack                      (or git-receive-pack)
//
// and the same without ".git", where NAME passes ValidateRepoName. escapedPath is the path as
// sent (url.URL.EscapedPath), so a percent-encoded byte, which no valid path needs, is refused
// rather than decoded into a slash or dot; rawQuery is url.URL.RawQuery. HEAD is accepted where
// GET is. Anything else (the dumb protocol, other files, traversal, extra query parameters) is
// an error that says which part is wrong.
func ParseHTTPPath(method, escapedPath, rawQuery string) (Route, error) {
	if strings.Contains(escapedPath, "%") {
		return Route{}, fmt.Errorf("path %q: percent-encoded characters are not allowed in git paths", escapedPath)
	}
	rest, ok := strings.CutPrefix(escapedPath, PathPrefix)
	if !ok {
		return Route{}, fmt.Errorf("path %q is not under %s", escapedPath, PathPrefix)
	}
	parts := strings.Split(rest, "/")
	name := strings.TrimSuffix(parts[0], ".git")
	if err := ValidateRepoName(name); err != nil {
		return Route{}, fmt.Errorf("path %q: %w", escapedPath, err)
	}
	r := Route{Repo: name}
	switch {
	case len(parts) == 3 && parts[1] == "info" && parts[2] == "refs":
		if method != http.MethodGet && method != http.MethodHead {
			return Route{}, fmt.Errorf("%s %s: the ref advertisement is read with GET", method, escapedPath)
		}
		svc, err := serviceQuery(rawQuery)
		if err != nil {
			return Route{}, fmt.Errorf("path %q: %w", escapedPath, err)
		}
		r.Service, r.Advertise = svc, true
	case len(parts) == 2 && (parts[1] == string(UploadPack) || parts[1] == string(ReceivePack)):
		if method != http.MethodPost {
			return Route{}, fmt.Errorf("%s %s: the service is called with POST", method, escapedPath)
		}
		if rawQuery != "" {
			return Route{}, fmt.Errorf("path %q: the service takes no query parameters", escapedPath)
		}
		r.Service = Service(parts[1])
	default:
		return Route{}, fmt.Errorf("path %q is not a smart-HTTP git path: use /git/NAME.git/info/refs?service=..., /git/NAME.git/git-upload-pack or /git/NAME.git/git-receive-pack", escapedPath)
	}
	return r, nil
}

// serviceQuery reads ?service=git-upload-pack|git-receive-pack and nothing else.
func serviceQuery(rawQuery string) (Service, error) {
	if rawQuery == "" {
		return "", fmt.Errorf("no ?service= parameter: the dumb HTTP protocol is not supported, use git 1.6.6 or later")
	}
	v, ok := strings.CutPrefix(rawQuery, "service=")
	if !ok || strings.ContainsAny(v, "&;=") {
		return "", fmt.Errorf("query %q: the only parameter is service=git-upload-pack or service=git-receive-pack", rawQuery)
	}
	switch Service(v) {
	case UploadPack, ReceivePack:
		return Service(v), nil
	}
	return "", fmt.Errorf("service %q is not git-upload-pack or git-receive-pack", v)
}

package gitproto

import (
	"fmt"
	"strings"
)

// MaxSSHCommandLen bounds an SSH exec request's command: a service, a quoted path of a
// repository name and some slack.
const MaxSSHCommandLen = 512

// ParseSSHCommand reads the command of an SSH exec request as git's ssh transport sends it:
//
//	git-upload-pack 'NAME.git'      git-receive-pack '/NAME.git'
//	git upload-pack 'NAME.git'      (the spelling of some clients)
//
// The path is one word, single-quoted as git quotes it (sq_quote: ' written as '\” and !
// as '\!'), or bare; a leading '/' and a trailing ".git" are optional; what is left must pass
// ValidateRepoName. It returns the service and the repository name. Anything else (another
// program, options, more arguments, a path with directories) is an error that says what is
// served.
func ParseSSHCommand(cmd string) (Service, string, error) {
	if len(cmd) > MaxSSHCommandLen {
		return "", "", fmt.Errorf("the command is %d bytes, over the limit of %d: this server runs only git-upload-pack and git-receive-pack on a repository", len(cmd), MaxSSHCommandLen)
	}
	prog, rest, ok := strings.Cut(cmd, " ")
	if !ok {
		return "", "", fmt.Errorf("%q is not a git command: this server runs only git-upload-pack 'NAME.git' and git-receive-pack 'NAME.git' (clone or push with git)", sshShort(cmd))
	}
	if prog == "git" {
		sub, r, ok := strings.Cut(rest, " ")
		if !ok {
			return "", "", fmt.Errorf("%q is not a git command this server runs: only git upload-pack 'NAME.git' and git receive-pack 'NAME.git'", sshShort(cmd))
		}
		prog, rest = "git-"+sub, r
	}
	var svc Service
	switch Service(prog) {
	case UploadPack, ReceivePack:
		svc = Service(prog)
	default:
		return "", "", fmt.Errorf("%q is not a command this server runs: only git-upload-pack and git-receive-pack, as git clone, fetch and push send them", sshShort(prog))
	}
	path, err := sqDequote(strings.TrimLeft(rest, " "))
	if err != nil {
		return "", "", fmt.Errorf("the repository path of %s: %w", svc, err)
	}
	name := strings.TrimSuffix(strings.TrimPrefix(path, "/"), ".git")
	if strings.Contains(name, "/") {
		return "", "", fmt.Errorf("the path %q names a directory: repositories are at /NAME.git (ssh://git@HOST:PORT/NAME.git)", sshShort(path))
	}
	if err := ValidateRepoName(name); err != nil {
		return "", "", fmt.Errorf("the path %q: %w", sshShort(path), err)
	}
	return svc, name, nil
}

// sqDequote reads one word: single-quoted as git's sq_quote writes it (quoted runs joined by
// \' and \!), or bare (no quote, backslash or space). Trailing text is refused.
func sqDequote(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("missing: give the repository as 'NAME.git'")
	}
	if s[0] != '\'' {
		if strings.ContainsAny(s, "'\\\" \t\n") {
			return "", fmt.Errorf("%q is not one word: quote it as 'NAME.git'", sshShort(s))
		}
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '\'' {
			return "", fmt.Errorf("%q is not quoted as git quotes a path", sshShort(s))
		}
		end := strings.IndexByte(s[i+1:], '\'')
		if end < 0 {
			return "", fmt.Errorf("%q has an unterminated quote", sshShort(s))
		}
		b.WriteString(s[i+1 : i+1+end])
		i += end + 2
		if i == len(s) {
			return b.String(), nil
		}
		// Between quoted runs: \' or \! only (sq_quote's escapes).
		if i+2 > len(s) || s[i] != '\\' || (s[i+1] != '\'' && s[i+1] != '!') {
			return "", fmt.Errorf("%q has text after the quoted path: give one path", sshShort(s))
		}
		b.WriteByte(s[i+1])
		i += 2
		if i == len(s) {
			return b.String(), nil
		}
	}
	return b.String(), nil
}

// sshShort cuts a client's text for a message.
func sshShort(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

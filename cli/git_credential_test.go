package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeSessions writes a credentials file under a fresh XDG_CONFIG_HOME and returns it.
func writeSessions(t *testing.T, sessions ...storedSession) string {
	t.Helper()
	home := t.TempDir()
	f := credentialsFile{Sessions: map[string]storedSession{}}
	for _, s := range sessions {
		f.Sessions[s.Address] = s
	}
	b, _ := json.Marshal(f)
	if err := os.MkdirAll(filepath.Join(home, "slipway"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "slipway", "credentials.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return home
}

// TestGitCredentialProtocol drives `slipway git-credential` as git does: an operation argument
// and key=value lines on standard input.
func TestGitCredentialProtocol(t *testing.T) {
	future := time.Now().Add(time.Hour)
	sessions := writeSessions(t,
		storedSession{Address: "https://git.example.com:7400", Secret: "slw_session", Expiration: future},
		storedSession{Address: "http://10.0.0.9:7400", Secret: "slw_other_login", Expiration: future},
		storedSession{Address: "http://10.0.0.8:7400", Secret: "slw_expired", Expiration: time.Now().Add(-time.Hour)},
		storedSession{Address: "http://10.0.0.7:7400", Secret: "slw_old", Expiration: time.Now().Add(-time.Hour)},
		storedSession{Address: "http://10.0.0.7:7400/", Secret: "slw_new", Expiration: future},
	)
	empty := t.TempDir()
	const answer = "username=slipway\npassword=slw_env\n"
	cases := []struct {
		name    string
		env     map[string]string
		args    []string
		stdin   string
		code    int
		stdout  string
		stderr  string // a substring; "" means stderr must be empty
		notLeak string // never on stderr
	}{
		{name: "env token for the configured host",
			env:   map[string]string{EnvAddr: "http://127.0.0.1:7400", EnvToken: "slw_env", EnvConfigHome: empty},
			args:  []string{"get"},
			stdin: "protocol=http\nhost=127.0.0.1:7400\npath=git/web.git\nusername=alice\n\n", stdout: answer},
		{name: "input ends at EOF without a blank line",
			env:   map[string]string{EnvAddr: "http://127.0.0.1:7400", EnvToken: "slw_env", EnvConfigHome: empty},
			args:  []string{"get"},
			stdin: "protocol=http\nhost=127.0.0.1:7400", stdout: answer},
		{name: "lines after the blank line are not read",
			env:   map[string]string{EnvAddr: "http://127.0.0.1:7400", EnvToken: "slw_env", EnvConfigHome: empty},
			args:  []string{"get"},
			stdin: "protocol=http\nhost=127.0.0.1:7400\n\nhost=other.example.com\n", stdout: answer},
		{name: "one address of a comma-separated list, host in another case",
			env:   map[string]string{EnvAddr: "http://10.0.0.1:7400,http://Node2.example.com:7400", EnvToken: "slw_env", EnvConfigHome: empty},
			args:  []string{"get"},
			stdin: "protocol=http\nhost=node2.EXAMPLE.com:7400\n", stdout: answer},
		{name: "default port: git omits it",
			env:   map[string]string{EnvAddr: "https://git.example.com", EnvToken: "slw_env", EnvConfigHome: empty},
			args:  []string{"get"},
			stdin: "protocol=https\nhost=git.example.com\n", stdout: answer},
		{name: "another port is another server",
			env:   map[string]string{EnvAddr: "http://127.0.0.1:7400", EnvToken: "slw_env", EnvConfigHome: empty},
			args:  []string{"get"},
			stdin: "protocol=http\nhost=127.0.0.1:7401\n"},
		{name: "another scheme is another server",
			env:   map[string]string{EnvAddr: "http://127.0.0.1:7400", EnvToken: "slw_env", EnvConfigHome: empty},
			args:  []string{"get"},
			stdin: "protocol=https\nhost=127.0.0.1:7400\n"},
		{name: "another host: nothing, git asks its next helper",
			env:   map[string]string{EnvAddr: "http://127.0.0.1:7400", EnvToken: "slw_env", EnvConfigHome: empty},
			args:  []string{"get"},
			stdin: "protocol=https\nhost=github.com\n"},
		{name: "ssh is not the API",
			env:   map[string]string{EnvAddr: "http://127.0.0.1:7400", EnvToken: "slw_env", EnvConfigHome: empty},
			args:  []string{"get"},
			stdin: "protocol=ssh\nhost=127.0.0.1:7400\n"},
		{name: "the login's session for the configured address",
			env:   map[string]string{EnvAddr: "https://git.example.com:7400", EnvConfigHome: sessions},
			args:  []string{"get"},
			stdin: "protocol=https\nhost=git.example.com:7400\n", stdout: "username=slipway\npassword=slw_session\n"},
		{name: "SLIPWAY_TOKEN wins over the stored session",
			env:   map[string]string{EnvAddr: "https://git.example.com:7400", EnvToken: "slw_env", EnvConfigHome: sessions},
			args:  []string{"get"},
			stdin: "protocol=https\nhost=git.example.com:7400\n", stdout: answer},
		{name: "a login's address that is not the configured one",
			env:   map[string]string{EnvAddr: "http://127.0.0.1:7400", EnvConfigHome: sessions},
			args:  []string{"get"},
			stdin: "protocol=http\nhost=10.0.0.9:7400\n", stdout: "username=slipway\npassword=slw_other_login\n"},
		{name: "of two sessions for the remote, the one that has not expired",
			env:   map[string]string{EnvAddr: "http://127.0.0.1:7400", EnvConfigHome: sessions},
			args:  []string{"get"},
			stdin: "protocol=http\nhost=10.0.0.7:7400\n", stdout: "username=slipway\npassword=slw_new\n"},
		{name: "the configured host without a token",
			env:   map[string]string{EnvAddr: "http://127.0.0.1:7400", EnvConfigHome: empty},
			args:  []string{"get"},
			stdin: "protocol=http\nhost=127.0.0.1:7400\n", code: ExitFailure, stderr: "no token for http://127.0.0.1:7400: run `slipway login`, or set SLIPWAY_TOKEN"},
		{name: "an expired session is not handed out",
			env:   map[string]string{EnvAddr: "http://10.0.0.8:7400", EnvConfigHome: sessions},
			args:  []string{"get"},
			stdin: "protocol=http\nhost=10.0.0.8:7400\n", code: ExitFailure, stderr: "expired at", notLeak: "slw_expired"},
		{name: "malformed input",
			env:   map[string]string{EnvAddr: "http://127.0.0.1:7400", EnvToken: "slw_env", EnvConfigHome: empty},
			args:  []string{"get"},
			stdin: "protocol=http\nthis is not a key value line\n", code: ExitFailure, stderr: "malformed line", notLeak: "slw_env"},
		{name: "oversized input",
			env:   map[string]string{EnvAddr: "http://127.0.0.1:7400", EnvToken: "slw_env", EnvConfigHome: empty},
			args:  []string{"get"},
			stdin: "protocol=http\npath=" + strings.Repeat("a", maxCredentialInput+10) + "\n", code: ExitFailure, stderr: "git credential input"},
		{name: "store does nothing",
			env:   map[string]string{EnvAddr: "http://127.0.0.1:7400", EnvToken: "slw_env", EnvConfigHome: empty},
			args:  []string{"store"},
			stdin: "protocol=http\nhost=127.0.0.1:7400\nusername=slipway\npassword=slw_env\n\n"},
		{name: "erase does nothing",
			env:   map[string]string{EnvAddr: "http://127.0.0.1:7400", EnvToken: "slw_env", EnvConfigHome: empty},
			args:  []string{"erase"},
			stdin: "protocol=http\nhost=127.0.0.1:7400\n\n"},
		{name: "an operation git may add later is ignored",
			env:   map[string]string{EnvAddr: "http://127.0.0.1:7400", EnvToken: "slw_env", EnvConfigHome: empty},
			args:  []string{"capability"},
			stdin: "protocol=http\nhost=127.0.0.1:7400\n\n"},
		{name: "no operation is a usage error",
			env:  map[string]string{EnvAddr: "http://127.0.0.1:7400", EnvToken: "slw_env", EnvConfigHome: empty},
			code: ExitUsage, stderr: "takes one operation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runSession(t, tc.env, strings.NewReader(tc.stdin), nil, append([]string{"git-credential"}, tc.args...)...)
			if r.code != tc.code || r.stdout != tc.stdout {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d, stdout %q", r.code, r.stdout, r.stderr, tc.code, tc.stdout)
			}
			if tc.stderr == "" && r.stderr != "" || !strings.Contains(r.stderr, tc.stderr) {
				t.Fatalf("stderr %q; want %q", r.stderr, tc.stderr)
			}
			if tc.notLeak != "" && strings.Contains(r.stderr, tc.notLeak) {
				t.Fatalf("the token reached stderr: %q", r.stderr)
			}
		})
	}
}

func TestOriginKey(t *testing.T) {
	for _, tc := range []struct{ scheme, host, want string }{
		{"http", "127.0.0.1:7400", "http://127.0.0.1:7400"},
		{"HTTPS", "Git.Example.com", "https://git.example.com:443"},
		{"http", "[::1]:7400", "http://[::1]:7400"},
		{"http", "[::1]", "http://[::1]:80"},
	} {
		if got, err := originKey(tc.scheme, tc.host); err != nil || got != tc.want {
			t.Errorf("originKey(%q, %q) = %q, %v; want %q", tc.scheme, tc.host, got, err, tc.want)
		}
	}
	if _, err := originKey("ssh", "example.com"); err == nil {
		t.Error("originKey of ssh without a port: want an error")
	}
}

package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/slipwayhq/slipway/pkg/api"
)

// EnvConfigHome is read before os.UserConfigDir for where the credentials file lives.
const EnvConfigHome = "XDG_CONFIG_HOME"

// storedSession is a sign-in session `slipway login` keeps for one server address. Secret is
// the session token's secret: the file is the user's alone (0600 in a 0700 directory).
type storedSession struct {
	Address    string    `json:"address"`
	Secret     string    `json:"secret"`
	Accessor   string    `json:"accessor"`
	User       string    `json:"user"`
	MFA        bool      `json:"mfa,omitempty"`
	Expiration time.Time `json:"expiration"`
}

// credentialsFile is the JSON of $XDG_CONFIG_HOME/slipway/credentials.json: sessions by the
// address they were opened at.
type credentialsFile struct {
	Sessions map[string]storedSession `json:"sessions"`
}

// credentialsPath is where sessions are kept: $XDG_CONFIG_HOME/slipway/credentials.json, else
// under os.UserConfigDir (~/.config on Linux, ~/Library/Application Support on macOS).
func (c *cli) credentialsPath() (string, error) {
	dir := c.getenv(EnvConfigHome)
	if dir == "" {
		d, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("find the configuration directory for the credentials file: %w (set %s)", err, EnvConfigHome)
		}
		dir = d
	}
	return filepath.Join(dir, "slipway", "credentials.json"), nil
}

// loadCredentials reads the credentials file; a missing file is an empty one.
func (c *cli) loadCredentials() (credentialsFile, string, error) {
	path, err := c.credentialsPath()
	if err != nil {
		return credentialsFile{}, "", err
	}
	f := credentialsFile{Sessions: map[string]storedSession{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, path, nil
	}
	if err != nil {
		return f, path, fmt.Errorf("read the credentials file: %w", err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, path, fmt.Errorf("the credentials file %s is not valid JSON (%w): remove it and run `slipway login`", path, err)
	}
	if f.Sessions == nil {
		f.Sessions = map[string]storedSession{}
	}
	return f, path, nil
}

// saveCredentials writes the file atomically: its directory 0700, the file 0600 (a file left
// with other modes by hand is fixed too).
func saveCredentials(path string, f credentialsFile) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the credentials: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".credentials-*.json")
	if err != nil {
		return fmt.Errorf("write the credentials file: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write the credentials file: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write the credentials file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write the credentials file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write the credentials file: %w", err)
	}
	return nil
}

// storedToken is the token later commands use when neither --token nor SLIPWAY_TOKEN is given:
// the session `slipway login` stored for addr. An expired one is not used; the time it expired
// is remembered so that the 401 that follows says to sign in again.
func (c *cli) storedToken(addr string) string {
	f, _, err := c.loadCredentials()
	if err != nil {
		return ""
	}
	s, ok := f.Sessions[addr]
	if !ok {
		return ""
	}
	if !s.Expiration.IsZero() && !time.Now().Before(s.Expiration) {
		c.sessionExpired = s.Expiration
		return ""
	}
	c.usedSession = addr
	return s.Secret
}

// clientWithToken is an API client for the configured address with the given token (not the
// --token flag, SLIPWAY_TOKEN or the stored session).
func (c *cli) clientWithToken(token string) (*api.Client, error) {
	addr, src := c.setting("addr", EnvAddr, api.DefaultAddress)
	tlsCfg, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	cl, err := api.NewClient(api.Config{Address: addr, Token: token, TLS: tlsCfg})
	if err != nil {
		if src == "" {
			src = "--addr"
		}
		return nil, usageErr(fmt.Errorf("%s: %w", src, err))
	}
	return cl, nil
}

// prompter reads what a command asks for: from the terminal without echo when standard input
// is one, else line by line from standard input (for scripts and tests).
type prompter struct {
	in     io.Reader
	stderr io.Writer
	lines  *bufio.Reader
}

func newPrompter(in io.Reader, stderr io.Writer) *prompter {
	return &prompter{in: in, stderr: stderr}
}

// terminal reports whether standard input is a terminal.
func (p *prompter) terminal() bool {
	f, ok := p.in.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// secret asks for a value without echoing it on a terminal; off a terminal it reads the next
// line of standard input. Empty is an error naming what.
func (p *prompter) secret(prompt, what string) (string, error) {
	if p.terminal() {
		_, _ = fmt.Fprint(p.stderr, prompt)
		b, err := term.ReadPassword(int(p.in.(*os.File).Fd()))
		_, _ = fmt.Fprintln(p.stderr)
		if err != nil {
			return "", fmt.Errorf("read the %s: %w", what, err)
		}
		if strings.TrimSpace(string(b)) == "" {
			return "", fmt.Errorf("no %s given", what)
		}
		return string(b), nil
	}
	return p.line(what)
}

// line reads the next line of standard input (without its line ending).
func (p *prompter) line(what string) (string, error) {
	if p.lines == nil {
		p.lines = bufio.NewReader(p.in)
	}
	s, err := p.lines.ReadString('\n')
	s = strings.TrimRight(s, "\r\n")
	if s == "" {
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read the %s from standard input: %w", what, err)
		}
		return "", fmt.Errorf("no %s on standard input", what)
	}
	return s, nil
}

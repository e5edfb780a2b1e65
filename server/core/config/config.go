// Package config loads a server's configuration: defaults, then a YAML file, then SLIPWAY_*
// environment variables, then flags, each overriding the one before; then one Validate whose
// errors name the flag and the file key to fix.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/pkg/bytesize"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// Default ports.
const (
	DefaultHTTPPort = 7400
	DefaultRaftPort = 7401
	DefaultSSHPort  = 2222
)

// SSHOff is the SSHAddr that serves no git over SSH.
const SSHOff = "off"

// ErrInvalid wraps every configuration error; the binary exits with its own code for it so that
// a service manager does not restart-loop on a bad config.
var ErrInvalid = errors.New("invalid configuration")

// Config is a server's configuration. Keys are the YAML keys; flags and SLIPWAY_* variables use
// the same names with dashes or upper case.
type Config struct {
	NodeID   string `yaml:"node_id"`
	DataDir  string `yaml:"data_dir"`
	HTTPAddr string `yaml:"http_addr"`
	RaftAddr string `yaml:"raft_addr"`
	// SSHAddr is where git over SSH listens (default 127.0.0.1:2222); SSHOff serves none.
	SSHAddr                    string   `yaml:"ssh_addr"`
	Advertise                  string   `yaml:"advertise"`
	BootstrapExpect            int      `yaml:"bootstrap_expect"`
	Join                       []string `yaml:"join"`
	InitialManagementTokenFile string   `yaml:"initial_management_token_file"`
	LogLevel                   string   `yaml:"log_level"`
	Raft                       Raft     `yaml:"raft"`
	Blobs                      Blobs    `yaml:"blobs"`
	Agents                     Agents   `yaml:"agents"`
	TLS                        TLS      `yaml:"tls"`
	// InsecurePlaintextCluster lets a server listen on a network address without TLS. It is
	// logged as a warning on every start.
	InsecurePlaintextCluster bool    `yaml:"insecure_plaintext_cluster"`
	Limits                   Limits  `yaml:"limits"`
	Keyring                  Keyring `yaml:"keyring"`
	// AuditRetention is how long audit records are kept (default DefaultAuditRetention, 365
	// days; 0 keeps every record): the leader trims older ones hourly.
	AuditRetention time.Duration `yaml:"audit_retention"`
	// Webhooks bounds where repository webhooks may be sent.
	Webhooks Webhooks `yaml:"webhooks"`
}

// Webhooks configures outbound webhooks. AllowPrivateDestinations lets them reach loopback,
// private and link-local addresses (checked on the address dialled); off by default, on in
// `slipway dev`.
type Webhooks struct {
	AllowPrivateDestinations bool `yaml:"allow_private_destinations"`
}

// DefaultAuditRetention is the default Config.AuditRetention: a year.
const DefaultAuditRetention = 8760 * time.Hour

// Keyring configures encryption at rest.
type Keyring struct {
	// KEKFile holds the cluster's key-encryption key (base64 of 32 random bytes, mode 0600),
	// the same file on every server. Required: a server refuses to start without it (Start
	// loads it and says how to create one).
	KEKFile string `yaml:"kek_file"`
}

// Limits bounds what API callers can make a server hold; each limit is per server. See
// server/api.Limits for what each one does.
type Limits struct {
	// MaxUnauthenticated caps requests served at once without a resolved credential (default 64).
	MaxUnauthenticated int `yaml:"max_unauthenticated"`
	// MaxStreamsPerToken caps one token's open event and watch websockets (default 32).
	MaxStreamsPerToken int `yaml:"max_streams_per_token"`
	// AuthFailures is the burst of failed authentications one address may make (default 20),
	// given back at that many per AuthFailureWindow (default 10s).
	AuthFailures      int           `yaml:"auth_failures"`
	AuthFailureWindow time.Duration `yaml:"auth_failure_window"`
	// BodyReadTimeout bounds how long a request body of at most 1 MiB may take (default 30s);
	// BodyIdleTimeout how long any body may stall (default 30s).
	BodyReadTimeout time.Duration `yaml:"body_read_timeout"`
	BodyIdleTimeout time.Duration `yaml:"body_idle_timeout"`
}

// Defaults of Limits (the same as server/api's).
const (
	DefaultMaxUnauthenticated = 64
	DefaultMaxStreamsPerToken = 32
	DefaultAuthFailures       = 20
	DefaultAuthFailureWindow  = 10 * time.Second
	DefaultBodyReadTimeout    = 30 * time.Second
	DefaultBodyIdleTimeout    = 30 * time.Second
)

// Agents tunes agent sessions.
type Agents struct {
	// Heartbeat is how often agents send heartbeats (default 10s).
	Heartbeat time.Duration `yaml:"heartbeat"`
	// HostTimeout is how long a host may be silent before its in-flight deployments fail
	// (default 60s).
	HostTimeout time.Duration `yaml:"host_timeout"`
	// EventStartTimeout fails a scheduled host that does not start its next lifecycle event
	// within it (default 5m, CodeDeploy's bound).
	EventStartTimeout time.Duration `yaml:"event_start_timeout"`
	// MaxHosts is the most hosts the cluster registers (0: DefaultMaxHosts); a new host beyond
	// it is refused. Re-registering a host is not refused.
	MaxHosts int `yaml:"max_hosts"`
	// HostCertValidity is how long the host certificates a TLS server signs for agents live
	// (default 72h); agents renew them after two thirds of it.
	HostCertValidity time.Duration `yaml:"host_cert_validity"`
}

// DefaultMaxHosts is the default Agents.MaxHosts.
const DefaultMaxHosts = 10_000

// Blobs tunes the replicated blob store.
type Blobs struct {
	// MaxSize bounds one upload in bytes (default 2 GiB).
	MaxSize int64 `yaml:"max_size"`
	// GCGrace is how long unreferenced blobs and stray files are kept (default 1h).
	GCGrace time.Duration `yaml:"gc_grace"`
	// RepairInterval is how often a server looks for blobs it lacks (default 5s).
	RepairInterval time.Duration `yaml:"repair_interval"`
	// Reserve is how many bytes blob writes leave free on the data disk for the Raft log,
	// snapshots and state (default DefaultBlobReserve; 0 turns the check off). An upload, peer
	// copy or repair fetch that would cut into it is refused with insufficient_storage.
	Reserve int64 `yaml:"reserve"`
}

// DefaultBlobReserve is the default Blobs.Reserve: room for the Raft log and state to grow
// while blobs have filled the rest of the disk.
const DefaultBlobReserve int64 = 128 << 20

// Raft holds optional Raft tuning; zero values keep hashicorp/raft's defaults.
type Raft struct {
	HeartbeatTimeout   time.Duration `yaml:"heartbeat_timeout"`
	ElectionTimeout    time.Duration `yaml:"election_timeout"`
	LeaderLeaseTimeout time.Duration `yaml:"leader_lease_timeout"`
	CommitTimeout      time.Duration `yaml:"commit_timeout"`
	SnapshotThreshold  uint64        `yaml:"snapshot_threshold"`
	SnapshotInterval   time.Duration `yaml:"snapshot_interval"`
	TrailingLogs       uint64        `yaml:"trailing_logs"`
	DisableBatching    bool          `yaml:"disable_batching"`
}

// Default returns the defaults: a single server on loopback with data in ./slipway-data.
func Default() Config {
	return Config{
		DataDir:        "slipway-data",
		HTTPAddr:       fmt.Sprintf("127.0.0.1:%d", DefaultHTTPPort),
		RaftAddr:       fmt.Sprintf("127.0.0.1:%d", DefaultRaftPort),
		SSHAddr:        fmt.Sprintf("127.0.0.1:%d", DefaultSSHPort),
		LogLevel:       "info",
		AuditRetention: DefaultAuditRetention,
		Blobs:          Blobs{Reserve: DefaultBlobReserve},
		Agents:         Agents{MaxHosts: DefaultMaxHosts},
		Limits: Limits{MaxUnauthenticated: DefaultMaxUnauthenticated, MaxStreamsPerToken: DefaultMaxStreamsPerToken,
			AuthFailures: DefaultAuthFailures, AuthFailureWindow: DefaultAuthFailureWindow,
			BodyReadTimeout: DefaultBodyReadTimeout, BodyIdleTimeout: DefaultBodyIdleTimeout},
	}
}

// flag names and their keys.
var keys = []struct{ flag, key, env, help string }{
	{"node-id", "node_id", "SLIPWAY_NODE_ID", "this server's unique ID (generated and kept in the data dir when empty)"},
	{"data-dir", "data_dir", "SLIPWAY_DATA_DIR", "where this server keeps its Raft log, snapshots and state"},
	{"http-addr", "http_addr", "SLIPWAY_HTTP_ADDR", "host:port the HTTP API listens on"},
	{"raft-addr", "raft_addr", "SLIPWAY_RAFT_ADDR", "host:port Raft and server-to-server RPC listen on"},
	{"ssh-addr", "ssh_addr", "SLIPWAY_SSH_ADDR", "host:port git over SSH listens on (users' keys; the cluster's one host key), or off"},
	{"advertise", "advertise", "SLIPWAY_ADVERTISE", "address other servers and clients reach this one at (needed when listening on 0.0.0.0)"},
	{"bootstrap-expect", "bootstrap_expect", "SLIPWAY_BOOTSTRAP_EXPECT", "number of servers that form a new cluster together (1: start alone)"},
	{"join", "join", "SLIPWAY_JOIN", "comma-separated Raft addresses of other servers to form or join a cluster with"},
	{"initial-management-token-file", "initial_management_token_file", "SLIPWAY_INITIAL_MANAGEMENT_TOKEN_FILE", "file holding the secret of the first management token, set at bootstrap"},
	{"log-level", "log_level", "SLIPWAY_LOG_LEVEL", "debug, info, warn or error"},
	{"max-bundle-size", "blobs.max_size", "SLIPWAY_MAX_BUNDLE_SIZE", "largest revision bundle or blob accepted, e.g. 2GiB or 500MiB"},
	{"blob-reserve", "blobs.reserve", "SLIPWAY_BLOB_RESERVE", "disk space blobs leave free for the Raft log and state, e.g. 128MiB (0: no check)"},
	{"max-hosts", "agents.max_hosts", "SLIPWAY_MAX_HOSTS", "most hosts the cluster registers; a new host beyond it is refused (default 10000)"},
	{"tls-ca-file", "tls.ca_file", "SLIPWAY_TLS_CA_FILE", "PEM certificate of the cluster CA (slipway tls ca create); with --tls-cert-file and --tls-key-file turns on mutual TLS on the cluster port and TLS on the API"},
	{"tls-cert-file", "tls.cert_file", "SLIPWAY_TLS_CERT_FILE", "PEM server certificate of this server, signed by the cluster CA (slipway tls cert create --server); reloaded on SIGHUP"},
	{"tls-key-file", "tls.key_file", "SLIPWAY_TLS_KEY_FILE", "PEM key of --tls-cert-file; reloaded on SIGHUP"},
	{"tls-ca-key-file", "tls.ca_key_file", "SLIPWAY_TLS_CA_KEY_FILE", "PEM key of the cluster CA, with which this server signs agents' host certificates (optional)"},
	{"tls-require-client-cert", "tls.require_client_cert", "SLIPWAY_TLS_REQUIRE_CLIENT_CERT", "API callers must present a certificate of the cluster CA (GET /v1/health, agent registration and agent certificate renewal excepted)"},
	{"insecure-plaintext-cluster", "insecure_plaintext_cluster", "SLIPWAY_INSECURE_PLAINTEXT_CLUSTER", "allow the cluster port and the API on a network address without TLS: anyone who reaches them can command the cluster"},
	{"max-unauthenticated-requests", "limits.max_unauthenticated", "SLIPWAY_MAX_UNAUTHENTICATED_REQUESTS", "requests served at once without a resolved token; more get 503 (default 64)"},
	{"max-streams-per-token", "limits.max_streams_per_token", "SLIPWAY_MAX_STREAMS_PER_TOKEN", "open event and watch streams one token may hold on this server; more get 429 (default 32)"},
	{"auth-failures-per-address", "limits.auth_failures", "SLIPWAY_AUTH_FAILURES_PER_ADDRESS", "failed authentications one client address may make per --auth-failure-window before 429 (default 20)"},
	{"auth-failure-window", "limits.auth_failure_window", "SLIPWAY_AUTH_FAILURE_WINDOW", "period in which an address regains its failed authentications, e.g. 10s"},
	{"body-read-timeout", "limits.body_read_timeout", "SLIPWAY_BODY_READ_TIMEOUT", "time a request body of at most 1 MiB may take to arrive, e.g. 30s"},
	{"body-idle-timeout", "limits.body_idle_timeout", "SLIPWAY_BODY_IDLE_TIMEOUT", "time any request body (uploads too) may go without a byte before the connection is closed, e.g. 30s"},
	{"audit-retention", "audit_retention", "SLIPWAY_AUDIT_RETENTION", "how long audit records are kept, e.g. 8760h (a year, the default); 0 keeps every record"},
	{"keyring-kek-file", "keyring.kek_file", "SLIPWAY_KEYRING_KEK_FILE", "file with the cluster's key-encryption key, the same on every server (make one with: slipway operator keyring kek create --out FILE)"},
}

// boolFlags are the keys set by flags without a value.
var boolFlags = map[string]bool{"tls.require_client_cert": true, "insecure_plaintext_cluster": true}

// RegisterFlags adds the server flags to fs, plus --config.
func RegisterFlags(fs *pflag.FlagSet) {
	d := Default()
	fs.String("config", "", "YAML configuration file (env SLIPWAY_CONFIG)")
	for _, k := range keys {
		def := ""
		switch k.flag {
		case "data-dir":
			def = d.DataDir
		case "http-addr":
			def = d.HTTPAddr
		case "raft-addr":
			def = d.RaftAddr
		case "ssh-addr":
			def = d.SSHAddr
		case "log-level":
			def = d.LogLevel
		}
		if k.flag == "bootstrap-expect" {
			fs.Int(k.flag, 0, k.help+" (env "+k.env+")")
			continue
		}
		if boolFlags[k.key] {
			fs.Bool(k.flag, false, k.help+" (env "+k.env+")")
			continue
		}
		fs.String(k.flag, def, k.help+" (env "+k.env+")")
	}
}

// Load builds the configuration from defaults, the file named by --config or SLIPWAY_CONFIG,
// the environment (getenv) and the flags that were set, then validates it.
func Load(fs *pflag.FlagSet, getenv func(string) string) (Config, error) {
	c := Default()
	path := getenv("SLIPWAY_CONFIG")
	if f := fs.Lookup("config"); f != nil && f.Changed {
		path = f.Value.String()
	}
	if path != "" {
		if err := c.loadFile(path); err != nil {
			return c, err
		}
	}
	for _, k := range keys {
		if v := getenv(k.env); v != "" {
			if err := c.set(k.key, v); err != nil {
				return c, fmt.Errorf("%w: %s: %w", ErrInvalid, k.env, err)
			}
		}
	}
	var ferr error
	fs.Visit(func(f *pflag.Flag) {
		for _, k := range keys {
			if k.flag == f.Name && ferr == nil {
				if err := c.set(k.key, f.Value.String()); err != nil {
					ferr = fmt.Errorf("%w: --%s: %w", ErrInvalid, k.flag, err)
				}
			}
		}
	})
	if ferr != nil {
		return c, ferr
	}
	return c, c.Validate()
}

func (c *Config) loadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: --config: %w", ErrInvalid, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %s: %w", ErrInvalid, path, err)
	}
	return nil
}

func (c *Config) set(key, v string) error {
	switch key {
	case "node_id":
		c.NodeID = v
	case "data_dir":
		c.DataDir = v
	case "http_addr":
		c.HTTPAddr = v
	case "raft_addr":
		c.RaftAddr = v
	case "ssh_addr":
		c.SSHAddr = v
	case "advertise":
		c.Advertise = v
	case "bootstrap_expect":
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
		c.BootstrapExpect = n
	case "join":
		c.Join = nil
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				c.Join = append(c.Join, a)
			}
		}
	case "initial_management_token_file":
		c.InitialManagementTokenFile = v
	case "log_level":
		c.LogLevel = v
	case "blobs.max_size":
		n, err := bytesize.Parse(v)
		if err == nil && n == 0 {
			err = fmt.Errorf("%q is no size for the largest bundle: give one such as 2GiB or 500MiB", v)
		}
		if err != nil {
			return err
		}
		c.Blobs.MaxSize = n
	case "blobs.reserve":
		n, err := bytesize.Parse(v)
		if err != nil {
			return err
		}
		c.Blobs.Reserve = n
	case "agents.max_hosts":
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not a whole number of hosts", v)
		}
		c.Agents.MaxHosts = n
	case "tls.ca_file":
		c.TLS.CAFile = v
	case "tls.cert_file":
		c.TLS.CertFile = v
	case "tls.key_file":
		c.TLS.KeyFile = v
	case "tls.ca_key_file":
		c.TLS.CAKeyFile = v
	case "tls.require_client_cert", "insecure_plaintext_cluster":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		if key == "insecure_plaintext_cluster" {
			c.InsecurePlaintextCluster = b
		} else {
			c.TLS.RequireClientCert = b
		}
	case "audit_retention":
		return setDuration(&c.AuditRetention, v)
	case "limits.max_unauthenticated":
		return setInt(&c.Limits.MaxUnauthenticated, v)
	case "limits.max_streams_per_token":
		return setInt(&c.Limits.MaxStreamsPerToken, v)
	case "limits.auth_failures":
		return setInt(&c.Limits.AuthFailures, v)
	case "limits.auth_failure_window":
		return setDuration(&c.Limits.AuthFailureWindow, v)
	case "limits.body_read_timeout":
		return setDuration(&c.Limits.BodyReadTimeout, v)
	case "limits.body_idle_timeout":
		return setDuration(&c.Limits.BodyIdleTimeout, v)
	case "keyring.kek_file":
		c.Keyring.KEKFile = v
	}
	return nil
}

func setInt(dst *int, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("%q is not a whole number", v)
	}
	*dst = n
	return nil
}

func setDuration(dst *time.Duration, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 10s or 1m", v)
	}
	*dst = d
	return nil
}

// Validate checks the whole configuration once. Each problem names the flag and the key.
func (c *Config) Validate() error {
	var errs []string
	bad := func(flag, key, format string, args ...any) {
		errs = append(errs, fmt.Sprintf("--%s (%s): %s", flag, key, fmt.Sprintf(format, args...)))
	}
	if strings.TrimSpace(c.DataDir) == "" {
		bad("data-dir", "data_dir", "is empty: give a directory for this server's data")
	}
	if c.NodeID != "" && !validNodeID(c.NodeID) {
		bad("node-id", "node_id", "%q must be 1-64 characters of A-Z a-z 0-9 . _ -", c.NodeID)
	}
	if _, _, err := splitHostPort(c.HTTPAddr); err != nil {
		bad("http-addr", "http_addr", "%v", err)
	}
	if _, _, err := splitHostPort(c.RaftAddr); err != nil {
		bad("raft-addr", "raft_addr", "%v", err)
	}
	if c.SSHAddr != SSHOff {
		if _, _, err := splitHostPort(c.SSHAddr); err != nil {
			bad("ssh-addr", "ssh_addr", "%v (or off to serve no git over SSH)", err)
		}
	}
	if c.Advertise != "" {
		if strings.Contains(c.Advertise, "://") || strings.Contains(c.Advertise, "/") {
			bad("advertise", "advertise", "%q must be a host or IP (with an optional :port for Raft), not a URL", c.Advertise)
		}
	} else if h, _, err := splitHostPort(c.RaftAddr); err == nil && unspecified(h) {
		bad("advertise", "advertise", "is needed because --raft-addr %s listens on every interface: give the address other servers reach this one at", c.RaftAddr)
	}
	if c.BootstrapExpect < 0 || c.BootstrapExpect > 9 {
		bad("bootstrap-expect", "bootstrap_expect", "%d is out of range: use 1, 3 or 5 (at most 9)", c.BootstrapExpect)
	}
	if c.BootstrapExpect > 1 && len(c.Join) == 0 {
		bad("join", "join", "is empty, but --bootstrap-expect %d needs the other servers' Raft addresses", c.BootstrapExpect)
	}
	for _, j := range c.Join {
		if _, _, err := splitHostPort(j); err != nil {
			bad("join", "join", "%v", err)
		}
	}
	if f := c.InitialManagementTokenFile; f != "" {
		if _, err := ReadTokenFile(f); err != nil {
			bad("initial-management-token-file", "initial_management_token_file", "%v", err)
		}
	}
	if c.Blobs.MaxSize < 0 {
		bad("max-bundle-size", "blobs.max_size", "must be positive")
	}
	if c.Blobs.Reserve < 0 {
		bad("blob-reserve", "blobs.reserve", "must be 0 or more bytes")
	}
	if c.Agents.Heartbeat < 0 || c.Agents.HostTimeout < 0 || (c.Agents.HostTimeout > 0 && c.Agents.Heartbeat > 0 && c.Agents.HostTimeout < 3*c.Agents.Heartbeat) {
		bad("config", "agents.heartbeat, agents.host_timeout", "must be positive, with host_timeout at least three heartbeats")
	}
	if c.Agents.MaxHosts < 0 {
		bad("max-hosts", "agents.max_hosts", "%d is out of range: give the most hosts the cluster may register, at least 1 (0 or unset: %d)", c.Agents.MaxHosts, DefaultMaxHosts)
	}
	if c.Blobs.GCGrace < 0 || c.Blobs.RepairInterval < 0 {
		bad("config", "blobs.gc_grace, blobs.repair_interval", "must be positive durations")
	}
	c.validateLimits(bad)
	if c.AuditRetention < 0 || (c.AuditRetention > 0 && c.AuditRetention < time.Hour) {
		bad("audit-retention", "audit_retention", "must be 0 (keep every record) or a duration of at least 1h, e.g. 8760h")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log-level", "log_level", "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	if c.Agents.HostCertValidity < 0 || (c.Agents.HostCertValidity > 0 && c.Agents.HostCertValidity < time.Second) {
		bad("config", "agents.host_cert_validity", "must be a duration of at least 1s (default 72h)")
	}
	errs = append(errs, c.validateTLS()...)
	if len(errs) > 0 {
		return fmt.Errorf("%w:\n  %s", ErrInvalid, strings.Join(errs, "\n  "))
	}
	return nil
}

// validateLimits checks the limits: each must be positive, within a range that still lets the
// server work.
func (c *Config) validateLimits(bad func(flag, key, format string, args ...any)) {
	l := c.Limits
	ints := []struct {
		flag, key string
		v, max    int
	}{
		{"max-unauthenticated-requests", "limits.max_unauthenticated", l.MaxUnauthenticated, 100_000},
		{"max-streams-per-token", "limits.max_streams_per_token", l.MaxStreamsPerToken, 100_000},
		{"auth-failures-per-address", "limits.auth_failures", l.AuthFailures, 1_000_000},
	}
	for _, i := range ints {
		if i.v < 1 || i.v > i.max {
			bad(i.flag, i.key, "%d is out of range: give a whole number from 1 to %d", i.v, i.max)
		}
	}
	durs := []struct {
		flag, key string
		v         time.Duration
	}{
		{"auth-failure-window", "limits.auth_failure_window", l.AuthFailureWindow},
		{"body-read-timeout", "limits.body_read_timeout", l.BodyReadTimeout},
		{"body-idle-timeout", "limits.body_idle_timeout", l.BodyIdleTimeout},
	}
	for _, d := range durs {
		if d.v < 100*time.Millisecond || d.v > 24*time.Hour {
			bad(d.flag, d.key, "%s is out of range: give a duration from 100ms to 24h, such as 30s", d.v)
		}
	}
}

// ReadTokenFile reads a secret from a file: one line of 16-256 printable characters.
func ReadTokenFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if len(s) < 16 || len(s) > 256 || strings.ContainsAny(s, " \t\r\n") {
		return "", fmt.Errorf("%s must hold one secret of 16-256 characters without spaces", path)
	}
	return s, nil
}

func validNodeID(s string) bool {
	if len(s) > 64 {
		return false
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
		if !ok {
			return false
		}
	}
	return s != ""
}

func splitHostPort(a string) (string, int, error) {
	h, p, err := net.SplitHostPort(a)
	if err != nil {
		return "", 0, fmt.Errorf("%q is not host:port", a)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%q has an invalid port", a)
	}
	return h, port, nil
}

func unspecified(host string) bool {
	if host == "" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

// Advertised returns the addresses other servers and clients use for this node, given the
// ports actually bound: the Raft host:port and the HTTP base URL.
func (c *Config) Advertised(raftPort, httpPort int) (raftAddr, httpURL string) {
	rh, _, _ := splitHostPort(c.RaftAddr)
	hh, _, _ := splitHostPort(c.HTTPAddr)
	if c.Advertise != "" {
		if h, p, err := splitHostPort(c.Advertise); err == nil {
			rh, raftPort = h, p
		} else {
			rh = c.Advertise
		}
		if unspecified(hh) {
			hh = rh
		}
	}
	if unspecified(hh) {
		hh = rh
	}
	scheme := "http://"
	if c.TLS.Enabled() {
		scheme = "https://"
	}
	return net.JoinHostPort(rh, strconv.Itoa(raftPort)), scheme + net.JoinHostPort(hh, strconv.Itoa(httpPort))
}

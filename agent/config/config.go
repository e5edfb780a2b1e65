// Package config is slipway-agent's configuration.
//
// The configuration the agent runs with is built in one order, each layer replacing the fields
// the previous one set:
//
//	defaults → YAML file (--config) → SLIPWAY_AGENT_* environment → flags → Validate
//
// Every setting has one YAML key, one flag and one environment variable (see the table in
// fields.go); errors name all three so an operator can fix whichever they used. A layer that
// sets a list or map (servers, tags) replaces it whole rather than merging. A layer that sets
// either registration_token or registration_token_file replaces both, so a token file given on
// the command line wins over a token written in the file.
//
// Every error this package returns for a bad configuration wraps ErrInvalid; the agent exits
// with its own code for it so that a service manager does not restart-loop on a broken file.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"gopkg.in/yaml.v3"

	"github.com/slipwayhq/slipway/pkg/bytesize"
)

// ErrInvalid is wrapped by every error that means the configuration itself is wrong (a bad file,
// value, flag or environment variable) rather than something that a restart might fix.
var ErrInvalid = errors.New("invalid agent configuration")

// Defaults that do not depend on the host.
const (
	DefaultLogLevel     = "info"
	DefaultMaxRevisions = 5
	// DefaultBundleMaxExpansion: a bundle may unpack to at most 100 times its downloaded size
	// (but always to 64 MiB, bundle.MinExpansionAllowance). Source trees and binaries compress
	// 2-10 times; text of one repeated character, the stuff of bombs, about 1,000 times.
	DefaultBundleMaxExpansion = 100
	// DefaultBundleMaxUnpackedSize is the absolute ceiling on what a bundle unpacks to, whatever
	// its size: 8 GiB, four times the server's default upload limit.
	DefaultBundleMaxUnpackedSize ByteSize = 8 << 30
)

// Config is the agent's configuration. The YAML keys are the file format of agent.yaml.
type Config struct {
	// Servers are the control plane's HTTP(S) URLs; the agent dials any of them and learns the
	// rest from the server.
	Servers []string `yaml:"servers,omitempty"`
	// RegistrationToken is traded once for the host's own identity, which is then kept in
	// DataDir. After a token file has been read, it holds the file's content.
	RegistrationToken string `yaml:"registration_token,omitempty"`
	// RegistrationTokenFile names a file holding the registration token (a secret kept out of
	// this file and out of the process's arguments).
	RegistrationTokenFile string `yaml:"registration_token_file,omitempty"`
	// Name is the host's name in Slipway; the hostname by default.
	Name string `yaml:"name,omitempty"`
	// Tags select the host into deployment groups.
	Tags map[string]string `yaml:"tags,omitempty"`
	// DataDir holds the agent's identity, state and deployment archives.
	DataDir string `yaml:"data_dir,omitempty"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level,omitempty"`
	// MaxRevisions is how many deployment archives the agent keeps per deployment group.
	MaxRevisions int `yaml:"max_revisions,omitempty"`
	// BundleMaxExpansion is the most bytes a bundle may unpack to per byte downloaded.
	BundleMaxExpansion int64 `yaml:"bundle_max_expansion,omitempty"`
	// BundleMaxUnpackedSize is the most bytes a bundle may unpack to in total.
	BundleMaxUnpackedSize ByteSize `yaml:"bundle_max_unpacked_size,omitempty"`
	// CAPin is the cluster CA's pin (sha256:<hex>, printed by `slipway host token create`). With
	// it and no CAFile, the agent accepts a server whose chain holds a CA certificate with the pin,
	// self-signed by that key and valid now, that signed the server's certificate; it keeps that
	// CA in DataDir (ca.pem) once a request over such a connection completed, and replaces a saved
	// CA that no longer verifies the servers the same way.
	CAPin string `yaml:"ca_pin,omitempty"`
	// CAFile names a PEM file with the cluster CA certificate, used to verify the servers.
	CAFile string `yaml:"ca_file,omitempty"`
	// InstallRoot, an absolute path, puts every files destination and permissions object of a
	// bundle under it (and scripts get it as SLIPWAY_INSTALL_ROOT): for several agents on one
	// machine (slipway dev's embedded agents) or trying bundles without root. Empty on a real
	// host: destinations are the paths the appspec names.
	InstallRoot string `yaml:"install_root,omitempty"`
	// Builds makes the agent take builds (the build worker, kind "build"): nil or false, it runs
	// deployments only. See BuildsEnabled.
	Builds *bool `yaml:"builds,omitempty"`
	// BuildNetwork is the Docker network mode of build containers: "" the engine's default
	// (bridge), "none" (no network), "host", or a network's name.
	BuildNetwork string `yaml:"build_network,omitempty"`
	// BuildMemory bounds the memory of a build container (0: no limit).
	BuildMemory ByteSize `yaml:"build_memory,omitempty"`
	// BuildCPUs bounds the CPUs a build container may use (1.5 is one and a half; 0: no limit).
	BuildCPUs float64 `yaml:"build_cpus,omitempty"`
}

// BuildsEnabled reports whether the agent takes builds.
func (c Config) BuildsEnabled() bool { return c.Builds != nil && *c.Builds }

// ByteSize is a number of bytes, written in YAML, flags and the environment as bytesize reads
// it ("8GiB", "500MiB", "1048576").
type ByteSize int64

// UnmarshalYAML reads a size written as a string or a whole number.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	v, err := bytesize.Parse(n.Value)
	if err != nil || n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: %q is not a size such as 8GiB, 500MiB or 1048576", n.Line, n.Value)
	}
	*b = ByteSize(v)
	return nil
}

// MarshalYAML writes the size in bytes.
func (b ByteSize) MarshalYAML() (any, error) { return int64(b), nil }

// Default returns the built-in defaults: the host's name, the platform's data folder, info
// logging, five kept revisions and the bundle size limits. It has no servers and no token.
func Default() Config {
	name, _ := os.Hostname()
	return Config{
		Name:         name,
		DataDir:      DefaultDataDir(runtime.GOOS),
		LogLevel:     DefaultLogLevel,
		MaxRevisions: DefaultMaxRevisions,

		BundleMaxExpansion:    DefaultBundleMaxExpansion,
		BundleMaxUnpackedSize: DefaultBundleMaxUnpackedSize,
	}
}

// DefaultDataDir is where the agent keeps its state on goos.
func DefaultDataDir(goos string) string {
	if goos == "windows" {
		base := os.Getenv("ProgramData")
		if base == "" {
			base = `C:\ProgramData`
		}
		return filepath.Join(base, "Slipway", "agent")
	}
	return "/var/lib/slipway-agent"
}

// Merge returns base with every field that a layer in over sets replacing base's, in order.
func Merge(base Config, over ...Config) Config {
	c := base
	for _, o := range over {
		if o.Servers != nil {
			c.Servers = append([]string(nil), o.Servers...)
		}
		if o.RegistrationToken != "" || o.RegistrationTokenFile != "" {
			c.RegistrationToken, c.RegistrationTokenFile = o.RegistrationToken, o.RegistrationTokenFile
		}
		if o.Name != "" {
			c.Name = o.Name
		}
		if o.Tags != nil {
			c.Tags = make(map[string]string, len(o.Tags))
			for k, v := range o.Tags {
				c.Tags[k] = v
			}
		}
		if o.DataDir != "" {
			c.DataDir = o.DataDir
		}
		if o.LogLevel != "" {
			c.LogLevel = o.LogLevel
		}
		if o.MaxRevisions != 0 {
			c.MaxRevisions = o.MaxRevisions
		}
		if o.BundleMaxExpansion != 0 {
			c.BundleMaxExpansion = o.BundleMaxExpansion
		}
		if o.BundleMaxUnpackedSize != 0 {
			c.BundleMaxUnpackedSize = o.BundleMaxUnpackedSize
		}
		if o.CAPin != "" {
			c.CAPin = o.CAPin
		}
		if o.CAFile != "" {
			c.CAFile = o.CAFile
		}
		if o.InstallRoot != "" {
			c.InstallRoot = o.InstallRoot
		}
		if o.Builds != nil {
			v := *o.Builds
			c.Builds = &v
		}
		if o.BuildNetwork != "" {
			c.BuildNetwork = o.BuildNetwork
		}
		if o.BuildMemory != 0 {
			c.BuildMemory = o.BuildMemory
		}
		if o.BuildCPUs != 0 {
			c.BuildCPUs = o.BuildCPUs
		}
	}
	return c
}

// Load builds the configuration the agent runs with: Default, then the YAML file at path (none
// when path is ""), then the SLIPWAY_AGENT_* environment, then flags (the fields set on the
// command line, see Flags.Config), then the registration token file is read and Validate runs.
// Every error wraps ErrInvalid.
func Load(path string, flags Config) (Config, error) {
	layers := []Config{}
	if path != "" {
		file, err := ReadFile(path)
		if err != nil {
			return Config{}, err
		}
		layers = append(layers, file)
	}
	env, err := FromEnv(os.LookupEnv)
	if err != nil {
		return Config{}, err
	}
	c := Merge(Default(), append(layers, env, flags)...)
	if err := c.ReadTokenFile(); err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// ReadTokenFile replaces RegistrationToken with the content of RegistrationTokenFile (surrounding
// white space trimmed) when a file is named. RegistrationTokenFile is kept.
func (c *Config) ReadTokenFile() error {
	if c.RegistrationTokenFile == "" {
		return nil
	}
	b, err := os.ReadFile(c.RegistrationTokenFile)
	if err != nil {
		return fieldErr(keyTokenFile, "cannot read: %v", err)
	}
	tok := string(bytes.TrimSpace(b))
	if tok == "" {
		return fieldErr(keyTokenFile, "%s is empty", c.RegistrationTokenFile)
	}
	c.RegistrationToken = tok
	return nil
}

package config

import (
	"fmt"
	"runtime"

	"github.com/spf13/pflag"

	"github.com/slipwayhq/slipway/pkg/bytesize"
)

// Flags are the configuration's command-line flags, bound to one FlagSet. Only the flags given
// on the command line are applied, so a flag never resets a value from the file or environment
// to its zero.
type Flags struct {
	fs           *pflag.FlagSet
	servers      []string
	token        string
	tokenFile    string
	name         string
	tags         []string
	dataDir      string
	logLevel     string
	maxRevisions int
	bundleExpand int64
	bundleSize   string
	caPin        string
	caFile       string
	installRoot  string
	builds       bool
	buildNetwork string
	buildMemory  string
	buildCPUs    float64
}

// BindFlags adds the configuration flags to fs.
func BindFlags(fs *pflag.FlagSet) *Flags {
	f := &Flags{fs: fs}
	use := func(key, usage string) (string, string) {
		fl := lookupField(key)
		return fl.Flag, fmt.Sprintf("%s (key %s, env %s)", usage, fl.Key, fl.Env)
	}
	n, u := use(keyServers, "control-plane URL; repeat or comma-separate for several servers")
	fs.StringSliceVar(&f.servers, n, nil, u)
	n, u = use(keyToken, "registration token from 'slipway host token create'")
	fs.StringVar(&f.token, n, "", u)
	n, u = use(keyTokenFile, "file holding the registration token")
	fs.StringVar(&f.tokenFile, n, "", u)
	n, u = use(keyName, "host name in Slipway (default: the hostname)")
	fs.StringVar(&f.name, n, "", u)
	n, u = use(keyTags, "host tag as key=value; repeat for several")
	fs.StringArrayVar(&f.tags, n, nil, u)
	n, u = use(keyDataDir, "folder for the agent's identity and deployments (default "+DefaultDataDir(runtime.GOOS)+")")
	fs.StringVar(&f.dataDir, n, "", u)
	n, u = use(keyLogLevel, "debug, info, warn or error (default info)")
	fs.StringVar(&f.logLevel, n, "", u)
	n, u = use(keyMaxRevisions, fmt.Sprintf("deployment archives kept per deployment group (default %d)", DefaultMaxRevisions))
	fs.IntVar(&f.maxRevisions, n, 0, u)
	n, u = use(keyBundleExpand, fmt.Sprintf("most bytes a bundle may unpack to per byte downloaded (default %d; always at least 64 MiB)", DefaultBundleMaxExpansion))
	fs.Int64Var(&f.bundleExpand, n, 0, u)
	n, u = use(keyBundleSize, "most bytes a bundle may unpack to in total, e.g. 8GiB (default 8GiB)")
	fs.StringVar(&f.bundleSize, n, "", u)
	n, u = use(keyCAPin, "cluster CA pin sha256:... from 'slipway host token create', to verify https servers")
	fs.StringVar(&f.caPin, n, "", u)
	n, u = use(keyCAFile, "PEM file with the cluster CA certificate, to verify https servers")
	fs.StringVar(&f.caFile, n, "", u)
	n, u = use(keyInstallRoot, "put every files destination under this folder, for several agents on one machine (default: none, paths as the appspec names them)")
	fs.StringVar(&f.installRoot, n, "", u)
	n, u = use(keyBuilds, "take builds (run buildspecs for the build service); --builds=false to refuse them (default false)")
	fs.BoolVar(&f.builds, n, false, u)
	n, u = use(keyBuildNetwork, `Docker network mode of build containers: "none", "host" or a network's name (default: the engine's, bridge)`)
	fs.StringVar(&f.buildNetwork, n, "", u)
	n, u = use(keyBuildMemory, "memory limit of a build container, e.g. 4GiB (default: none)")
	fs.StringVar(&f.buildMemory, n, "", u)
	n, u = use(keyBuildCPUs, "CPUs a build container may use, e.g. 2 or 1.5 (default: no limit)")
	fs.Float64Var(&f.buildCPUs, n, 0, u)
	return f
}

// Config returns the settings given on the command line; the others are left zero.
func (f *Flags) Config() (Config, error) {
	var c Config
	changed := func(key string) bool {
		fl := f.fs.Lookup(lookupField(key).Flag)
		return fl != nil && fl.Changed
	}
	if changed(keyServers) {
		c.Servers = []string{}
		for _, s := range f.servers {
			c.Servers = append(c.Servers, splitList(s)...)
		}
	}
	if changed(keyToken) && changed(keyTokenFile) {
		return Config{}, fieldErr(keyToken, "give --%s or --%s, not both", lookupField(keyToken).Flag, lookupField(keyTokenFile).Flag)
	}
	if changed(keyToken) {
		c.RegistrationToken = f.token
		if f.token == "" {
			return Config{}, fieldErr(keyToken, "is empty")
		}
	}
	if changed(keyTokenFile) {
		c.RegistrationTokenFile = f.tokenFile
	}
	if changed(keyName) {
		c.Name = f.name
	}
	if changed(keyTags) {
		tags, err := ParseTags(f.tags)
		if err != nil {
			return Config{}, err
		}
		c.Tags = tags
	}
	if changed(keyDataDir) {
		c.DataDir = f.dataDir
	}
	if changed(keyLogLevel) {
		c.LogLevel = f.logLevel
	}
	if changed(keyMaxRevisions) {
		c.MaxRevisions = f.maxRevisions
		if c.MaxRevisions == 0 {
			return Config{}, fieldErr(keyMaxRevisions, "0 must be at least 1")
		}
	}
	if changed(keyBundleExpand) {
		c.BundleMaxExpansion = f.bundleExpand
		if c.BundleMaxExpansion == 0 {
			return Config{}, fieldErr(keyBundleExpand, "0 must be at least 1")
		}
	}
	if changed(keyBundleSize) {
		n, err := bytesize.Parse(f.bundleSize)
		if err == nil && n == 0 {
			err = fmt.Errorf("0 is no size: give one such as 8GiB")
		}
		if err != nil {
			return Config{}, fieldErr(keyBundleSize, "%v", err)
		}
		c.BundleMaxUnpackedSize = ByteSize(n)
	}
	if changed(keyCAPin) {
		c.CAPin = f.caPin
	}
	if changed(keyCAFile) {
		c.CAFile = f.caFile
	}
	if changed(keyInstallRoot) {
		c.InstallRoot = f.installRoot
	}
	if changed(keyBuilds) {
		on := f.builds
		c.Builds = &on
	}
	if changed(keyBuildNetwork) {
		c.BuildNetwork = f.buildNetwork
	}
	if changed(keyBuildMemory) {
		n, err := bytesize.Parse(f.buildMemory)
		if err != nil {
			return Config{}, fieldErr(keyBuildMemory, "%v", err)
		}
		c.BuildMemory = ByteSize(n)
	}
	if changed(keyBuildCPUs) {
		c.BuildCPUs = f.buildCPUs
	}
	return c, nil
}

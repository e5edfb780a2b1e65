package config

import (
	"fmt"
	"maps"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/slipwayhq/slipway/pkg/tlsutil"
)

// nameRE is the rule the control plane applies to every name (apps, hosts, groups).
var nameRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)

// tagKeyRE is a tag's key: a name that may also contain '/' (e.g. "team/web").
var tagKeyRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$`)

const maxTagValue = 255

// LogLevels are the accepted values of log_level.
var LogLevels = []string{"debug", "info", "warn", "error"}

// Validate checks every setting and reports all problems at once as a *ValidationError (which
// wraps ErrInvalid). It does not require a registration token: a host that has registered
// keeps its identity in DataDir and needs none; `slipway-agent install` requires one.
// buildNetworkRE is what a Docker network mode may be: a mode or a network's name.
var buildNetworkRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

func (c Config) Validate() error {
	var probs []*FieldError
	add := func(key, format string, a ...any) { probs = append(probs, newFieldError(key, format, a...)) }

	if len(c.Servers) == 0 {
		add(keyServers, "at least one server URL is required, e.g. https://slipway.example.com:7400")
	}
	seen := map[string]bool{}
	for _, s := range c.Servers {
		if err := checkServerURL(s); err != nil {
			add(keyServers, "%q %v", s, err)
			continue
		}
		norm := strings.TrimRight(s, "/")
		if seen[norm] {
			add(keyServers, "%q is listed twice", s)
		}
		seen[norm] = true
	}
	if c.RegistrationToken != "" && strings.ContainsFunc(c.RegistrationToken, unicode.IsSpace) {
		add(keyToken, "must not contain white space")
	}
	switch {
	case c.Name == "":
		add(keyName, "is required (the hostname could not be read)")
	case !nameRE.MatchString(c.Name):
		add(keyName, "%q must be 1-100 letters, digits, '.', '_' or '-'", c.Name)
	}
	for _, k := range slices.Sorted(maps.Keys(c.Tags)) {
		v := c.Tags[k]
		switch {
		case !tagKeyRE.MatchString(k):
			add(keyTags, "key %q must start with a letter or digit and be at most 63 letters, digits, '.', '_', '/' or '-'", k)
		case len(v) > maxTagValue:
			add(keyTags, "value of %q is longer than %d bytes", k, maxTagValue)
		case strings.ContainsFunc(v, unicode.IsControl):
			add(keyTags, "value of %q contains a control character", k)
		}
	}
	switch {
	case c.DataDir == "":
		add(keyDataDir, "is required")
	case !filepath.IsAbs(c.DataDir):
		add(keyDataDir, "%q must be an absolute path", c.DataDir)
	}
	if !slices.Contains(LogLevels, c.LogLevel) {
		add(keyLogLevel, "%q must be one of %s", c.LogLevel, strings.Join(LogLevels, ", "))
	}
	if c.MaxRevisions < 1 {
		add(keyMaxRevisions, "%d must be at least 1", c.MaxRevisions)
	}
	if c.BundleMaxExpansion < 1 {
		add(keyBundleExpand, "%d must be at least 1", c.BundleMaxExpansion)
	}
	if c.BundleMaxUnpackedSize < 1<<20 {
		add(keyBundleSize, "%d bytes is less than the 1 MiB minimum; give a size such as 8GiB", c.BundleMaxUnpackedSize)
	}
	if c.BuildNetwork != "" && !buildNetworkRE.MatchString(c.BuildNetwork) {
		add(keyBuildNetwork, "%q is not a Docker network mode: none, host, bridge or a network's name", c.BuildNetwork)
	}
	if c.BuildMemory != 0 && c.BuildMemory < 6<<20 {
		add(keyBuildMemory, "%d bytes is less than Docker's 6 MiB minimum; give a size such as 4GiB, or 0 for no limit", c.BuildMemory)
	}
	if c.BuildCPUs < 0 || c.BuildCPUs > 1024 {
		add(keyBuildCPUs, "%g must be from 0 (no limit) to 1024", c.BuildCPUs)
	}
	if c.CAPin != "" {
		if _, err := tlsutil.ParsePin(c.CAPin); err != nil {
			add(keyCAPin, "%v", err)
		}
	}
	if c.InstallRoot != "" && (!filepath.IsAbs(c.InstallRoot) || filepath.Clean(c.InstallRoot) == "/") {
		add(keyInstallRoot, "%q must be an absolute path other than /", c.InstallRoot)
	}
	if c.CAFile != "" && !filepath.IsAbs(c.CAFile) {
		add(keyCAFile, "%q must be an absolute path", c.CAFile)
	}
	if c.CAPin != "" || c.CAFile != "" {
		for _, s := range c.Servers {
			if strings.HasPrefix(s, "http://") {
				add(keyServers, "%q is plain HTTP, but %s/%s is set to verify the servers' TLS certificates: use https:// URLs (plain HTTP is only for development without a CA)", s, keyCAPin, keyCAFile)
			}
		}
	}
	if len(probs) > 0 {
		return &ValidationError{Problems: probs}
	}
	return nil
}

// checkServerURL accepts an absolute http or https URL with a host and nothing after the path.
func checkServerURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("must be an http:// or https:// URL")
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("has no host")
	case u.User != nil:
		return fmt.Errorf("must not contain credentials; use the registration token")
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("must not have a query or fragment")
	}
	return nil
}

// RequireToken reports a missing registration token the way Validate reports its problems. A
// host that has not registered yet cannot do without one, so `slipway-agent install` checks it.
func (c Config) RequireToken() error {
	if c.RegistrationToken == "" {
		return fieldErr(keyToken, "is required to register this host; create one with `slipway host token create`")
	}
	return nil
}

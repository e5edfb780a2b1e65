package config

import (
	"strconv"
	"strings"

	"github.com/slipwayhq/slipway/pkg/bytesize"
)

// FromEnv reads the SLIPWAY_AGENT_* variables through lookup (os.LookupEnv in the agent; tests
// pass a map). A variable that is unset or empty sets nothing. Lists are comma-separated:
//
//	SLIPWAY_AGENT_SERVERS=https://a:7400,https://b:7400
//	SLIPWAY_AGENT_TAGS=env=prod,role=web
func FromEnv(lookup func(string) (string, bool)) (Config, error) {
	get := func(key string) string {
		v, _ := lookup(lookupField(key).Env)
		return strings.TrimSpace(v)
	}
	var c Config
	if v := get(keyServers); v != "" {
		c.Servers = splitList(v)
	}
	c.RegistrationToken = get(keyToken)
	c.RegistrationTokenFile = get(keyTokenFile)
	if c.RegistrationToken != "" && c.RegistrationTokenFile != "" {
		return Config{}, fieldErr(keyToken, "set %s or %s, not both", lookupField(keyToken).Env, lookupField(keyTokenFile).Env)
	}
	c.Name = get(keyName)
	if v := get(keyTags); v != "" {
		tags, err := ParseTags(splitList(v))
		if err != nil {
			return Config{}, err
		}
		c.Tags = tags
	}
	c.DataDir = get(keyDataDir)
	c.LogLevel = get(keyLogLevel)
	if v := get(keyMaxRevisions); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return Config{}, fieldErr(keyMaxRevisions, "%q is not a whole number", v)
		}
		c.MaxRevisions = n
	}
	if v := get(keyBundleExpand); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return Config{}, fieldErr(keyBundleExpand, "%q is not a whole number", v)
		}
		c.BundleMaxExpansion = n
	}
	if v := get(keyBundleSize); v != "" {
		n, err := bytesize.Parse(v)
		if err != nil {
			return Config{}, fieldErr(keyBundleSize, "%v", err)
		}
		c.BundleMaxUnpackedSize = ByteSize(n)
	}
	c.CAPin = get(keyCAPin)
	c.CAFile = get(keyCAFile)
	c.InstallRoot = get(keyInstallRoot)
	if v := get(keyBuilds); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return Config{}, fieldErr(keyBuilds, "%q is not true or false", v)
		}
		c.Builds = &on
	}
	c.BuildNetwork = get(keyBuildNetwork)
	if v := get(keyBuildMemory); v != "" {
		n, err := bytesize.Parse(v)
		if err != nil {
			return Config{}, fieldErr(keyBuildMemory, "%v", err)
		}
		c.BuildMemory = ByteSize(n)
	}
	if v := get(keyBuildCPUs); v != "" {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return Config{}, fieldErr(keyBuildCPUs, "%q is not a number of CPUs such as 2 or 1.5", v)
		}
		c.BuildCPUs = n
	}
	return c, nil
}

// ParseTags turns "key=value" pairs into a map. A pair without '=' or with an empty key is an
// error naming the tags setting; a key given twice keeps its last value.
func ParseTags(pairs []string) (map[string]string, error) {
	tags := make(map[string]string, len(pairs))
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fieldErr(keyTags, "%q must be key=value", p)
		}
		tags[k] = strings.TrimSpace(v)
	}
	return tags, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

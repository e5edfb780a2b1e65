package config

import (
	"fmt"
	"strings"
)

// EnvPrefix starts the name of every environment variable the agent reads.
const EnvPrefix = "SLIPWAY_AGENT_"

// Configuration keys, one per setting: the YAML key; the flag and the environment variable are
// derived from it in fields.
const (
	keyServers      = "servers"
	keyToken        = "registration_token"
	keyTokenFile    = "registration_token_file"
	keyName         = "name"
	keyTags         = "tags"
	keyDataDir      = "data_dir"
	keyLogLevel     = "log_level"
	keyMaxRevisions = "max_revisions"
	keyBundleExpand = "bundle_max_expansion"
	keyBundleSize   = "bundle_max_unpacked_size"
	keyCAPin        = "ca_pin"
	keyCAFile       = "ca_file"
	keyInstallRoot  = "install_root"
	keyBuilds       = "builds"
	keyBuildNetwork = "build_network"
	keyBuildMemory  = "build_memory"
	keyBuildCPUs    = "build_cpus"
)

// field is where one setting can be given.
type field struct {
	Key  string // YAML key
	Flag string // command-line flag, without dashes
	Env  string // environment variable
}

// fields lists every setting in the order they are documented.
var fields = []field{
	{keyServers, "server", EnvPrefix + "SERVERS"},
	{keyToken, "registration-token", EnvPrefix + "REGISTRATION_TOKEN"},
	{keyTokenFile, "registration-token-file", EnvPrefix + "REGISTRATION_TOKEN_FILE"},
	{keyName, "name", EnvPrefix + "NAME"},
	{keyTags, "tag", EnvPrefix + "TAGS"},
	{keyDataDir, "data-dir", EnvPrefix + "DATA_DIR"},
	{keyLogLevel, "log-level", EnvPrefix + "LOG_LEVEL"},
	{keyMaxRevisions, "max-revisions", EnvPrefix + "MAX_REVISIONS"},
	{keyCAPin, "ca-pin", EnvPrefix + "CA_PIN"},
	{keyCAFile, "ca-file", EnvPrefix + "CA_FILE"},
	{keyBundleExpand, "bundle-max-expansion", EnvPrefix + "BUNDLE_MAX_EXPANSION"},
	{keyBundleSize, "bundle-max-unpacked-size", EnvPrefix + "BUNDLE_MAX_UNPACKED_SIZE"},
	{keyInstallRoot, "install-root", EnvPrefix + "INSTALL_ROOT"},
	{keyBuilds, "builds", EnvPrefix + "BUILDS"},
	{keyBuildNetwork, "build-network", EnvPrefix + "BUILD_NETWORK"},
	{keyBuildMemory, "build-memory", EnvPrefix + "BUILD_MEMORY"},
	{keyBuildCPUs, "build-cpus", EnvPrefix + "BUILD_CPUS"},
}

// BundleSettingNames name the two bundle size settings in every form (key, flag and variable),
// for messages that tell an operator what to raise.
func BundleSettingNames() (expansion, size string) {
	e, z := lookupField(keyBundleExpand), lookupField(keyBundleSize)
	return fmt.Sprintf("%s (flag --%s, env %s)", e.Key, e.Flag, e.Env), fmt.Sprintf("%s (flag --%s, env %s)", z.Key, z.Flag, z.Env)
}

func lookupField(key string) field {
	for _, f := range fields {
		if f.Key == key {
			return f
		}
	}
	return field{Key: key}
}

// FieldError is one setting with a bad value. Its message names the YAML key, the flag and the
// environment variable, so the operator can fix it wherever they set it.
type FieldError struct {
	Key     string // YAML key, e.g. "servers"
	Flag    string // flag without dashes, e.g. "server"
	Env     string // environment variable, e.g. "SLIPWAY_AGENT_SERVERS"
	Message string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s (flag --%s, env %s): %s", e.Key, e.Flag, e.Env, e.Message)
}

// Is makes every FieldError match ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

func newFieldError(key, format string, a ...any) *FieldError {
	f := lookupField(key)
	return &FieldError{Key: f.Key, Flag: f.Flag, Env: f.Env, Message: fmt.Sprintf(format, a...)}
}

// fieldErr is one problem as a ValidationError, so it prints like Validate's errors.
func fieldErr(key, format string, a ...any) error {
	return &ValidationError{Problems: []*FieldError{newFieldError(key, format, a...)}}
}

// ValidationError is every problem Validate found, in field order. It prints as one line.
type ValidationError struct {
	Problems []*FieldError
}

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	return ErrInvalid.Error() + ": " + strings.Join(msgs, "; ")
}

// Is makes a ValidationError match ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Unwrap returns the individual problems.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

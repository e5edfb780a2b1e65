package builder

import (
	"strconv"
	"strings"
)

// environment is the environment every shell of the build starts with, by
// precedence: the executor's base, the buildspec's env.variables, its
// secrets, the variables given when the build starts, the caller's extra
// ones (Options.ExtraEnv), then the CODEBUILD_*
// variables, which nothing overrides.
func (r *runner) environment() []string {
	vars := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vars[k]; !ok {
			order = append(order, k)
		}
		vars[k] = v
	}
	for _, kv := range r.opts.BaseEnv {
		if k, v, ok := strings.Cut(kv, "="); ok {
			set(k, v)
		}
	}
	reserved := func(k string) bool { return strings.HasPrefix(strings.ToUpper(k), "CODEBUILD_") }
	for _, v := range r.spec.Env.Variables {
		if !reserved(v.Name) {
			set(v.Name, v.Value)
		}
	}
	for _, v := range r.spec.Env.ParameterStore {
		set(v.Name, r.opts.Secrets[v.Name])
	}
	for _, v := range r.spec.Env.SecretsManager {
		set(v.Name, r.opts.Secrets[v.Name])
	}
	for _, v := range r.opts.Env {
		if !reserved(v.Name) {
			set(v.Name, v.Value)
		}
	}
	for _, v := range r.opts.ExtraEnv {
		if !reserved(v.Name) {
			set(v.Name, v.Value)
		}
	}
	number := r.opts.BuildNumber
	if number <= 0 {
		number = 1
	}
	image := r.opts.Executor.Name()
	set("CODEBUILD_BUILD_ID", r.opts.BuildID)
	set("CODEBUILD_BUILD_ARN", "arn:slipway:codebuild:::build/"+r.opts.BuildID)
	set("CODEBUILD_BUILD_NUMBER", strconv.Itoa(number))
	set("CODEBUILD_BUILD_SUCCEEDING", "1")
	set("CODEBUILD_INITIATOR", r.opts.Initiator)
	set("CODEBUILD_SOURCE_VERSION", r.opts.SourceVersion)
	set("CODEBUILD_RESOLVED_SOURCE_VERSION", r.opts.ResolvedSourceVersion)
	set("CODEBUILD_SOURCE_REPO_URL", r.opts.SourceRepoURL)
	set("CODEBUILD_SRC_DIR", r.ws.SrcDir())
	start := r.start
	if !r.opts.StartTime.IsZero() {
		start = r.opts.StartTime
	}
	set("CODEBUILD_START_TIME", strconv.FormatInt(start.UnixMilli(), 10))
	set("CODEBUILD_BUILD_IMAGE", image)
	set("CODEBUILD_CI", "true")
	if r.opts.BatchIdentifier != "" {
		set("CODEBUILD_BATCH_BUILD_IDENTIFIER", r.opts.BatchIdentifier)
	}
	env := make([]string, 0, len(order))
	for _, k := range order {
		env = append(env, k+"="+vars[k])
	}
	return env
}

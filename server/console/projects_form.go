package console

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	pub "github.com/slipwayhq/slipway/pkg/api"
)

// projectForm is a build project's create or edit form as typed: every field kept as text, so
// a refused form shows what was typed. Labels are KEY=VALUE lines, Variables NAME=VALUE lines
// (plain text), Secrets NAME=SECRET lines (the variable's value is the secret's, read when the
// build runs under the service role: the form holds only the secret's name).
type projectForm struct {
	Name, Description                             string
	SourceType, Repository, Buildspec, Inline     string
	SourceVersion                                 string
	Image, Labels, Variables, Secrets             string
	Privileged                                    bool
	Timeout, QueuedTimeout, ConcurrentLimit       string
	ArtifactsType, ArtifactsName, CacheType, Role string
	Error                                         string
	Repos                                         []string // the repositories the user may list (a datalist)
	SourceTypes, ArtifactTypes, CacheTypes        []string
}

// The choices of the project form's selects.
var (
	sourceTypes   = []string{pub.SourceSlipwayRepo, pub.SourceNone}
	artifactTypes = []string{pub.ArtifactsNone, pub.ArtifactsBlob}
	cacheTypes    = []string{pub.CacheNone, pub.CacheLocal}
)

// maxProjectForm bounds a project form's body: an inline buildspec (64 KiB) and variables
// (64 KiB) with their encoding.
const maxProjectForm = 512 << 10

func (f *projectForm) choices() {
	f.SourceTypes, f.ArtifactTypes, f.CacheTypes = sourceTypes, artifactTypes, cacheTypes
}

// projectFormOf reads a posted project form.
func projectFormOf(r *http.Request) projectForm {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := projectForm{Name: v("name"), Description: v("description"), SourceType: v("source_type"), Repository: v("repository"),
		Buildspec: v("buildspec"), Inline: r.PostFormValue("buildspec_inline"), SourceVersion: v("source_version"),
		Image: v("image"), Labels: r.PostFormValue("labels"), Variables: r.PostFormValue("variables"), Secrets: r.PostFormValue("secrets"),
		Privileged: r.PostFormValue("privileged") != "", Timeout: v("timeout"), QueuedTimeout: v("queued_timeout"),
		ConcurrentLimit: v("concurrent_limit"), ArtifactsType: v("artifacts_type"), ArtifactsName: v("artifacts_name"),
		CacheType: v("cache_type"), Role: v("service_role")}
	if strings.TrimSpace(f.Inline) == "" {
		f.Inline = ""
	}
	f.choices()
	return f
}

// projectFormFrom fills the edit form with a project's settings.
func projectFormFrom(p pub.BuildProject) projectForm {
	f := projectForm{Name: p.Name, Description: p.Description, SourceType: p.Source.Type, Repository: p.Source.Repository,
		Buildspec: p.Source.Buildspec, Inline: p.Source.BuildspecInline, SourceVersion: p.SourceVersion, Image: p.Environment.Image,
		Privileged: p.Environment.Privileged, Timeout: strconv.Itoa(p.TimeoutMinutes), QueuedTimeout: strconv.Itoa(p.QueuedTimeoutMinutes),
		ArtifactsType: p.Artifacts.Type, ArtifactsName: p.Artifacts.Name, CacheType: p.Cache.Type, Role: p.ServiceRole}
	if p.ConcurrentBuildLimit != 0 {
		f.ConcurrentLimit = strconv.Itoa(p.ConcurrentBuildLimit)
	}
	var labels []string
	for _, k := range slices.Sorted(maps.Keys(p.Environment.Labels)) {
		labels = append(labels, k+"="+p.Environment.Labels[k])
	}
	f.Labels = strings.Join(labels, "\n")
	var plain, secret []string
	for _, ev := range p.Environment.Variables {
		if ev.Type == pub.VariableSecretsManager {
			secret = append(secret, ev.Name+"="+ev.Value)
		} else {
			plain = append(plain, ev.Name+"="+ev.Value)
		}
	}
	f.Variables, f.Secrets = strings.Join(plain, "\n"), strings.Join(secret, "\n")
	f.choices()
	return f
}

// pairs reads KEY=VALUE lines (blank lines skipped); what names the field in an error.
func pairs(what, text string) ([][2]string, error) {
	var out [][2]string
	for i, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("%s, line %d: write NAME=VALUE", what, i+1)
		}
		out = append(out, [2]string{strings.TrimSpace(k), v})
	}
	return out, nil
}

// variablesOf reads the plain and secret variables' lines.
func variablesOf(plain, secret string) ([]pub.EnvironmentVariable, error) {
	var out []pub.EnvironmentVariable
	ps, err := pairs("Variables", plain)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		out = append(out, pub.EnvironmentVariable{Name: p[0], Value: p[1], Type: pub.VariablePlaintext})
	}
	ss, err := pairs("Secret variables", secret)
	if err != nil {
		return nil, err
	}
	for _, p := range ss {
		out = append(out, pub.EnvironmentVariable{Name: p[0], Value: strings.TrimSpace(p[1]), Type: pub.VariableSecretsManager})
	}
	return out, nil
}

// minutes reads a number field ("" is 0: the default).
func minutes(what, s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s: %q is not a number of minutes", what, s)
	}
	return n, nil
}

// settings is what the form says, as the API's types.
type formSettings struct {
	Source                 pub.ProjectSource
	Environment            pub.BuildEnvironment
	Timeout, Queued, Limit int
	Artifacts              pub.ProjectArtifacts
	Cache                  pub.ProjectCache
}

func (f projectForm) settings() (formSettings, error) {
	var s formSettings
	s.Source = pub.ProjectSource{Type: f.SourceType, Buildspec: f.Buildspec, BuildspecInline: f.Inline}
	if s.Source.Type == "" {
		s.Source.Type = pub.SourceSlipwayRepo
	}
	if s.Source.Type == pub.SourceSlipwayRepo {
		s.Source.Repository = f.Repository
	}
	s.Environment = pub.BuildEnvironment{Image: f.Image, Privileged: f.Privileged}
	ls, err := pairs("Labels", f.Labels)
	if err != nil {
		return s, err
	}
	for _, l := range ls {
		if s.Environment.Labels == nil {
			s.Environment.Labels = map[string]string{}
		}
		s.Environment.Labels[l[0]] = strings.TrimSpace(l[1])
	}
	if s.Environment.Variables, err = variablesOf(f.Variables, f.Secrets); err != nil {
		return s, err
	}
	if s.Timeout, err = minutes("Timeout", f.Timeout); err != nil {
		return s, err
	}
	if s.Queued, err = minutes("Queued timeout", f.QueuedTimeout); err != nil {
		return s, err
	}
	if f.ConcurrentLimit != "" {
		if s.Limit, err = strconv.Atoi(f.ConcurrentLimit); err != nil {
			return s, fmt.Errorf("the concurrent build limit %q is not a number", f.ConcurrentLimit)
		}
	}
	s.Artifacts = pub.ProjectArtifacts{Type: f.ArtifactsType, Name: f.ArtifactsName}
	if s.Artifacts.Type == "" {
		s.Artifacts.Type = pub.ArtifactsNone
	}
	s.Cache = pub.ProjectCache{Type: f.CacheType}
	if s.Cache.Type == "" {
		s.Cache.Type = pub.CacheNone
	}
	return s, nil
}

// createRequest is the form as a create.
func (f projectForm) createRequest() (pub.ProjectCreateRequest, error) {
	s, err := f.settings()
	return pub.ProjectCreateRequest{Name: f.Name, Description: f.Description, Source: s.Source, SourceVersion: f.SourceVersion,
		Environment: s.Environment, TimeoutMinutes: s.Timeout, QueuedTimeoutMinutes: s.Queued, ConcurrentBuildLimit: s.Limit,
		Artifacts: s.Artifacts, Cache: s.Cache, ServiceRole: f.Role}, err
}

// updateRequest is the form as an update replacing every setting (a timeout left empty is
// left as it is).
func (f projectForm) updateRequest() (pub.ProjectUpdateRequest, error) {
	s, err := f.settings()
	if err != nil {
		return pub.ProjectUpdateRequest{}, err
	}
	req := pub.ProjectUpdateRequest{Description: &f.Description, Source: &s.Source, SourceVersion: &f.SourceVersion,
		Environment: &s.Environment, ConcurrentBuildLimit: &s.Limit, Artifacts: &s.Artifacts, Cache: &s.Cache, ServiceRole: &f.Role}
	if f.Timeout != "" {
		req.TimeoutMinutes = &s.Timeout
	}
	if f.QueuedTimeout != "" {
		req.QueuedTimeoutMinutes = &s.Queued
	}
	return req, nil
}

// startForm is the start form as typed.
type startForm struct {
	SourceVersion, Variables, Secrets, Timeout string
	Error                                      string
}

func startFormOf(r *http.Request) startForm {
	return startForm{SourceVersion: strings.TrimSpace(r.PostFormValue("source_version")), Variables: r.PostFormValue("variables"),
		Secrets: r.PostFormValue("secrets"), Timeout: strings.TrimSpace(r.PostFormValue("timeout"))}
}

func (f startForm) request(project string) (pub.BuildStartRequest, error) {
	req := pub.BuildStartRequest{Project: project, SourceVersion: f.SourceVersion}
	var err error
	if req.EnvironmentVariablesOverride, err = variablesOf(f.Variables, f.Secrets); err != nil {
		return req, err
	}
	req.TimeoutMinutesOverride, err = minutes("Timeout", f.Timeout)
	return req, err
}

package builder

import (
	"context"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/buildspec"
)

// TestExtraEnv: the caller's extra variables win over the buildspec's and the start's, are not
// exported even when the buildspec asks, and Masks are masked in the log.
func TestExtraEnv(t *testing.T) {
	spec := load(t, `version: 0.2
env:
  variables:
    GIT_CONFIG_COUNT: "9"
  exported-variables: [SLIPWAY_GIT_TOKEN, GIT_CONFIG_COUNT, PLAIN]
phases:
  build:
    commands:
      - echo "count=$GIT_CONFIG_COUNT token=$SLIPWAY_GIT_TOKEN"
      - PLAIN=yes
`)
	opts := options(t)
	opts.Env = []buildspec.Var{{Name: "GIT_CONFIG_COUNT", Value: "7"}}
	opts.ExtraEnv = []buildspec.Var{{Name: "GIT_CONFIG_COUNT", Value: "2"}, {Name: "SLIPWAY_GIT_TOKEN", Value: "slw_tokenvalue"}}
	opts.Masks = []string{"slw_tokenvalue"}
	opts.GitCredentialHelper = true
	log := &syncBuffer{}
	opts.Log = log
	res, err := Run(context.Background(), spec, opts)
	if err != nil || res.Status != StatusSucceeded {
		t.Fatalf("res %+v err %v\n%s", res, err, log)
	}
	if !strings.Contains(log.String(), "count=2 token=***") || strings.Contains(log.String(), "tokenvalue") || strings.Contains(log.String(), "git-credential-helper") {
		t.Fatalf("log:\n%s", log)
	}
	if _, ok := res.ExportedVariables["SLIPWAY_GIT_TOKEN"]; ok || res.ExportedVariables["PLAIN"] != "yes" {
		t.Fatalf("exported %v", res.ExportedVariables)
	}
	if _, ok := res.ExportedVariables["GIT_CONFIG_COUNT"]; ok {
		t.Fatalf("exported %v", res.ExportedVariables)
	}
}

// TestGitCredentialHelperLocal: a build whose caller does not honour git-credential-helper (a
// local build) runs as without it, and says so in its log.
func TestGitCredentialHelperLocal(t *testing.T) {
	spec := load(t, "version: 0.2\nenv:\n  git-credential-helper: yes\nphases:\n  build:\n    commands:\n      - echo \"count=[$GIT_CONFIG_COUNT]\"\n")
	opts := options(t)
	log := &syncBuffer{}
	opts.Log = log
	res, err := Run(context.Background(), spec, opts)
	if err != nil || res.Status != StatusSucceeded {
		t.Fatalf("res %+v err %v\n%s", res, err, log)
	}
	if !strings.Contains(log.String(), "git-credential-helper: yes has no effect here") || !strings.Contains(log.String(), "count=[]") {
		t.Fatalf("log:\n%s", log)
	}
}

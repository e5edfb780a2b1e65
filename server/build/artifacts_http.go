package build

import (
	"context"
	"net/http"
	"regexp"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// PrimaryArtifact is the name the primary artifact (Identifier "") is downloaded by.
const PrimaryArtifact = "primary"

func (m *Module) buildArtifacts(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	if err := m.core.HTTP.ReadBarrier(r); err != nil {
		return err
	}
	l, err := m.Builds().Artifacts(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	m.core.HTTP.JSON(w, http.StatusOK, l)
	return nil
}

// Artifacts lists the artifacts build id kept, the primary one first.
func (s *Builds) Artifacts(_ context.Context, id string) (pub.BuildArtifacts, error) {
	b, err := s.Record(id)
	if err != nil {
		return pub.BuildArtifacts{}, err
	}
	return pub.BuildArtifacts{Artifacts: buildView(b).Artifacts}, nil
}

// Artifact answers build id's artifact name: "primary" (or "") for the primary one, else a
// secondary artifact's identifier.
func (s *Builds) Artifact(_ context.Context, id, name string) (Artifact, error) {
	b, err := s.Record(id)
	if err != nil {
		return Artifact{}, err
	}
	want := name
	if name == PrimaryArtifact {
		want = ""
	}
	for _, a := range b.Artifacts {
		if a.Identifier == want {
			return a, nil
		}
	}
	return Artifact{}, fault.New(fault.NotFound, "build %s has no artifact %s: 'slipway build artifacts %s' lists them", b.ID, state.Shorten(name), b.ID)
}

// safeName keeps a download's file name to characters that need no quoting.
var safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// buildArtifactDownload answers an artifact's zip from the blob store (ranges and ETag as the
// blob store serves them), as NAME.zip.
func (m *Module) buildArtifactDownload(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	if err := m.core.HTTP.ReadBarrier(r); err != nil {
		return err
	}
	name := r.PathValue("name")
	a, err := m.Builds().Artifact(r.Context(), r.PathValue("id"), name)
	if err != nil {
		return err
	}
	file := "artifact"
	if safeName.MatchString(name) {
		file = name
	}
	return m.core.HTTP.ServeBlob(w, r, a.Blob, file+".zip")
}

package build

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/state"
)

func (m *Module) buildReports(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	if err := m.core.HTTP.ReadBarrier(r); err != nil {
		return err
	}
	l, err := m.Builds().Reports(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	m.core.HTTP.JSON(w, http.StatusOK, l)
	return nil
}

// Reports answers build id's reports with their cases, in report name order (build/reports:
// each at most 500 cases, so an answer is bounded by the build's report groups).
func (s *Builds) Reports(_ context.Context, id string) (pub.BuildReports, error) {
	if _, _, err := SplitID(id); err != nil {
		return pub.BuildReports{}, err
	}
	out := pub.BuildReports{Reports: []pub.BuildReport{}}
	err := s.m.core.State.View(func(tx *state.Tx) error {
		if _, err := mustBuild(tx, id); err != nil {
			return err
		}
		prefix := append([]byte(id), 0)
		c := tx.Bucket(bucketReports).Cursor()
		for k, v := c.Seek(prefix); k != nil && len(k) > len(prefix) && string(k[:len(prefix)]) == string(prefix); k, v = c.Next() {
			var rep pub.BuildReport // the JSON of agentproto.BuildReport
			if err := json.Unmarshal(v, &rep); err != nil {
				return fmt.Errorf("report %s of build %s: %w", k[len(prefix):], id, err)
			}
			if rep.Cases == nil {
				rep.Cases = []pub.BuildTestCase{}
			}
			out.Reports = append(out.Reports, rep)
		}
		return nil
	})
	return out, err
}

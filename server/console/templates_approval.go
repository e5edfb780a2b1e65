package console

import (
	"net/http"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
)

// templatesOfRepo is what a repository's protection page shows of the approval rule templates
// associated with it.
type templatesOfRepo struct {
	Templates       []pub.ApprovalTemplate
	TemplatesDenied bool // the user may not list them (the permission is named on the page)
}

// repoTemplates reads the approval rule templates associated with a repository.
func (m *Module) repoTemplates(_ *http.Request, _ *auth.Identity, _ string) (templatesOfRepo, error) {
	return templatesOfRepo{}, nil
}

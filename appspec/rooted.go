package appspec

import (
	"path"
	"strings"
)

// Rooted returns a copy of s whose files destinations and permissions objects lie under root,
// an absolute Linux path: "/srv/web" becomes root+"/srv/web". It is how several simulated hosts
// on one machine (slipway dev's embedded agents) keep their installs apart while each bundle
// still names the paths it would use on a host of its own. A Windows spec, an empty root or one
// that is not absolute returns s itself. The hooks and the positions diagnostics use are
// shared with s.
func (s *Spec) Rooted(root string) *Spec {
	if root == "" || !strings.HasPrefix(root, "/") || s.OS != "linux" {
		return s
	}
	out := *s
	out.Files = make([]FileMapping, len(s.Files))
	for i, f := range s.Files {
		f.Destination = path.Join(root, f.Destination)
		out.Files[i] = f
	}
	out.Permissions = make([]Permission, len(s.Permissions))
	for i, p := range s.Permissions {
		p.Object = path.Join(root, p.Object)
		out.Permissions[i] = p
	}
	return &out
}

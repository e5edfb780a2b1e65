package gitproto

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxRefNameLen bounds a ref name. git has no limit of its own; 1024 bytes is far beyond
// CodeCommit's 256-character branch names and keeps a push's command list small.
const MaxRefNameLen = 1024

// ValidateRefName checks a full ref name that a push may create, update or delete: it starts
// with "refs/" and follows git check-ref-format's rules (without --allow-onelevel or
// --refspec-pattern), checked here rather than by running git:
//
//   - no component is empty ("//", a leading or trailing '/'), starts with '.', or ends
//     with ".lock";
//   - no "..", no "@{", and the name does not end with '.';
//   - no control character, space, '~', '^', ':', '?', '*', '[' or '\'.
//
// Slipway is stricter than git in two ways: the name is valid UTF-8 and at most
// MaxRefNameLen bytes, since it is matched by policies (slipway:ReferenceName), stored in
// the replicated state and shown in JSON.
func ValidateRefName(name string) error {
	if len(name) > MaxRefNameLen {
		return fmt.Errorf("ref name of %d bytes is over the limit of %d", len(name), MaxRefNameLen)
	}
	if !strings.HasPrefix(name, "refs/") {
		return fmt.Errorf("ref name %q does not start with \"refs/\"", name)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("ref name %q is not valid UTF-8", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c < 0x20 || c == 0x7f {
			return fmt.Errorf("ref name %q has a control character", name)
		}
		if strings.IndexByte(" ~^:?*[\\", c) >= 0 {
			return fmt.Errorf("ref name %q has the character %q, which git does not allow in ref names", name, rune(c))
		}
	}
	if strings.Contains(name, "..") {
		return fmt.Errorf("ref name %q has \"..\", which git does not allow", name)
	}
	if strings.Contains(name, "@{") {
		return fmt.Errorf("ref name %q has \"@{\", which git does not allow", name)
	}
	if strings.HasSuffix(name, ".") {
		return fmt.Errorf("ref name %q ends with '.', which git does not allow", name)
	}
	for _, comp := range strings.Split(name, "/") {
		switch {
		case comp == "":
			return fmt.Errorf("ref name %q has an empty component (a leading, trailing or double '/')", name)
		case comp[0] == '.':
			return fmt.Errorf("ref name %q has a component starting with '.', which git does not allow", name)
		case strings.HasSuffix(comp, ".lock"):
			return fmt.Errorf("ref name %q has a component ending with \".lock\", which git does not allow", name)
		}
	}
	return nil
}

package appspec

import (
	"path"
	"strings"
)

// BundlePath cleans a files source or hook location written in a spec for
// the given os into a slash-separated path relative to the bundle root ("" is
// the root itself). On windows backslashes are separators. A leading "/" is
// allowed and means the bundle root, as CodeDeploy joins the path onto the
// archive folder. ok is false when the path leaves the bundle ("..") or names
// a drive or UNC share.
func BundlePath(osName, p string) (clean string, ok bool) {
	if osName == OSWindows {
		if hasDrive(p) || strings.HasPrefix(p, `\\`) {
			return "", false
		}
		p = strings.ReplaceAll(p, `\`, "/")
	}
	if strings.ContainsRune(p, 0) {
		return "", false
	}
	c := path.Clean("/" + p)
	if strings.Contains(p, "..") && escapes(p) {
		return "", false
	}
	c = strings.TrimPrefix(c, "/")
	return c, true
}

// escapes reports whether the relative path p, read from the bundle root,
// climbs above the root at any point (path.Clean would hide that).
func escapes(p string) bool {
	depth := 0
	for _, part := range strings.Split(p, "/") {
		switch part {
		case "", ".":
		case "..":
			depth--
			if depth < 0 {
				return true
			}
		default:
			depth++
		}
	}
	return false
}

func hasDrive(p string) bool {
	return len(p) >= 2 && p[1] == ':' && ((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z'))
}

// HostPath cleans an absolute host path written in a spec for the given os
// (a files destination or a permissions object). Linux paths must start with
// "/". Windows paths must start with a drive ("C:\" or "C:/") or a UNC share
// ("\\server\share"). The result uses the host's separator: "/" on linux,
// "\" on windows. ok is false for a relative path.
func HostPath(osName, p string) (clean string, ok bool) {
	vol, rest, ok := splitHost(osName, p)
	if !ok {
		return "", false
	}
	return renderHost(osName, vol+rest), true
}

// splitHost splits an absolute host path into its volume ("" on linux,
// "C:" or "//server/share" on windows) and a cleaned slash path that starts
// with "/".
func splitHost(osName, p string) (vol, rest string, ok bool) {
	if strings.ContainsRune(p, 0) {
		return "", "", false
	}
	if osName != OSWindows {
		if !strings.HasPrefix(p, "/") {
			return "", "", false
		}
		return "", path.Clean(p), true
	}
	s := strings.ReplaceAll(p, `\`, "/")
	switch {
	case hasDrive(s) && len(s) >= 3 && s[2] == '/':
		return strings.ToUpper(s[:1]) + ":", path.Clean(s[2:]), true
	case hasDrive(s) && len(s) == 2:
		return "", "", false // "C:" alone is relative to the drive's current folder
	case strings.HasPrefix(s, "//"):
		parts := strings.SplitN(strings.TrimLeft(s, "/"), "/", 3)
		if len(parts) < 2 || parts[0] == "" || parts[1] == "" || parts[0] == "." || parts[0] == ".." || parts[1] == "." || parts[1] == ".." {
			return "", "", false
		}
		r := "/"
		if len(parts) == 3 {
			r = path.Clean("/" + parts[2])
		}
		return "//" + parts[0] + "/" + parts[1], r, true
	}
	return "", "", false
}

// renderHost turns a canonical slash path into the host's notation.
func renderHost(osName, p string) string {
	if osName == OSWindows {
		return strings.ReplaceAll(p, "/", `\`)
	}
	return p
}

// canonHost is the inverse of renderHost.
func canonHost(osName, p string) string {
	if osName == OSWindows {
		return strings.ReplaceAll(p, `\`, "/")
	}
	return p
}

package gitproto

import (
	"fmt"
	"strings"
)

// MaxRepoNameLen is the longest repository name, as in CodeCommit.
const MaxRepoNameLen = 100

// ValidateRepoName checks a repository name by CodeCommit's rules (CreateRepository's
// repositoryName: 1-100 characters matching [\w.-]+, that is ASCII letters, digits, '_', '.'
// and '-', and not ending in ".git"), plus two of Slipway's own: the name is never "." or "..",
// since it names a directory on every server. Names are case-sensitive.
func ValidateRepoName(name string) error {
	if name == "" {
		return fmt.Errorf("repository name is empty: use 1-%d letters, digits, '.', '_' or '-'", MaxRepoNameLen)
	}
	if len(name) > MaxRepoNameLen {
		return fmt.Errorf("repository name of %d characters is over the limit of %d", len(name), MaxRepoNameLen)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isNameByte(c) {
			return fmt.Errorf("repository name %q has the character %q: use only letters, digits, '.', '_' or '-'", name, rune(c))
		}
	}
	if name == "." || name == ".." {
		return fmt.Errorf("repository name %q is not allowed", name)
	}
	if strings.HasSuffix(name, ".git") {
		return fmt.Errorf("repository name %q ends in \".git\", which is not allowed: the clone URL adds it", name)
	}
	return nil
}

// isNameByte reports whether c is an ASCII letter, digit, '.', '_' or '-'.
func isNameByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return c == '.' || c == '_' || c == '-'
}

package appspec

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// validModeDigits reports whether s is 1 to 4 octal digits.
func validModeDigits(s string) bool {
	return len(s) >= 1 && len(s) <= 4 && strings.Trim(s, "01234567") == ""
}

// ParseMode converts a permissions mode ("644", "0755", "4755") to a
// fs.FileMode with the permission bits and setuid, setgid and sticky set.
func ParseMode(s string) (fs.FileMode, error) {
	if !validModeDigits(s) {
		return 0, fmt.Errorf("mode %q is not valid: use 1 to 4 octal digits, e.g. \"0644\"", s)
	}
	n, err := strconv.ParseUint(s, 8, 16)
	if err != nil {
		return 0, fmt.Errorf("mode %q: %w", s, err)
	}
	m := fs.FileMode(n & 0o777)
	if n&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if n&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if n&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m, nil
}

// ACLEntry is one parsed POSIX ACL entry of a permissions acls list.
type ACLEntry struct {
	Default bool   `json:"default,omitempty"`
	Kind    string `json:"kind"` // user, group, mask or other
	Name    string `json:"name,omitempty"`
	Read    bool   `json:"read,omitempty"`
	Write   bool   `json:"write,omitempty"`
	Execute bool   `json:"execute,omitempty"`
}

// String renders the entry in setfacl notation: [default:]kind:name:rwx.
func (e ACLEntry) String() string {
	var b strings.Builder
	if e.Default {
		b.WriteString("default:")
	}
	b.WriteString(e.Kind + ":" + e.Name + ":")
	for _, f := range []struct {
		on bool
		c  byte
	}{{e.Read, 'r'}, {e.Write, 'w'}, {e.Execute, 'x'}} {
		if f.on {
			b.WriteByte(f.c)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}

var aclKinds = map[string]string{"u": "user", "user": "user", "g": "group", "group": "group", "m": "mask", "mask": "mask", "o": "other", "other": "other"}

func isDefaultWord(s string) bool { return s == "d" || s == "default" }

// ParseACL parses one acls entry with CodeDeploy's grammar:
// [d[efault]:][kind:]name:perm where kind is u[ser], g[roup], m[ask] or
// other (user when omitted) and perm is letters from "rwx-" or one digit
// 0-7. mask and other take no name; a non-default entry without a name other
// than mask is a base entry, which must be set with mode instead.
func ParseACL(s string) (ACLEntry, error) {
	var e ACLEntry
	parts := strings.Split(s, ":")
	n := len(parts)
	if n < 2 || n > 4 {
		return e, errors.New("it needs 2 to 4 parts separated by ':'")
	}
	if n == 4 {
		if !isDefaultWord(parts[0]) {
			return e, fmt.Errorf("%q must be d or default", parts[0])
		}
		e.Default = true
	}
	if n >= 3 {
		word := parts[n-3]
		switch {
		case isDefaultWord(word) && !e.Default:
			e.Default = true
		case aclKinds[word] != "":
			e.Kind = aclKinds[word]
		default:
			return e, fmt.Errorf("%q is not an entry kind (u, g, m, o or user, group, mask, other)", word)
		}
	}
	name := parts[n-2]
	switch k := aclKinds[name]; {
	case (k == "mask" || k == "other") && e.Kind == "":
		e.Kind = k
	case k == "mask" || k == "other":
		e.Name = k
	default:
		if e.Kind == "" {
			e.Kind = "user"
		}
		e.Name = name
	}
	if (e.Kind == "mask" || e.Kind == "other") && e.Name != "" {
		return e, fmt.Errorf("%s entries take no name", e.Kind)
	}
	if !e.Default && e.Kind != "mask" && e.Name == "" {
		return e, fmt.Errorf("it is the base %s entry, which is set with mode, not acls", e.Kind)
	}
	perm := parts[n-1]
	if len(perm) == 1 && perm[0] >= '0' && perm[0] <= '7' {
		v := perm[0] - '0'
		e.Read, e.Write, e.Execute = v&4 != 0, v&2 != 0, v&1 != 0
		return e, nil
	}
	for _, c := range perm {
		switch c {
		case 'r':
			e.Read = true
		case 'w':
			e.Write = true
		case 'x':
			e.Execute = true
		case '-':
		default:
			return e, fmt.Errorf("%q is not a permission letter (r, w, x or -) nor a digit 0-7", c)
		}
	}
	return e, nil
}

// SELinuxRange is a parsed MLS range: s<low>[-s<high>][:categories].
type SELinuxRange struct {
	Low, High  uint64
	Categories []int // sorted, without duplicates
}

// ParseRange parses an SELinux context range such as "s0", "s0-s3" or
// "s0:c0.c255,c300". Categories are at most c1023 and may not repeat; a
// high sensitivity or category range end may not be lower than its start.
func ParseRange(s string) (SELinuxRange, error) {
	var r SELinuxRange
	sens, cats, hasCats := strings.Cut(s, ":")
	if sens == "" || (hasCats && cats == "") {
		return r, errors.New("it is empty on one side of ':'")
	}
	low, high, hasHigh := strings.Cut(sens, "-")
	var err error
	if r.Low, err = levelNumber(low, 's'); err != nil {
		return r, err
	}
	r.High = r.Low
	if hasHigh {
		if r.High, err = levelNumber(high, 's'); err != nil {
			return r, err
		}
		if r.High < r.Low {
			return r, fmt.Errorf("sensitivity %s is lower than %s", high, low)
		}
	}
	if !hasCats {
		return r, nil
	}
	seen := map[int]bool{}
	for _, part := range strings.Split(cats, ",") {
		a, b, isRange := strings.Cut(part, ".")
		lo, err := category(a)
		if err != nil {
			return r, err
		}
		hi := lo
		if isRange {
			if hi, err = category(b); err != nil {
				return r, err
			}
			if hi < lo {
				return r, fmt.Errorf("category range %s is backwards", part)
			}
		}
		for c := lo; c <= hi; c++ {
			if seen[c] {
				return r, fmt.Errorf("category c%d is listed twice", c)
			}
			seen[c] = true
			r.Categories = append(r.Categories, c)
		}
	}
	sort.Ints(r.Categories)
	return r, nil
}

func levelNumber(s string, prefix byte) (uint64, error) {
	if len(s) < 2 || s[0] != prefix || strings.Trim(s[1:], "0123456789") != "" {
		return 0, fmt.Errorf("%q is not %c followed by a number", s, prefix)
	}
	n, err := strconv.ParseUint(s[1:], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n, nil
}

func category(s string) (int, error) {
	n, err := levelNumber(s, 'c')
	if err != nil {
		return 0, err
	}
	if n > 1023 {
		return 0, fmt.Errorf("category %s is above c1023", s)
	}
	return int(n), nil
}

package appspec

import (
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/slipwayhq/slipway/internal/yamlwalk"
)

// StepKind is what a PermissionStep changes.
type StepKind string

// Step kinds, in the order they are applied to one path.
const (
	StepMode    StepKind = "mode"
	StepACL     StepKind = "acl"
	StepSELinux StepKind = "selinux"
	StepOwner   StepKind = "owner"
)

// PermissionStep is one change to one installed path. For a path the steps
// come in the order mode, ACLs, SELinux context, owner/group. Default ACL
// entries are given to folders only: a folder pattern that also matches
// files applies only the access entries to them.
type PermissionStep struct {
	Path    string      `json:"path"`
	Kind    StepKind    `json:"kind"`
	Mode    fs.FileMode `json:"mode,omitempty"`
	ACL     []ACLEntry  `json:"acl,omitempty"`
	Context *Context    `json:"context,omitempty"`
	Owner   string      `json:"owner,omitempty"`
	Group   string      `json:"group,omitempty"`
	Field   string      `json:"field"`
	IsDir   bool        `json:"is_dir,omitempty"`
	_       struct{}    `json:"-"`
}

// permissions plans every permissions entry. Only paths this install
// creates are candidates (not retained files, not symlinks, not folders that
// already existed); an object that is a folder is not matched by its own
// pattern.
func (p *planner) permissions() {
	setBy := map[string]string{}
	for i, perm := range p.in.Spec.Permissions {
		field := yamlwalk.IndexField("permissions", i)
		vol, rest, ok := splitHost(p.os, perm.Object)
		if !ok {
			continue
		}
		obj := vol + rest
		host := renderHost(p.os, obj)
		var matches []string
		pl := p.paths[obj]
		switch {
		case pl != nil && pl.kind == kindFile && !pl.created:
			p.plan.Warnings = append(p.plan.Warnings, fmt.Sprintf("%s: object %s is a retained file, not installed by this deployment; its permissions are left alone", field, host))
			continue
		case pl != nil && pl.kind == kindFile:
			if perm.Pattern != "**" || len(perm.Except) > 0 {
				p.fail(field+".pattern", host, ErrPermission, "object %s is a file, so pattern must be ** and except empty; set object to its folder to select files by pattern", host)
				continue
			}
			if hasDefaultACL(perm.ACLs) {
				p.fail(field+".acls", host, ErrPermission, "object %s is a file, which cannot take default ACL entries (d:...); remove them or set object to a folder", host)
				continue
			}
			if contains(perm.Type, "file") {
				matches = []string{obj}
			}
		case pl != nil && pl.kind == kindDir, p.existingDir(obj):
			matches = p.match(obj, perm)
		default:
			p.plan.Warnings = append(p.plan.Warnings, fmt.Sprintf("%s: object %s is not installed by this deployment; the entry applies to nothing", field, host))
			continue
		}
		for _, m := range matches {
			mh := renderHost(p.os, m)
			if prevField, dup := setBy[m]; dup {
				p.fail(field, mh, ErrPermission, "%s gets permissions from both %s and %s; narrow one of them with pattern or except", mh, prevField, field)
				continue
			}
			setBy[m] = field
			p.steps(field, mh, p.paths[m].kind == kindDir, perm)
		}
	}
}

func (p *planner) existingDir(c string) bool {
	if p.paths[c] != nil {
		return false
	}
	fi, ok := p.stat(c, true)
	return ok && fi.IsDir()
}

// match selects the created paths below folder obj that perm applies to.
func (p *planner) match(obj string, perm Permission) []string {
	prefix := obj
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	var out []string
	for _, c := range p.order {
		pl := p.paths[c]
		if pl.kind == kindLink || !strings.HasPrefix(c, prefix) {
			continue
		}
		rel := c[len(prefix):]
		if perm.Pattern != "**" {
			if strings.Contains(rel, "/") {
				continue
			}
			if ok, _ := path.Match(perm.Pattern, rel); !ok {
				continue
			}
		}
		if excluded(rel, perm.Except) {
			continue
		}
		if (pl.kind == kindFile && !contains(perm.Type, "file")) || (pl.kind == kindDir && !contains(perm.Type, "directory")) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// excluded reports whether an except glob matches rel or its base name.
func excluded(rel string, except []string) bool {
	base := path.Base(rel)
	for _, e := range except {
		if ok, _ := path.Match(e, base); ok {
			return true
		}
		if ok, _ := path.Match(e, rel); ok {
			return true
		}
	}
	return false
}

func hasDefaultACL(acls []string) bool {
	for _, a := range acls {
		if e, err := ParseACL(a); err == nil && e.Default {
			return true
		}
	}
	return false
}

// steps appends the steps of perm for one path, in application order.
func (p *planner) steps(field, host string, isDir bool, perm Permission) {
	base := PermissionStep{Path: host, Field: field, IsDir: isDir}
	if perm.Mode != "" {
		m, err := ParseMode(perm.Mode)
		if err != nil {
			p.fail(field+".mode", host, ErrPermission, "%v", err)
			return
		}
		s := base
		s.Kind, s.Mode = StepMode, m
		p.plan.Permissions = append(p.plan.Permissions, s)
	}
	var acl []ACLEntry
	for _, a := range perm.ACLs {
		e, err := ParseACL(a)
		if err != nil {
			p.fail(field+".acls", host, ErrPermission, "acl entry %s: %v", quote(a), err)
			return
		}
		if e.Default && !isDir {
			continue
		}
		acl = append(acl, e)
	}
	if len(acl) > 0 {
		s := base
		s.Kind, s.ACL = StepACL, acl
		p.plan.Permissions = append(p.plan.Permissions, s)
	}
	if perm.Context != nil {
		s := base
		c := *perm.Context
		s.Kind, s.Context = StepSELinux, &c
		p.plan.Permissions = append(p.plan.Permissions, s)
	}
	if perm.Owner != "" || perm.Group != "" {
		s := base
		s.Kind, s.Owner, s.Group = StepOwner, perm.Owner, perm.Group
		p.plan.Permissions = append(p.plan.Permissions, s)
	}
}

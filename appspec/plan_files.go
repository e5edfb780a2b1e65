package appspec

import (
	"errors"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// files plans one files entry.
func (p *planner) files(field string, f FileMapping) {
	src, ok := BundlePath(p.os, f.Source)
	if !ok {
		p.fail(field+".source", "", ErrSourceMissing, "source %s leaves the bundle", quote(f.Source))
		return
	}
	vol, rest, ok := splitHost(p.os, f.Destination)
	if !ok {
		p.fail(field+".destination", "", ErrConflict, "destination %s is not an absolute path", quote(f.Destination))
		return
	}
	dest := vol + rest
	fi, err := fs.Lstat(p.in.Bundle, fsName(src))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			p.fail(field+".source", "", ErrSourceMissing, "source %s is not in the bundle; write a path that exists relative to the bundle root", quote(f.Source))
		} else {
			p.fatalErr = err
		}
		return
	}
	if fi.IsDir() {
		p.ancestors(field, dest)
		p.dir(field, dest, fi.Mode().Perm())
		p.walk(field, src, dest)
		return
	}
	target := p.join(dest, path.Base(src))
	p.ancestors(field, target)
	p.entry(field, src, target, fi)
}

func (p *planner) isRoot(c string) bool {
	_, rest := p.splitCanon(c)
	return rest == "/"
}

// ancestors plans the creation of the missing folders above c, outermost
// first. The volume root is never created.
func (p *planner) ancestors(field, c string) {
	var missing []string
	for cur, ok := p.parent(c); ok && !p.isRoot(cur); cur, ok = p.parent(cur) {
		if pl := p.paths[cur]; pl != nil {
			if pl.kind != kindDir {
				p.fail(field, renderHost(p.os, cur), ErrConflict, "%s writes below %s, which %s installs as a file; change one destination", field, renderHost(p.os, cur), pl.field)
				return
			}
			break
		}
		if fi, exists := p.stat(cur, true); exists {
			if !fi.IsDir() {
				p.fail(field, renderHost(p.os, cur), ErrConflict, "%s exists on the host and is not a folder, so nothing can be installed below it; remove it or change destination", renderHost(p.os, cur))
				return
			}
			break
		}
		missing = append(missing, cur)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		p.mkdir(field, missing[i], 0o755)
	}
}

// dir makes sure folder c exists after the install, planning a Mkdir when
// it does not exist yet.
func (p *planner) dir(field, c string, mode fs.FileMode) {
	if pl := p.paths[c]; pl != nil {
		if pl.kind != kindDir {
			p.fail(field, renderHost(p.os, c), ErrConflict, "%s and %s both write %s, one as a folder and one as a file; change one destination", pl.field, field, renderHost(p.os, c))
		}
		return
	}
	if fi, exists := p.stat(c, true); exists {
		if fi.IsDir() {
			p.paths[c] = &planned{kind: kindDir, field: field}
			return
		}
		p.fail(field, renderHost(p.os, c), ErrConflict, "%s exists on the host and is not a folder, but %s installs a folder there; remove it or change destination", renderHost(p.os, c), field)
		return
	}
	p.mkdir(field, c, mode)
}

func (p *planner) mkdir(field, c string, mode fs.FileMode) {
	p.paths[c] = &planned{kind: kindDir, field: field, created: true}
	p.order = append(p.order, c)
	p.plan.Mkdirs = append(p.plan.Mkdirs, Mkdir{Path: renderHost(p.os, c), Mode: mode})
}

// walk plans the contents of bundle folder src into host folder dest, in
// name order.
func (p *planner) walk(field, src, dest string) {
	entries, err := fs.ReadDir(p.in.Bundle, fsName(src))
	if err != nil {
		p.fatalErr = err
		return
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		if p.fatalErr != nil {
			return
		}
		s, d := path.Join(src, e.Name()), p.join(dest, e.Name())
		fi, err := e.Info()
		if err != nil {
			p.fatalErr = err
			return
		}
		if fi.IsDir() {
			p.dir(field, d, fi.Mode().Perm())
			p.walk(field, s, d)
			continue
		}
		p.entry(field, s, d, fi)
	}
}

const keptModeBits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

// entry plans the copy of one file or symlink, applying
// file_exists_behavior when the destination already holds something the
// previous install did not create.
func (p *planner) entry(field, src, c string, fi fs.FileInfo) {
	host := renderHost(p.os, c)
	if strings.ContainsAny(src, "\n\r") {
		p.fail(field, host, ErrConflict, "bundle entry %q has a line break in its name, which the cleanup record cannot hold; rename it", src)
		return
	}
	cp := Copy{Source: src, Destination: host, Mode: fi.Mode() & keptModeBits, Field: field}
	kind := kindFile
	switch {
	case fi.Mode().IsRegular():
		cp.Kind = CopyFile
	case fi.Mode()&fs.ModeSymlink != 0:
		kind, cp.Kind = kindLink, CopySymlink
		target, err := fs.ReadLink(p.in.Bundle, src)
		if err != nil {
			p.fatalErr = err
			return
		}
		cp.LinkTarget, cp.Mode = target, 0
	default:
		p.fail(field, host, ErrConflict, "bundle entry %s is not a file, folder or symlink; remove it from the bundle", src)
		return
	}
	if pl := p.paths[c]; pl != nil {
		p.fail(field, host, ErrConflict, "%s and %s both write %s; change one destination", pl.field, field, host)
		return
	}
	if existing, exists := p.stat(c, false); exists {
		b := p.in.Spec.ExistsBehavior()
		switch b {
		case Retain:
			p.plan.Decisions = append(p.plan.Decisions, Decision{Path: host, Behavior: b, Action: ActionRetain})
			p.paths[c] = &planned{kind: kind, field: field}
			return
		case Overwrite:
			if existing.IsDir() {
				p.fail(field, host, ErrConflict, "a folder exists at %s and OVERWRITE replaces only files; remove the folder or change destination", host)
				return
			}
			cp.Overwrite = true
			p.plan.Decisions = append(p.plan.Decisions, Decision{Path: host, Behavior: b, Action: ActionOverwrite})
		default:
			p.fail(field, host, ErrFileExists, "%s already exists and the previous install of this deployment group did not create it; remove it, or set file_exists_behavior: OVERWRITE or RETAIN", host)
			return
		}
	}
	p.paths[c] = &planned{kind: kind, field: field, created: true}
	p.order = append(p.order, c)
	p.plan.Copies = append(p.plan.Copies, cp)
}

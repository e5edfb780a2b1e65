package appspec

import (
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

func permBundle() fstest.MapFS {
	return fstest.MapFS{
		"bin":            {Mode: fs.ModeDir | 0o755},
		"bin/start.sh":   {Data: []byte("x"), Mode: 0o644},
		"bin/stop.sh":    {Data: []byte("x"), Mode: 0o644},
		"bin/tool":       {Data: []byte("x"), Mode: 0o644},
		"bin/link.sh":    {Data: []byte("start.sh"), Mode: fs.ModeSymlink | 0o777},
		"lib":            {Mode: fs.ModeDir | 0o755},
		"lib/deep":       {Mode: fs.ModeDir | 0o755},
		"lib/deep/x.sh":  {Data: []byte("x"), Mode: 0o644},
		"lib/deep/a.log": {Data: []byte("x"), Mode: 0o644},
		"top.sh":         {Data: []byte("x"), Mode: 0o644},
	}
}

// planPerms plans the bundle into /opt/app and returns each path's step
// kinds as "path:kind" strings, in order.
func planPerms(t *testing.T, perms string) ([]string, *InstallPlan, error) {
	t.Helper()
	s := mustSpec(t, linuxHead+"files:\n  - source: /\n    destination: /opt/app\npermissions:\n"+perms)
	p, err := Plan(PlanInput{Spec: s, Bundle: permBundle(), Destination: host(nil)})
	if err != nil {
		return nil, nil, err
	}
	var out []string
	for _, st := range p.Permissions {
		out = append(out, strings.TrimPrefix(st.Path, "/opt/app/")+":"+string(st.Kind))
	}
	return out, p, nil
}

func TestPlanPermissionMatching(t *testing.T) {
	cases := []struct {
		name, perms string
		want        []string
	}{
		{"** matches everything below, not the object", "  - object: /opt/app\n    mode: \"640\"\n",
			[]string{"bin:mode", "bin/start.sh:mode", "bin/stop.sh:mode", "bin/tool:mode", "lib:mode", "lib/deep:mode", "lib/deep/a.log:mode", "lib/deep/x.sh:mode", "top.sh:mode"}},
		{"*.sh matches immediate children only", "  - object: /opt/app\n    pattern: \"*.sh\"\n    mode: \"755\"\n",
			[]string{"top.sh:mode"}},
		{"*.sh below bin, symlink skipped", "  - object: /opt/app/bin\n    pattern: \"*.sh\"\n    mode: \"755\"\n",
			[]string{"bin/start.sh:mode", "bin/stop.sh:mode"}},
		{"except by name", "  - object: /opt/app/bin\n    except: [stop.sh, \"t*\"]\n    mode: \"755\"\n",
			[]string{"bin/start.sh:mode"}},
		{"except with ** applies at any depth", "  - object: /opt/app/lib\n    except: [\"*.log\"]\n    owner: app\n",
			[]string{"lib/deep:owner", "lib/deep/x.sh:owner"}},
		{"type directory", "  - object: /opt/app\n    type: [directory]\n    owner: app\n",
			[]string{"bin:owner", "lib:owner", "lib/deep:owner"}},
		{"type file", "  - object: /opt/app/lib\n    type: [file]\n    group: web\n",
			[]string{"lib/deep/a.log:owner", "lib/deep/x.sh:owner"}},
		{"file object", "  - object: /opt/app/top.sh\n    mode: \"700\"\n",
			[]string{"top.sh:mode"}},
		{"step order mode, acl, selinux, owner", "  - object: /opt/app/top.sh\n    owner: app\n    context: {type: bin_t}\n    acls: [u:deploy:rwx]\n    mode: \"700\"\n",
			[]string{"top.sh:mode", "top.sh:acl", "top.sh:selinux", "top.sh:owner"}},
		{"two entries on different paths", "  - object: /opt/app/bin\n    pattern: \"*.sh\"\n    mode: \"755\"\n  - object: /opt/app/bin/tool\n    mode: \"700\"\n",
			[]string{"bin/start.sh:mode", "bin/stop.sh:mode", "bin/tool:mode"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _, err := planPerms(t, c.perms)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("steps = %v\nwant %v", got, c.want)
			}
		})
	}
}

func TestPlanPermissionValues(t *testing.T) {
	_, p, err := planPerms(t, "  - object: /opt/app/lib\n    mode: \"4750\"\n    acls: [\"d:u:deploy:rw\", \"g:web:5\"]\n    owner: app\n    group: web\n    type: [directory, file]\n")
	if err != nil {
		t.Fatal(err)
	}
	var dirACL, fileACL []ACLEntry
	for _, st := range p.Permissions {
		switch {
		case st.Kind == StepMode && st.Mode != 0o750|fs.ModeSetuid:
			t.Errorf("mode = %v", st.Mode)
		case st.Kind == StepOwner && (st.Owner != "app" || st.Group != "web"):
			t.Errorf("owner step = %+v", st)
		case st.Kind == StepACL && st.Path == "/opt/app/lib/deep":
			dirACL = st.ACL
		case st.Kind == StepACL && st.Path == "/opt/app/lib/deep/x.sh":
			fileACL = st.ACL
		}
	}
	if len(dirACL) != 2 || !dirACL[0].Default {
		t.Errorf("folder ACL = %v, want default and access entries", dirACL)
	}
	if len(fileACL) != 1 || fileACL[0].String() != "group:web:r-x" {
		t.Errorf("file ACL = %v, want only the access entry", fileACL)
	}
}

func TestPlanPermissionErrors(t *testing.T) {
	cases := []struct {
		name, perms, want string
	}{
		{"same path twice", "  - object: /opt/app/bin\n    mode: \"755\"\n  - object: /opt/app\n    pattern: bin\n    owner: x\n  - object: /opt/app/bin/tool\n    mode: \"700\"\n",
			"/opt/app/bin/tool gets permissions from both permissions[0] and permissions[2]"},
		{"file object with pattern", "  - object: /opt/app/top.sh\n    pattern: \"*.sh\"\n    mode: \"755\"\n", "is a file, so pattern must be **"},
		{"file object with except", "  - object: /opt/app/top.sh\n    except: [x]\n    mode: \"755\"\n", "is a file, so pattern must be **"},
		{"default acl on file", "  - object: /opt/app/top.sh\n    acls: [\"d:u:deploy:rw\"]\n", "cannot take default ACL entries"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := planPerms(t, c.perms)
			if !errors.Is(err, ErrPermission) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want ErrPermission containing %q", err, c.want)
			}
		})
	}
}

func TestPlanPermissionCandidates(t *testing.T) {
	// /opt exists before the install; only paths created below it match.
	_, p, err := planPerms(t, "  - object: /opt\n    type: [directory]\n    owner: app\n  - object: /nowhere\n    owner: app\n")
	if err != nil {
		t.Fatal(err)
	}
	if p.Permissions[0].Path != "/opt/app" {
		t.Errorf("first match = %s, want /opt/app (created), not /opt", p.Permissions[0].Path)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "/nowhere") {
		t.Errorf("warnings = %v", p.Warnings)
	}
	// A retained file is not installed, so it gets no permissions.
	s := mustSpec(t, linuxHead+"file_exists_behavior: RETAIN\nfiles:\n  - source: top.sh\n    destination: /opt\npermissions:\n  - object: /opt/top.sh\n    mode: \"755\"\n  - object: /opt\n    mode: \"700\"\n")
	p, err = Plan(PlanInput{Spec: s, Bundle: permBundle(), Destination: host(map[string]string{"/opt/top.sh": "file"})})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Permissions) != 0 || len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "retained") {
		t.Errorf("permissions %v warnings %v", p.Permissions, p.Warnings)
	}
}

package state

import (
	"regexp"
	"time"

	"github.com/slipwayhq/slipway/server/core/fault"
)

var bucketApps = []byte("apps")

// App is an application record.
type App struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	CreateTime  time.Time `json:"create_time"`
	CreateIndex uint64    `json:"create_index"`
	ModifyIndex uint64    `json:"modify_index"`
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)

// MaxNameLen bounds resource names.
const MaxNameLen = 100

// ValidateName checks a resource name: 1-100 characters of [A-Za-z0-9._-], not "." or "..".
// The character set keeps names safe in paths, URLs, logs and terminals: no separators, no
// spaces, no control characters. A refused name is echoed shortened (Shorten).
func ValidateName(kind, name string) error {
	if len(name) > MaxNameLen {
		return fault.New(fault.Invalid, "%s name %s is too long: use 1-100 characters of A-Z a-z 0-9 . _ -", kind, Shorten(name))
	}
	if !nameRE.MatchString(name) {
		if name == "" {
			return fault.New(fault.Invalid, "%s name is empty: give 1-100 characters of A-Z a-z 0-9 . _ -", kind)
		}
		return fault.New(fault.Invalid, "%s name %s is invalid: use 1-100 characters of A-Z a-z 0-9 . _ -", kind, Shorten(name))
	}
	if name == "." || name == ".." {
		return fault.New(fault.Invalid, "%s name %q is reserved: choose another", kind, name)
	}
	return nil
}

// CreateApp stores a new application; an existing name is a conflict.
func (t *Tx) CreateApp(a App) error {
	if err := ValidateName("application", a.Name); err != nil {
		return err
	}
	if len(a.Description) > MaxDescriptionLen {
		return fault.New(fault.Invalid, "description is %d bytes; the limit is %d", len(a.Description), MaxDescriptionLen)
	}
	if t.tx.Bucket(bucketApps).Get([]byte(a.Name)) != nil {
		return fault.New(fault.Conflict, "application %q already exists: choose another name or delete it first", a.Name)
	}
	return t.put(bucketApps, []byte(a.Name), a)
}

// UpdateApp sets an application's description and its ModifyIndex to index. When cas is not
// zero the update is conditional: it applies only if the stored ModifyIndex equals cas, and is a
// conflict otherwise, which names the index the caller should read again.
func (t *Tx) UpdateApp(name, description string, cas, index uint64) (App, error) {
	if len(description) > MaxDescriptionLen {
		return App{}, fault.New(fault.Invalid, "description is %d bytes; the limit is %d", len(description), MaxDescriptionLen)
	}
	a, err := t.GetApp(name)
	if err != nil {
		return App{}, err
	}
	if cas != 0 && a.ModifyIndex != cas {
		return App{}, fault.New(fault.Conflict,
			"application %q was modified at index %d, not %d as the request requires: read it again and retry", name, a.ModifyIndex, cas)
	}
	a.Description, a.ModifyIndex = description, index
	return a, t.put(bucketApps, []byte(name), a)
}

// GetApp returns one application.
func (t *Tx) GetApp(name string) (App, error) {
	var a App
	ok, err := t.get(bucketApps, []byte(name), &a)
	if err != nil {
		return a, err
	}
	if !ok {
		return a, fault.New(fault.NotFound, "application %q not found", name)
	}
	return a, nil
}

// DeleteApp removes an application; a missing one is not found.
func (t *Tx) DeleteApp(name string) error {
	b := t.tx.Bucket(bucketApps)
	if b.Get([]byte(name)) == nil {
		return fault.New(fault.NotFound, "application %q not found", name)
	}
	return b.Delete([]byte(name))
}

// ListApps returns applications in name order, a page at a time.
func (t *Tx) ListApps(after string, limit int) ([]App, string, error) {
	return list[App](t, bucketApps, after, limit, nil)
}

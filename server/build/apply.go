package build

import (
	"bytes"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// applyProjectCreate creates a project; a name in use and a cluster at MaxProjects are
// conflicts. It answers the project as created.
func applyProjectCreate(tx *state.Tx, index uint64, c *command.Command, p ProjectCreatePayload) (any, error) {
	s := p.Settings.withDefaults()
	if err := s.validate(); err != nil {
		return nil, err
	}
	if _, ok, err := getProject(tx, s.Name); err != nil || ok {
		if err == nil {
			err = fault.New(fault.Conflict, "build project %s already exists: update it, or choose another name", s.Name)
		}
		return nil, err
	}
	if n := meta(tx, metaProjects); n >= MaxProjects {
		return nil, fault.New(fault.Conflict, "the cluster already has its maximum of %d build projects: delete projects that are no longer needed first", MaxProjects)
	}
	pr := Project{Settings: s, CreatedBy: p.Actor, CreateIndex: index, ModifyIndex: index, CreateTime: c.Time, ModifyTime: c.Time}
	if err := state.Put(tx, bucketProjects, s.Name, pr); err != nil {
		return nil, err
	}
	if err := putCounters(tx, s.Name, Counters{}); err != nil {
		return nil, err
	}
	return pr, addMeta(tx, metaProjects, 1)
}

// applyProjectUpdate replaces the fields the payload sets; the result must be valid.
func applyProjectUpdate(tx *state.Tx, index uint64, c *command.Command, p ProjectUpdatePayload) (any, error) {
	pr, err := mustProject(tx, p.Name)
	if err != nil {
		return nil, err
	}
	s := &pr.Settings
	set(&s.Description, p.Description)
	set(&s.Source, p.Source)
	set(&s.SourceVersion, p.SourceVersion)
	set(&s.Environment, p.Environment)
	set(&s.TimeoutMinutes, p.TimeoutMinutes)
	set(&s.QueuedTimeoutMinutes, p.QueuedTimeoutMinutes)
	set(&s.ConcurrentBuildLimit, p.ConcurrentBuildLimit)
	set(&s.Artifacts, p.Artifacts)
	set(&s.Cache, p.Cache)
	set(&s.ServiceRole, p.ServiceRole)
	pr.Settings = s.withDefaults()
	if err := pr.validate(); err != nil {
		return nil, err
	}
	pr.ModifyIndex, pr.ModifyTime = index, c.Time
	return pr, state.Put(tx, bucketProjects, pr.Name, pr)
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// applyProjectDelete deletes a project and its builds' records. A project with builds queued or
// in progress is a conflict: their workers and the queue still need the records.
func applyProjectDelete(tx *state.Tx, _ uint64, _ *command.Command, p ProjectDeletePayload) (any, error) {
	if _, err := mustProject(tx, p.Name); err != nil {
		return nil, err
	}
	cnt, err := getCounters(tx, p.Name)
	if err != nil {
		return nil, err
	}
	if cnt.Queued+cnt.Running > 0 {
		return nil, fault.New(fault.Conflict, "build project %s has %d builds queued or in progress: stop them ('slipway build stop ID') and delete it once they ended", p.Name, cnt.Queued+cnt.Running)
	}
	prefix := append([]byte(p.Name), 0)
	var ids []string
	cur := tx.Bucket(bucketByProject).Cursor()
	for k, v := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
		ids = append(ids, string(v))
	}
	for _, id := range ids {
		b, ok, err := getBuild(tx, id)
		if err != nil {
			return nil, err
		}
		if ok {
			if err := removeBuild(tx, b); err != nil {
				return nil, err
			}
		}
	}
	if err := deleteProjectBatches(tx, p.Name); err != nil {
		return nil, err
	}
	if err := state.Delete(tx, bucketProjects, p.Name); err != nil {
		return nil, err
	}
	if err := state.Delete(tx, bucketCounters, p.Name); err != nil {
		return nil, err
	}
	return nil, addMeta(tx, metaProjects, -1)
}

// applyStart records a build QUEUED with the project's next number, SUBMITTED done and QUEUED
// begun at the command's time, then applies the retention. A full queue (the project's or the
// cluster's) is a conflict that says to wait or stop builds.
func applyStart(tx *state.Tx, index uint64, c *command.Command, p StartPayload) (any, error) {
	project, _, err := SplitID(p.ID)
	if err != nil {
		return nil, err
	}
	if project != p.Project {
		return nil, fault.New(fault.Invalid, "build ID %s is not of project %s", state.Shorten(p.ID), state.Shorten(p.Project))
	}
	pr, err := mustProject(tx, p.Project)
	if err != nil {
		return nil, err
	}
	if pr.CreateIndex != p.ProjectCreateIndex {
		return nil, fault.New(fault.Conflict, "build project %s was deleted and created again while the build started: start it again", p.Project)
	}
	if _, ok, err := getBuild(tx, p.ID); err != nil || ok {
		if err == nil {
			err = fault.New(fault.Conflict, "build %s already exists", p.ID)
		}
		return nil, err
	}
	if err := checkStart(p); err != nil {
		return nil, err
	}
	cnt, err := getCounters(tx, p.Project)
	if err != nil {
		return nil, err
	}
	if cnt.Queued >= MaxQueuedPerProject {
		return nil, fault.New(fault.Conflict, "build project %s already has %d builds queued, its maximum: wait for them to start, or stop some", p.Project, cnt.Queued)
	}
	if n := meta(tx, metaQueued); n >= MaxQueued {
		return nil, fault.New(fault.Conflict, "the cluster already has %d builds queued, its maximum: wait for builds to start, or stop some", n)
	}
	b := Build{
		ID: p.ID, Project: p.Project, Number: cnt.LastNumber + 1, Status: pub.BuildQueued, Initiator: p.Initiator,
		SourceVersion: p.SourceVersion, ResolvedSourceVersion: p.ResolvedSourceVersion, Source: p.Source,
		Environment: p.Environment, TimeoutMinutes: p.TimeoutMinutes, QueuedTimeoutMinutes: p.QueuedTimeoutMinutes,
		ServiceRole: p.ServiceRole, SourceArtifact: p.SourceArtifact, Start: c.Time, Index: index, ModifyIndex: index,
	}
	if a := p.SourceArtifact; a != nil { // the blob stays while the build's record does
		if _, err := tx.Blobs().Get(a.SHA256); err != nil {
			return nil, err
		}
		if err := tx.Blobs().AddRef(a.SHA256, blobOwner(b.ID)); err != nil {
			return nil, err
		}
	}
	at := c.Time
	b.Phases = []Phase{{Name: PhaseSubmitted, Status: pub.BuildSucceeded, Start: at, End: &at}, {Name: PhaseQueued, Start: at}}
	if err := insertBuild(tx, b); err != nil {
		return nil, err
	}
	cnt.LastNumber, cnt.Builds, cnt.Queued = b.Number, cnt.Builds+1, cnt.Queued+1
	if err := putCounters(tx, p.Project, cnt); err != nil {
		return nil, err
	}
	if err := addMeta(tx, metaQueued, 1); err != nil {
		return nil, err
	}
	return b, retain(tx, p.Project)
}

// checkStart checks a start's settings as a project's are checked.
func checkStart(p StartPayload) error {
	if err := p.Source.validate(); err != nil {
		return err
	}
	if err := checkVersion(p.SourceVersion); err != nil {
		return err
	}
	if p.SourceArtifact != nil {
		if err := p.SourceArtifact.validate(); err != nil {
			return err
		}
		if p.SourceVersion != "" || p.ResolvedSourceVersion != p.SourceArtifact.Commit {
			return fault.New(fault.Invalid, "a build from a source artifact has no source version but the artifact's commit")
		}
	} else if p.Source.Type == pub.SourceSlipwayRepo && !commitRe.MatchString(p.ResolvedSourceVersion) {
		return fault.New(fault.Invalid, "resolved source version %q is not a commit ID", state.Shorten(p.ResolvedSourceVersion))
	}
	if err := p.Environment.validate(); err != nil {
		return err
	}
	if err := checkTimeouts(p.TimeoutMinutes, p.QueuedTimeoutMinutes); err != nil {
		return err
	}
	if p.ServiceRole != "" {
		if err := state.ValidateName("service role", p.ServiceRole); err != nil {
			return err
		}
	}
	if len(p.Initiator) > 255 {
		return fault.New(fault.Invalid, "initiator is over 255 bytes")
	}
	return nil
}

// retain deletes the oldest ended builds while the project keeps more than KeepPerProject
// records or the cluster more than KeepTotal. Builds queued or in progress are never deleted;
// there are at most MaxQueued of the first, so the scans that skip them are bounded.
func retain(tx *state.Tx, project string) error {
	cnt, err := getCounters(tx, project)
	if err != nil {
		return err
	}
	if cnt.Builds > KeepPerProject {
		prefix := append([]byte(project), 0)
		if err := dropOldest(tx, prefix, cnt.Builds-KeepPerProject); err != nil {
			return err
		}
	}
	if n := int(meta(tx, metaBuilds)); n > KeepTotal {
		return dropOldest(tx, nil, n-KeepTotal)
	}
	return nil
}

// dropOldest deletes up to n ended builds, oldest first: of a project (prefix in by-project)
// or of the cluster (prefix nil: the history).
func dropOldest(tx *state.Tx, prefix []byte, n int) error {
	bucket := bucketHistory
	if prefix != nil {
		bucket = bucketByProject
	}
	var drop []Build
	cur := tx.Bucket(bucket).Cursor()
	for k, v := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(drop) < n; k, v = cur.Next() {
		b, ok, err := getBuild(tx, string(v))
		if err != nil {
			return err
		}
		if ok && b.Ended() {
			drop = append(drop, b)
		}
	}
	for _, b := range drop {
		if err := removeBuild(tx, b); err != nil {
			return err
		}
	}
	return nil
}

// applyStop stops a build: a queued one is STOPPED now (its QUEUED phase STOPPED); one in
// progress is marked stop_requested for its worker; one that ended is answered as it is.
func applyStop(tx *state.Tx, index uint64, c *command.Command, p StopPayload) (any, error) {
	b, err := mustBuild(tx, p.ID)
	if err != nil {
		return nil, err
	}
	switch b.Status {
	case pub.BuildQueued:
		msg := "stopped while queued"
		if p.Actor != "" {
			msg = "stopped by " + p.Actor + " while queued"
		}
		b.Waiting = false // a batch's child waiting for others ends too
		b.end(c.Time, pub.BuildStopped, pub.BuildStopped, msg)
		if err := dequeue(tx, b); err != nil {
			return nil, err
		}
		if err := finished(tx, b); err != nil {
			return nil, err
		}
	case pub.BuildInProgress:
		if b.StopRequested {
			return b, nil
		}
		b.StopRequested = true
	default:
		return b, nil
	}
	b.ModifyIndex = index
	return b, state.Put(tx, bucketBuilds, b.ID, b)
}

// applyQueueTimeout ends a build still queued past its queued timeout TIMED_OUT, as CodeBuild
// does (build status TIMED_OUT, QUEUED phase TIMED_OUT). A build no longer queued, or not yet
// past its deadline at the command's time, is left as it is.
func applyQueueTimeout(tx *state.Tx, index uint64, c *command.Command, p QueueTimeoutPayload) (any, error) {
	b, ok, err := getBuild(tx, p.ID)
	if err != nil || !ok || b.Status != pub.BuildQueued || c.Time.Before(b.QueuedDeadline()) {
		return nil, err
	}
	b.end(c.Time, pub.BuildTimedOut, pub.BuildTimedOut, "the build was queued for longer than its queued timeout of "+plural(b.QueuedTimeoutMinutes, "minute"))
	if err := dequeue(tx, b); err != nil {
		return nil, err
	}
	if err := finished(tx, b); err != nil {
		return nil, err
	}
	b.ModifyIndex = index
	return b, state.Put(tx, bucketBuilds, b.ID, b)
}

// dequeue takes a build that leaves QUEUED out of the queue and its counts.
func dequeue(tx *state.Tx, b Build) error {
	if err := tx.Bucket(bucketQueue).Delete(u64(b.Index)); err != nil {
		return err
	}
	cnt, err := getCounters(tx, b.Project)
	if err != nil {
		return err
	}
	if cnt.Queued > 0 {
		cnt.Queued--
	}
	if err := putCounters(tx, b.Project, cnt); err != nil {
		return err
	}
	return addMeta(tx, metaQueued, -1)
}

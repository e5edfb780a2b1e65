package lifecycle

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Folder names under Config.Root. The layout is CodeDeploy's, which operators already know:
//
//	<root>/<group-id>/<deployment-id>/bundle                    the downloaded archive
//	<root>/<group-id>/<deployment-id>/deployment-archive/       the unpacked bundle
//	<root>/<group-id>/<deployment-id>/logs/scripts.log          every script's output
//	<root>/<group-id>/<deployment-id>/deployment.json           when the deployment started
//	<root>/deployment-instructions/<group-id>_last_successful_install   deployment folder path
//	<root>/deployment-instructions/<group-id>_most_recent_install       deployment folder path
//	<root>/deployment-instructions/<group-id>-install.json              the executed install plan
//	<root>/deployment-instructions/<group-id>-cleanup                   paths the install created
//	<root>/ongoing-deployment/<deployment-id>                   in-flight marker (event, script)
//	<root>/deployment-results/<deployment-id>                   how a finished deployment ended
const (
	instructionsDir = "deployment-instructions"
	ongoingDir      = "ongoing-deployment"
	resultsDir      = "deployment-results"
	bundleName      = "bundle"
	archiveName     = "deployment-archive"
	logsName        = "logs"
	scriptsLogName  = "scripts.log"
	infoName        = "deployment.json"
)

// errBadID is returned for an ID that cannot name a folder.
var errBadID = errors.New("not usable as a folder name")

// checkID makes sure an ID from the server is one path component.
// Group IDs also may not take the names of the agent's own folders under the root.
func checkID(kind, id string, group bool) error {
	if id == "" || id == "." || id == ".." || len(id) > 200 || strings.HasPrefix(id, ".") ||
		strings.ContainsAny(id, "/\\\x00\n\r") ||
		(group && (strings.HasPrefix(id, "deployment-") || id == ongoingDir)) {
		return fmt.Errorf("%s %q: %w", kind, id, errBadID)
	}
	return nil
}

func (r *Runner) groupDir(groupID string) string { return filepath.Join(r.cfg.Root, groupID) }

func (r *Runner) deploymentDir(groupID, deploymentID string) string {
	return filepath.Join(r.cfg.Root, groupID, deploymentID)
}

func (r *Runner) instruction(groupID, suffix string) string {
	return filepath.Join(r.cfg.Root, instructionsDir, groupID+suffix)
}

func (r *Runner) lastSuccessfulFile(groupID string) string {
	return r.instruction(groupID, "_last_successful_install")
}

func (r *Runner) mostRecentFile(groupID string) string {
	return r.instruction(groupID, "_most_recent_install")
}

func (r *Runner) installRecordFile(groupID string) string {
	return r.instruction(groupID, "-install.json")
}

func (r *Runner) cleanupFile(groupID string) string { return r.instruction(groupID, "-cleanup") }

func (r *Runner) markerFile(deploymentID string) string {
	return filepath.Join(r.cfg.Root, ongoingDir, deploymentID)
}

func (r *Runner) resultFile(deploymentID string) string {
	return filepath.Join(r.cfg.Root, resultsDir, deploymentID)
}

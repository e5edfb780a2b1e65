// Package lifecycle runs an in-place deployment on this host: the AppSpec lifecycle of one
// revision for one deployment group, from the Run command to the DeploymentEnd report.
//
//	Run ──► ApplicationStop ──► DownloadBundle ──► BeforeInstall ──► Install ──► AfterInstall
//	          (previous rev.)                                           │
//	                                                      records: install, cleanup,
//	                                                      last successful install
//	    ──► ApplicationStart ──► ValidateService ──► DeploymentEnd
//
// The Runner walks appspec.Events, the one ordered table of events; each event is a small hook
// in its own file (hook.go lists them). Traffic events are reported skipped (no load balancer
// step yet). Each event is reported started and then succeeded or failed, each script's result
// is reported with its agentproto result code, and every output line goes to the Reporter and
// to the deployment's logs/scripts.log as it is read. The first failing event fails the
// deployment; nothing after it runs. Script side effects are never undone.
//
// Everything on disk is keyed by the deployment group ID (layout.go): two groups deploying to
// one host have separate folders and records, and ApplicationStop runs only scripts of the same
// group's last successful install. Deployments of one group run one at a time.
//
// # Crashes
//
// Before each event and each script the runner fsyncs an in-flight marker
// (<root>/ongoing-deployment/<deployment-id>) naming them. The deployment's result is recorded
// (<root>/deployment-results/<deployment-id>) before the marker is removed, so after kill -9
// Recover finds exactly the deployments that did not finish, reports the event that was running
// failed with agentproto.ResultAgentRestarted and the deployment failed; Done then knows them
// as finished, so a Run the server sends again is not run twice.
//
// # Retention
//
// After each deployment at most Config.MaxRevisions deployment folders of the group are kept,
// newest first; the group's last successful install is never deleted.
package lifecycle

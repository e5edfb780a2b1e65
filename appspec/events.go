package appspec

// Event describes one lifecycle event of an in-place deployment.
type Event struct {
	// Name is the event name as written under hooks in an AppSpec file.
	Name string
	// TakesScripts is false for events the agent runs itself (DownloadBundle,
	// Install, BlockTraffic, AllowTraffic); hooks listed under them are an error.
	TakesScripts bool
	// FromLastSuccessful is true when the event runs the scripts of the last
	// successful revision installed for the deployment group on the host (not
	// the revision being deployed). On a first deployment there is no such
	// revision and the event succeeds doing nothing.
	FromLastSuccessful bool
	// Traffic is true for the load-balancer events, which run only when the
	// deployment group has a load balancer step and are skipped otherwise.
	Traffic bool
}

// Events is the ordered lifecycle of an in-place deployment. It is the one
// table every other package (validator, agent, server) consults for event
// order and semantics; do not modify it.
var Events = []Event{
	{Name: "BeforeBlockTraffic", TakesScripts: true, FromLastSuccessful: true, Traffic: true},
	{Name: "BlockTraffic", Traffic: true},
	{Name: "AfterBlockTraffic", TakesScripts: true, FromLastSuccessful: true, Traffic: true},
	{Name: "ApplicationStop", TakesScripts: true, FromLastSuccessful: true},
	{Name: "DownloadBundle"},
	{Name: "BeforeInstall", TakesScripts: true},
	{Name: "Install"},
	{Name: "AfterInstall", TakesScripts: true},
	{Name: "ApplicationStart", TakesScripts: true},
	{Name: "ValidateService", TakesScripts: true},
	{Name: "BeforeAllowTraffic", TakesScripts: true, Traffic: true},
	{Name: "AllowTraffic", Traffic: true},
	{Name: "AfterAllowTraffic", TakesScripts: true, Traffic: true},
}

// LookupEvent returns the event with exactly this name (case-sensitive, as
// CodeDeploy matches it) and whether it exists.
func LookupEvent(name string) (Event, bool) {
	for _, e := range Events {
		if e.Name == name {
			return e, true
		}
	}
	return Event{}, false
}

// EventNames returns the event names in lifecycle order.
func EventNames() []string {
	names := make([]string, len(Events))
	for i, e := range Events {
		names[i] = e.Name
	}
	return names
}

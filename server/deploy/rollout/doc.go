// Package rollout decides, deterministically, how a deployment moves through a deployment group:
// which hosts to start next, when the deployment has failed and why, and what health and revision
// each host has afterwards. It implements the rules of a deployment to a group,
// which are CodeDeploy's (its deployment configurations and minimum healthy hosts).
//
// The package is pure: no I/O, clocks or randomness. The deployments service's rollout engine
// (server/deploy, rollout_apply.go) runs inside FSM apply on every node: it keeps the inputs (the
// Rollout fixed by Start, and each host's state) in the replicated state and calls Next in the
// apply of every command that changes them. Any node computing Next on the same inputs gets the
// same Decision, so every decision is part of a committed entry and a new leader has nothing to
// resume: the state already says where the rollout is.
//
// # Lifecycle
//
//	Start(cfg, target, hosts)   fixes the scheduling order and the minimum of healthy hosts
//	   │                        (ErrTooFewHealthy: the deployment fails at once)
//	   ▼
//	Next(states) ──► Decision{Start: ids}   engine marks them Running, dispatches them
//	   ▲                 │
//	   └─────────────────┘ host reports Succeeded / Failed, or the engine marks it Stopped
//	   Decision{Failing}   nothing more starts; wait for the Running hosts
//	   Decision{Done}      final result; Outcome(states, oldRevision) gives the group's new state
//
// # The arithmetic
//
// A host is "healthy" while it is in service: healthy at start (Healthy or HealthUnknown) and not
// yet touched, or Succeeded in this deployment. A Running host is out of service; a Failed or
// Stopped host is out of service for good. Hosts that were Unhealthy at start were never in service,
// so deploying them costs nothing. With N hosts in the deployment, H of them healthy at start, and a
// minimum M fixed at start:
//
//   - If M >= H the deployment fails at once (ErrTooFewHealthy), except M = 0, which needs no
//     host to stay in service.
//   - A healthy host is started only if healthy hosts stay >= M after it leaves service, so hosts
//     deployed at once = as many as possible without dropping below M (N - M when all are healthy).
//   - The deployment is failing as soon as it could not finish at or above M even if every Running
//     and pending host succeeded. With best = healthy + running + pending-unhealthy: best - 1 < M
//     while a healthy host is still to deploy (taking it out would break M), or best < M once none
//     is. It is also failing when no host can succeed any more (at least one host must succeed,
//     even with M = 0). Nothing starts while failing, and it is Done once no host is Running.
//   - Once every host has finished it succeeds if succeeded >= max(M, 1).
//
// Judging by the best case makes the verdict monotone, which a replicated engine needs: hosts
// finishing or being stopped never turn a failing deployment back into a running one. A healthy
// host the engine marks Stopped before its turn (its agent died) can leave healthy hosts below M
// for a moment; no healthy host starts until Running hosts bring them back, and if they cannot,
// the deployment is failing.
//
// A Stopped host is a Failed host in every count. The last-host exception is not a special case:
// when the last host is the only budget left (OneAtATime, HOST_COUNT N-1, or any config whose last
// batch fits the budget) taking it out is allowed, and its failure leaves exactly M healthy hosts,
// which is a success.
//
// # Built-in configurations
//
//	Name         Kind/Value          Minimum M                  At most in flight
//	OneAtATime   MOST_CONCURRENCY 1  H - 1 (all healthy but 1)  1
//	HalfAtATime  FLEET_PERCENT 50    ceil(N/2)                  (N - M = floor(N/2) when all healthy)
//	AllAtOnce    HOST_COUNT 0        0                          all
//
// OneAtATime is the default. As in CodeDeploy (which reports it as MOST_CONCURRENCY 1, a kind users
// cannot create), its minimum is relative to the healthy hosts at start rather than to N, so a
// group with an Unhealthy host can still be deployed with it: the Unhealthy hosts go first, one at
// a time, and do not use the budget. Like every minimum, M is fixed at start: a host that was
// Unhealthy and succeeds adds to the healthy hosts (and so to the budget), and one that fails again
// costs nothing. With no healthy host at all, M = 0 >= H = 0 and the deployment fails at once, as
// the rule says. For the spec's fleets (all hosts healthy):
//
//	N   OneAtATime               HalfAtATime                     AllAtOnce
//	1   M=0: the host must       M=1 >= H=1: fails at once       M=0: the host must succeed
//	    succeed                  (half of 1, rounded down, is 0)
//	2   M=1: 1 at a time; only   M=1: 1 at a time, 1 must        M=0: both at once, 1 must
//	    the 2nd may fail         succeed                         succeed
//	9   M=8: 1 at a time         M=5: 4 at a time, 5 must        M=0: 9 at once, 1 must
//	                             succeed                         succeed
//	10  M=9: 1 at a time         M=5: 5 at a time, 5 must        M=0: 10 at once, 1 must
//	                             succeed                         succeed
//
// Custom configurations are HOST_COUNT (M = value, >= 0) or FLEET_PERCENT (0-99, M = ceil(value% of
// N), rounded up at Start). With 9 healthy hosts, HOST_COUNT 6 deploys 3 at a time and needs 6
// successes; FLEET_PERCENT 40 needs 4 and deploys 5 at a time.
//
// # Scheduling order
//
// Unhealthy hosts first, then hosts with an unknown revision, then hosts on another revision, then
// hosts already on the target revision; within a group by health first and revision second, ties
// broken by host name and then ID. The order is fixed at Start and Next walks it strictly: it stops
// at the first pending host that does not fit rather than skipping ahead.
package rollout

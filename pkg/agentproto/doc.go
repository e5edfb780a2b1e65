// Package agentproto is the one contract between the control plane and slipway-agent. Both sides
// import it; it imports neither. Read this comment before changing either side.
//
// # Identity
//
// An operator issues a registration token (`slipway host token create`). On its first start
// the agent makes its own host ID (a UUID) and secret (32 random bytes), keeps them in its state
// folder (mode 0600) before it sends anything, and calls
//
//	POST /v1/agent/register   Authorization: Bearer <registration token>   body: Register
//
// The server stores the host with a hash of the secret and answers RegisterReply. Registering
// again with the same host ID and secret is idempotent (same host; tags an operator set or
// removed stay as they are, the others are updated); the same ID with another secret is refused
// (409), and so is the ID of a deleted host (409: the agent needs a fresh identity and a new
// token). The host gets the token's tags; an agent tag that contradicts one, or that none of the
// token's allowed patterns matches, is refused (403). An unknown, revoked, expired or used-up
// token is refused (401); fields out of bounds (host ID 1-64 of A-Z a-z 0-9 . _ -, name 1-63,
// hostname 253, os/arch 32, agent version 64, 64 tags of 256-byte printable values) are refused
// (400); a cluster at agents.max_hosts refuses a new host (409). None of these is worth retrying
// on another server. Until a registration succeeds the agent registers the same ID and secret on
// every start, so a registration committed whose reply was lost is completed, not duplicated.
// From then on the agent authenticates with its host secret, which lets it
// act only as that host: it receives only its own work and can report only on it. A deleted
// host's session is closed (close code 1008) and its secret refused (401).
//
// # Trust and transport security
//
// When the servers run TLS (their URLs are https://), the agent trusts the cluster, not the
// network: it needs the cluster CA, given either as a file (--ca-file) or as a pin (--ca-pin
// sha256:<hex SHA-256 of the CA's SubjectPublicKeyInfo>, printed by `slipway host token create`,
// as kubeadm's --discovery-token-ca-cert-hash). With a pin and no CA file, a TLS connection is
// accepted only when the server's chain contains a CA certificate with that pin, self-signed by
// the pinned key and valid now, and a server certificate it signed (servers send their CA
// certificate after their own). The agent saves that CA (DATA/ca.pem, 0644) only after a request
// over such a connection completed, never from the handshake's certificate check alone (which
// runs before the server proved it holds its key), and verifies later connections against it;
// when the saved CA no longer verifies a server and a pin is configured, the pin decides and the
// saved file is replaced after the next completed request. A server certificate is
// accepted when it chains to the cluster CA, is for server authentication, and names either the
// host the agent dialled or the cluster's server name (server.slipway). Anything else fails the
// handshake before a secret is sent. An agent with neither pin nor CA refuses https:// servers;
// one with a pin or CA refuses http:// servers; one with neither talks plain HTTP (development
// only) and logs a warning.
//
// # Host certificates
//
// The agent makes its own ECDSA P-256 key on its first start (DATA/host-key.pem, 0600; it never
// leaves the host) and sends a certificate request for it (Register.CSR). A server whose API is
// TLS signs a host certificate naming the host (the URI slipway://host/<host ID>, client
// authentication only, 72 h by default) with the cluster CA and returns it with the CA
// (RegisterReply.Certificate, .CA); the agent keeps it in DATA/host.pem. A server with TLS but
// without the CA key (--tls-ca-key-file) refuses the registration, naming the flag.
//
// The agent renews its certificate once two thirds of its lifetime have passed (and retries
// with backoff until it succeeds):
//
//	POST /v1/agent/certificate   Authorization: Bearer <host secret>   body: CertificateRequest
//
// answered by CertificateReply. The renewal presents the current certificate as its client
// certificate. The host secret is the long-lived credential, as kubelet's bootstrap credential
// is: an agent whose certificate has expired (offline for days) or was lost renews with its host
// secret alone, presenting no certificate, and the server accepts the secret alone at any time,
// not only after expiry. So the secret can obtain a fresh certificate whenever it is presented:
// the certificate binds TLS sessions to the host, it is not a second factor, and `slipway host
// delete` (which voids the secret) is what ends a stolen identity. A renewal that presents a
// certificate of another host is refused (403).
//
// On a TLS server every other host-secret endpoint (the session, bundle downloads) needs mutual
// TLS: the connection must carry a host certificate, verified against the cluster CA, naming the
// host the secret belongs to. A host secret without a certificate, or with a certificate of
// another host, is refused with 403 and a message; a certificate for host A never acts as host B.
// A server without TLS (development, loopback) checks the host secret alone.
//
// # Session
//
// The agent keeps one outbound websocket to any server:
//
//	GET /v1/agent/session     Authorization: Bearer <host secret>   (checked before the upgrade;
//	                          on TLS servers with the host certificate, see above)
//
// Every message is one JSON text frame holding an Envelope. On connect the server sends Hello
// (the heartbeat interval and every server's URL, so the agent can fail over). The agent sends
// Heartbeat every interval and the server answers each with one; either side that hears nothing
// for three intervals closes the session. The agent reconnects with jittered exponential backoff (0.5 s doubling to 30 s),
// trying every known server in turn.
//
// # Versions and capabilities
//
// The contract has a version, ProtocolVersion (2 in this release; the release before had none
// and counts as 1). Work comes in kinds (KindDeploy; builds will add theirs): the agent runs
// each kind with one worker and advertises exactly the kinds it has workers for.
//
// The agent states its version, capabilities and plugins in headers on POST /v1/agent/register
// and on the GET /v1/agent/session upgrade (not in the register body, which a server of
// protocol 1 decodes strictly and would refuse with an unknown field):
//
//	Slipway-Agent-Protocol:     2
//	Slipway-Agent-Capabilities: deploy           (comma-separated kinds)
//	Slipway-Agent-Plugins:                       (comma-separated names; none yet)
//
// A server parses them with ParsePeer: a malformed header (a version that is not an integer
// 1-1000, more than 32 names, a name that is not 1-64 of a-z 0-9 . _ -, an empty capability
// list) refuses the request with 400 and says which; an agent that sends none is protocol 1
// with capabilities [deploy]. The server keeps them with the session (not in the replicated
// state) and logs them, and pushes an agent only work of the kinds it advertised. Hello answers
// with the server's version and the kinds it dispatches (Hello.Protocol, Hello.Kinds; both
// absent from a server of protocol 1).
//
// Every message about work names it by (kind, ID): Kind, absent for KindDeploy, and
// DeploymentID, which keeps its protocol 1 name whatever the kind. Senders leave Kind out for
// deployments (WireKind), so a deployment's messages are byte for byte those of protocol 1 in
// both directions, and the new fields of Hello and Heartbeat are omitted when empty and ignored
// by the lenient decoding both sides use for session messages. With an older peer:
//
//   - A server of protocol 2 with an agent of protocol 1 (no headers) treats it as [deploy]:
//     it sends Run, Cancel and Ack without Kind and no other kind of work, and reads its
//     reports as deployment reports.
//   - An agent of protocol 2 with a server of protocol 1 (Hello without Protocol) registers and
//     opens its session as before (the server ignores the headers), and its deployment reports
//     carry no Kind. Such a server dispatches deployments only.
//   - A message of a kind the receiver has no worker (agent) or service (server) for is logged
//     and dropped, never taken for a deployment; the session stays open. A server never sends
//     one to an agent that did not advertise the kind.
//
// Upgrade servers first, then agents. Within one release step both orders work: an agent one
// protocol ahead of its servers runs deployments as before, and so does one a protocol behind.
//
// # Work
//
// Server → agent: Run starts a deployment on this host; Cancel stops one. Commands are pushed as
// soon as they exist and pushed again on every new session until the agent has reported the
// deployment finished, so a command is delivered at least once whichever server or leader the
// agent talks to. The agent runs a deployment ID once: a Run it already ran or is running is not
// started again (a finished one is reported again).
//
// Agent → server: Event (a lifecycle event started or finished, and the deployment's end) and
// Log (batched output lines). Each carries a per-deployment sequence number that only grows. The
// server acknowledges with Ack{DeploymentID, Seq} once the report is committed to the replicated
// state; the agent keeps unacknowledged reports on disk and sends them again, in order, on the
// next session. The server ignores reports at or below the highest sequence it has committed, so
// a resend never applies twice.
//
// Reports are bounded. A report whose DeploymentID is not a name (A-Z a-z 0-9 . _ -), an Event
// whose name is neither a lifecycle event of the AppSpec, HealthCheck nor DeploymentEnd, or whose Status is
// not one of the Status values, is refused: logged by the server and never acknowledged. Text
// is kept, cut and cleaned: event names, script paths, statuses and results to 256 bytes,
// messages to 4 KiB, control characters replaced. At most 256 event records are kept per host
// of a deployment (224 of them for scripts' results); later ones are acknowledged and dropped,
// and the host's part is marked events_truncated. Output lines are kept up to 8 MiB per host of
// a deployment (then log_truncated).
//
// # Health checks
//
// A deployment group may have an HTTP health check (Run.HealthCheck). After ValidateService
// succeeded the agent GETs its URL from the host, reported as the event HealthCheckEvent
// ("HealthCheck": started, then succeeded or failed with the last status or error in the
// message); a failure fails the deployment on the host. An agent that ignores the field (of a
// release before health checks) would report success without checking: the server takes a
// success of a deployment with a health check only after a HealthCheck event that succeeded,
// and otherwise fails the host, saying to upgrade its agent.
//
// # Cancellation and loss
//
// A server sends Cancel for work it pushed on a session as soon as it has applied the end of
// the host's part (a stop, a failure, or the host's own end report), once per session, and
// again whenever a heartbeat lists work that has ended for the host. An agent ignores a Cancel
// of work it is not running (or has just finished).
//
// Cancel means: kill the running script's process group (SIGTERM, then SIGKILL after a grace),
// run no further events, report the running event failed with ResultCancelled and the
// deployment failed. An agent killed mid-script reports that event failed with
// ResultAgentRestarted when it starts again. A host whose session is silent for longer than the
// host timeout (default 60 s) has its in-flight deployments failed by the leader; a report that
// arrives later for a deployment already failed is acknowledged and ignored.
package agentproto

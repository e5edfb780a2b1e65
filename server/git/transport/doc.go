// Package transport serves git over smart HTTP (git's http-protocol.txt) on the API port:
//
//	GET  /git/NAME[.git]/info/refs?service=git-upload-pack|git-receive-pack
//	POST /git/NAME[.git]/git-upload-pack
//	POST /git/NAME[.git]/git-receive-pack
//
// and over SSH (ServeSSH, ssh.go) on a port of its own: public keys of users (KeyOwners),
// exec of git-upload-pack 'NAME.git' and git-receive-pack 'NAME.git' only, under the cluster's
// one host key (HostKeySeed). Both decide through the API's one decision (api.Kit.Authorize,
// api.Kit.AuthorizeFrom) and push through the same path (Server.receive).
//
// The real git does the work (gitexec.UploadPack, gitexec.ReceivePack on the repository's
// bare copy); this package decides only what git cannot: who may read, who may move which
// ref, and where the pushed objects and ref updates go. It consumes the git service through
// Backend (backend.go): the repository's copy, storing a push's pack as a replicated blob,
// and committing its ref updates as one replicated command.
//
// A push, in order (DESIGN.md "The push path"):
//
//  1. The API edge authenticates the caller by HTTP basic (api.GitBasic). A caller who may
//     push no ref of the repository (api.Kit.AuthorizeAny) is refused (403) before the body is
//     read, as at the receive-pack advertisement. The handler reads the request's head with
//     gitproto.ReadReceiveHead and authorizes every ref (codecommit:GitPush with
//     slipway:ReferenceName) through api.Kit.Authorize; a denied ref is remembered with its
//     reason.
//  2. git receive-pack runs with the head replayed, and with SLIPWAY_HOOK_SOCKET and
//     SLIPWAY_HOOK_TOKEN in its environment: the server's hook socket and this push's token.
//  3. The pre-receive hook (this package's HookMain, run by the slipway binary) finds the
//     quarantined pack and asks the server over the socket to store it (Backend.StorePack),
//     which it does unless no ref of the push can apply.
//  4. The proc-receive hook sends the ref updates; the server proposes the allowed ones
//     (Backend.Push, with the push options) and answers each ref ok or ng (a denied ref "ng
//     REF denied: ..." with the full reason as a message the hook prints, which git shows as
//     "remote: ..."), which the hook hands back to git, and git to the client.
//
// The hook callback protocol is callback.go's: one JSON request and one JSON answer per
// connection on a unix socket of mode 0600, authenticated by the push's random token.
package transport

package api

import (
	"net/http"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

func (s *Server) tokenCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	var req pub.TokenCreateRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	if err := state.ValidateLabel("token name", req.Name, true); err != nil {
		return err
	}
	typ := req.Type
	if typ == "" {
		typ = pub.TokenTypeClient
	}
	if typ != pub.TokenTypeClient && typ != pub.TokenTypeManagement {
		return fault.New(fault.Invalid, "token type %q is unknown: use %q or %q", typ, pub.TokenTypeClient, pub.TokenTypeManagement)
	}
	secret := auth.NewSecret()
	p := command.TokenCreate{Token: command.Token{AccessorID: newAccessor(), SecretHash: auth.HashSecret(secret), Name: req.Name, Type: typ}}
	if req.TTL != "" {
		ttl, err := time.ParseDuration(req.TTL)
		if err != nil || ttl <= 0 {
			return fault.New(fault.Invalid, "ttl %s is not a positive duration such as 30m, 24h or 720h", state.Shorten(req.TTL))
		}
		p.Token.ExpirationTime = s.cfg.Now().Add(ttl).UnixNano()
	}
	res, err := s.apply(r, id, command.TypeTokenCreate, p)
	if err != nil {
		return err
	}
	var tk state.Token
	if err := decodeData(res, &tk); err != nil {
		return err
	}
	out, err := createdToken(tk, secret)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) tokenList(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	pg, err := pageOf(r)
	if err != nil {
		return err
	}
	if err := s.readBarrier(r); err != nil {
		return err
	}
	out := pub.TokenList{Tokens: []pub.Token{}}
	err = s.cfg.State.View(func(tx *state.Tx) error {
		list, next, err := tx.ListTokens(pg.after, pg.limit)
		for _, tk := range list {
			out.Tokens = append(out.Tokens, tokenView(tk))
		}
		out.Next = next
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) tokenGet(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	if err := s.readBarrier(r); err != nil {
		return err
	}
	var tk state.Token
	err := s.cfg.State.View(func(tx *state.Tx) error {
		var err error
		tk, err = tx.GetToken(r.PathValue("accessor"))
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tokenView(tk))
	return nil
}

func (s *Server) tokenSelf(w http.ResponseWriter, _ *http.Request, id *auth.Identity) error {
	writeJSON(w, http.StatusOK, tokenView(id.Token))
	return nil
}

func (s *Server) tokenRevoke(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if _, err := s.apply(r, id, command.TypeTokenRevoke, command.TokenRevoke{AccessorID: r.PathValue("accessor")}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

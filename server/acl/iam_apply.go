package acl

import (
	"github.com/slipwayhq/slipway/server/core/state"
)

// Apply handlers of the identity commands. Each checks what it references against the state
// (the proposer's checks may be stale), bumps the generation when who-may-do-what changes, and
// returns the stored record.

// revokeTokens deletes every token match selects.
func revokeTokens(tx *state.Tx, match func(state.Token) bool) error {
	var gone []string
	if err := tx.EachToken(func(tk state.Token) bool {
		if match(tk) {
			gone = append(gone, tk.AccessorID)
		}
		return true
	}); err != nil {
		return err
	}
	for _, acc := range gone {
		if err := tx.DeleteToken(acc); err != nil {
			return err
		}
	}
	return nil
}

// eachRecord decodes every record of a bucket in key order.
func eachRecord[T any](tx *state.Tx, bucket []byte, fn func(T)) error {
	after := ""
	for {
		page, next, err := state.List[T](tx, bucket, after, 1000, nil)
		if err != nil {
			return err
		}
		for _, v := range page {
			fn(v)
		}
		if next == "" {
			return nil
		}
		after = next
	}
}

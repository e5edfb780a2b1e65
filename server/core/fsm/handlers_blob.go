package fsm

import (
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

func applyBlobRegister(tx *state.Tx, index uint64, c *command.Command, p command.BlobRegister) (any, error) {
	if !state.ValidSHA(p.SHA256) || p.Size < 0 {
		return nil, fault.New(fault.Invalid, "blob needs a lowercase hex sha256 and a size")
	}
	return tx.Blobs().Put(state.Blob{SHA256: p.SHA256, Size: p.Size, CreateTime: c.Time, CreateIndex: index})
}

func applyBlobDelete(tx *state.Tx, _ uint64, c *command.Command, p command.BlobDelete) (any, error) {
	return nil, tx.Blobs().Delete(p.SHA256)
}

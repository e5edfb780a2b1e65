//go:build windows

package executor

// leftovers tracks nothing on Windows: a script's job object is closed once the script is done
// with, so a process it left running cannot be found again. `slipway dev` runs on Unix.
type leftovers struct{}

func (e *Executor) track(*procGroup) {}

// EndLeftovers does nothing on Windows (see leftovers) and returns 0.
func (e *Executor) EndLeftovers() int { return 0 }

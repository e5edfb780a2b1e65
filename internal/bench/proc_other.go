//go:build !unix

package bench

import "time"

// cpuTime is not measured here.
func cpuTime() time.Duration { return 0 }

// raiseOpenFiles leaves the limit alone where there is no RLIMIT_NOFILE.
func raiseOpenFiles(need uint64) (uint64, error) { return need, nil }

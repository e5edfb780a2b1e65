//go:build unix

package bench

import (
	"fmt"
	"syscall"
	"time"
)

// cpuTime is the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// raiseOpenFiles raises the soft limit on open files to at least need (up to the hard limit) and
// returns the limit in force.
func raiseOpenFiles(need uint64) (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, nil //nolint:nilerr // no limit to read: try anyway
	}
	if rl.Cur >= need {
		return rl.Cur, nil
	}
	want := rl
	want.Cur = min(max(need, rl.Cur), rl.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err == nil {
		rl = want
	}
	if rl.Cur < need {
		return rl.Cur, fmt.Errorf("the open-files limit is %d but this fleet needs about %d: raise it (ulimit -n) or use fewer --hosts", rl.Cur, need)
	}
	return rl.Cur, nil
}

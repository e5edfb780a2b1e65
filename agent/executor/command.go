package executor

import (
	"bufio"
	"os"
	"strings"
)

// DefaultPath is PATH for scripts run with runas (Unix only: Windows agents do not support runas).
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// userError is a runas user or sudo setting that cannot be honoured; the script is not run.
type userError struct{ err error }

func (e *userError) Error() string { return e.err.Error() }
func (e *userError) Unwrap() error { return e.err }

// interpreter returns " (<interpreter>)" from the script's #! line, or "".
func interpreter(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && line == "" {
		return ""
	}
	if !strings.HasPrefix(line, "#!") {
		return ""
	}
	if strings.HasSuffix(line, "\r\n") {
		return " (the line ends in a Windows CRLF line break; convert the script to LF line endings)"
	}
	fields := strings.Fields(strings.TrimPrefix(line, "#!"))
	if len(fields) == 0 {
		return ""
	}
	return " (" + fields[0] + ")"
}

package gitproto

import (
	"fmt"
	"strings"
)

// Command is one ref update of a push, as git sends it: "OLD NEW REF". Old and New are
// object IDs in lowercase hex (40 digits for SHA-1, 64 for SHA-256); all zeros means the
// ref does not exist (Old: create; New: delete).
type Command struct {
	Old string
	New string
	Ref string
}

// IsCreate reports whether the command creates the ref.
func (c Command) IsCreate() bool { return isZeroID(c.Old) }

// IsDelete reports whether the command deletes the ref.
func (c Command) IsDelete() bool { return isZeroID(c.New) }

// String is the command as git writes it.
func (c Command) String() string { return c.Old + " " + c.New + " " + c.Ref }

// ZeroID returns the all-zero object ID of the given hex length (40 or 64).
func ZeroID(hexLen int) string { return strings.Repeat("0", hexLen) }

func isZeroID(id string) bool { return strings.Trim(id, "0") == "" }

// parseCommand reads "OLD NEW REF" whose IDs are hexLen digits, and checks the ref name.
func parseCommand(line string, hexLen int) (Command, error) {
	oldID, rest, ok1 := strings.Cut(line, " ")
	newID, ref, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 {
		return Command{}, malformed("command %q is not \"OLD NEW REF\"", truncate(line))
	}
	if !validHexID(oldID, hexLen) || !validHexID(newID, hexLen) {
		return Command{}, malformed("command %q: object IDs must be %d lowercase hex digits", truncate(line), hexLen)
	}
	if err := ValidateRefName(ref); err != nil {
		return Command{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return Command{Old: oldID, New: newID, Ref: ref}, nil
}

func validHexID(id string, hexLen int) bool {
	if len(id) != hexLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// truncate shortens s for an error message.
func truncate(s string) string {
	const max = 120
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

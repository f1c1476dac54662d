package testns

import (
	"strings"
)

func splitLines(data []byte) []string {
	return strings.Split(strings.TrimRight(string(data), "\n"), "\n")
}

func fieldsOf(line string) []string {
	return strings.Fields(line)
}

// containsShared reports whether the optional fields of a mountinfo line,
// between field 7 and the "-" separator, include a shared peer group.
func containsShared(line string) bool {
	fields := strings.Fields(line)
	for _, field := range fields[6:] {
		if field == "-" {
			return false
		}
		if strings.HasPrefix(field, "shared:") {
			return true
		}
	}
	return false
}

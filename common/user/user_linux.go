package user

import (
	"bufio"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/fsroot"
)

// ErrNotFound is matched, with errors.Is, by the error for a user or group
// name that has no entry.
var ErrNotFound = errors.New("no such entry")

// NotFoundError is the error for a user or group name that has no entry in
// the root's database. It wraps nothing, so a caller that prints only the
// innermost error of a chain still prints the name and the file.
type NotFoundError struct {
	// Kind is "user" or "group".
	Kind string
	// Name is the value that was looked up.
	Name string
	// Database is the file searched, as a path inside the root.
	Database string
}

func (e *NotFoundError) Error() string {
	msg := fmt.Sprintf("%s %q not found in the image's %s", e.Kind, e.Name, e.Database)
	if _, err := strconv.ParseInt(e.Name, 10, 64); err == nil {
		// A number that parseID rejected: negative, above maxID, or
		// 4294967295, which is -1 as a uid_t.
		msg += fmt.Sprintf(", and it is not a valid id (0 to %d)", maxID)
	}
	return msg
}

// Is makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Is(target error) bool {
	return target == ErrNotFound
}

// maxID is the largest accepted uid or gid. 2^32-1 is excluded because it
// means "unchanged" to setresuid(2).
const maxID = 1<<32 - 2

// CheckID returns an error unless id is a valid uid or gid, 0 to 4294967294.
// The kernel takes ids as 32-bit numbers, so a larger one would name another
// id, such as 4294967296 naming root.
func CheckID(id int) error {
	if id < 0 || id > maxID {
		return fmt.Errorf("%d is not a valid id (0 to %d)", id, maxID)
	}
	return nil
}

// LookupUser returns the uid that user names inside root.
func LookupUser(root, user string) (int, error) {
	uid, err := lookup(root, user, "user", "/etc/passwd", 7, ownerUID)
	if err != nil {
		return -1, fmt.Errorf("look up user %q: %w", user, err)
	}
	return uid, nil
}

// LookupGroup returns the gid that group names inside root.
func LookupGroup(root, group string) (int, error) {
	gid, err := lookup(root, group, "group", "/etc/group", 4, ownerGID)
	if err != nil {
		return -1, fmt.Errorf("look up group %q: %w", group, err)
	}
	return gid, nil
}

func ownerUID(st *unix.Stat_t) int { return int(st.Uid) }
func ownerGID(st *unix.Stat_t) int { return int(st.Gid) }

func lookup(root, value, kind, database string, minFields int, owner func(*unix.Stat_t) int) (int, error) {
	if value == "" {
		return -1, errors.New("empty name")
	}
	if value == "root" {
		return 0, nil
	}
	if id, err := parseID(value); err == nil {
		return id, nil
	}
	if strings.HasPrefix(value, "/") {
		return pathOwner(root, value, owner)
	}
	return lookupName(root, value, kind, database, minFields)
}

// parseID accepts a decimal id in the range of uid_t; -1 is rejected
// because it means "unchanged" to setresuid(2).
func parseID(s string) (int, error) {
	id, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return -1, err
	}
	if id > maxID {
		return -1, fmt.Errorf("id %d is reserved", id)
	}
	return int(id), nil
}

func pathOwner(root, p string, owner func(*unix.Stat_t) int) (int, error) {
	// O_PATH|O_NOFOLLOW opens a symlink itself, as lstat(2) would.
	f, err := fsroot.OpenInRoot(root, p, unix.O_PATH|unix.O_NOFOLLOW, 0)
	if err != nil {
		return -1, err
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return -1, fmt.Errorf("stat %s: %w", f.Name(), err)
	}
	return owner(&st), nil
}

// lookupName scans database (passwd or group format) inside root for name
// and returns the id in its third field.
func lookupName(root, name, kind, database string, minFields int) (int, error) {
	f, err := fsroot.OpenInRoot(root, database, unix.O_RDONLY, 0)
	if err != nil {
		return -1, err
	}
	defer f.Close()

	found := -1
	scanner := bufio.NewScanner(f)
	lineNumber := 0
	for scanner.Scan() {
		lineNumber++
		line := scanner.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		fields := strings.Split(line, ":")
		if len(fields) < minFields {
			return -1, fmt.Errorf("%s line %d: %d fields, want at least %d", database, lineNumber, len(fields), minFields)
		}
		id, err := parseID(fields[2])
		if err != nil {
			return -1, fmt.Errorf("%s line %d: id %q is not a number", database, lineNumber, fields[2])
		}
		// Every line is checked even after a match: a malformed line
		// anywhere fails the lookup, as it did in rkt.
		if fields[0] == name && found < 0 {
			found = id
		}
	}
	if err := scanner.Err(); err != nil {
		return -1, fmt.Errorf("read %s: %w", database, err)
	}
	if found < 0 {
		return -1, &NotFoundError{Kind: kind, Name: name, Database: database}
	}
	return found, nil
}

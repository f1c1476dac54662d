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

// ErrNotFound is returned when a user or group name has no entry.
var ErrNotFound = errors.New("no such entry")

// LookupUser returns the uid that user names inside root.
func LookupUser(root, user string) (int, error) {
	uid, err := lookup(root, user, "/etc/passwd", 7, ownerUID)
	if err != nil {
		return -1, fmt.Errorf("look up user %q: %w", user, err)
	}
	return uid, nil
}

// LookupGroup returns the gid that group names inside root.
func LookupGroup(root, group string) (int, error) {
	gid, err := lookup(root, group, "/etc/group", 4, ownerGID)
	if err != nil {
		return -1, fmt.Errorf("look up group %q: %w", group, err)
	}
	return gid, nil
}

func ownerUID(st *unix.Stat_t) int { return int(st.Uid) }
func ownerGID(st *unix.Stat_t) int { return int(st.Gid) }

func lookup(root, value, database string, minFields int, owner func(*unix.Stat_t) int) (int, error) {
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
	return lookupName(root, value, database, minFields)
}

// parseID accepts a decimal id in the range of uid_t; -1 is rejected
// because it means "unchanged" to setresuid(2).
func parseID(s string) (int, error) {
	id, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return -1, err
	}
	if id == 1<<32-1 {
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
func lookupName(root, name, database string, minFields int) (int, error) {
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
		return -1, fmt.Errorf("%s: %w", database, ErrNotFound)
	}
	return found, nil
}

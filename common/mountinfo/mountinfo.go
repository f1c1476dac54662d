package mountinfo

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/rktfly/rkt/common/sysfile"
)

// Mount is one line of a mountinfo file. Field names follow proc(5).
type Mount struct {
	// ID is the unique mount ID, Parent the ID of the parent mount (for the
	// root of a mount namespace it names a mount outside that namespace).
	ID, Parent int
	// Major and Minor are the st_dev of the files in this mount.
	Major, Minor uint32
	// Root is the path inside the filesystem that is mounted at MountPoint.
	Root string
	// MountPoint is the path of the mount relative to the reader's root.
	MountPoint string
	// Options are the per-mount options, such as "rw,nosuid,relatime".
	Options string
	// Optional holds the optional fields in order, such as "shared:1" or
	// "master:2". It is empty when the mount has none.
	Optional []string
	// FSType is the filesystem type, with any "type.subtype" kept whole.
	FSType string
	// Source is the filesystem-specific source, such as "/dev/sda1" or "tmpfs".
	Source string
	// SuperOptions are the per-superblock options.
	SuperOptions string
}

// Shared reports whether the mount is in a shared peer group
// (it has a "shared:N" optional field).
func (m Mount) Shared() bool {
	return m.hasOptional("shared:")
}

// Master reports whether the mount receives propagation from a peer group
// (it has a "master:N" optional field), as a slave mount does.
func (m Mount) Master() bool {
	return m.hasOptional("master:")
}

func (m Mount) hasOptional(prefix string) bool {
	for _, field := range m.Optional {
		if strings.HasPrefix(field, prefix) {
			return true
		}
	}
	return false
}

// ReadSelf parses /proc/self/mountinfo.
func ReadSelf() ([]Mount, error) {
	data, err := sysfile.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	mounts, err := Parse(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("parse /proc/self/mountinfo: %w", err)
	}
	return mounts, nil
}

// Parse reads mountinfo lines from r. A malformed line fails the whole
// parse, with its line number in the error.
func Parse(r io.Reader) ([]Mount, error) {
	var mounts []Mount
	scanner := bufio.NewScanner(r)
	// Lines with long option strings (overlayfs lowerdir lists) exceed the
	// default 64 KiB token size.
	scanner.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	lineNumber := 0
	for scanner.Scan() {
		lineNumber++
		line := scanner.Text()
		if line == "" {
			continue
		}
		m, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", lineNumber, err)
		}
		mounts = append(mounts, m)
	}
	if err := scanner.Err(); err != nil {
		return nil, err
	}
	return mounts, nil
}

// parseLine parses one line such as
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
func parseLine(line string) (Mount, error) {
	// Split on single spaces, not on runs of white space: the kernel escapes
	// spaces inside fields, and an empty source shows up as an empty field.
	fields := strings.Split(line, " ")
	separator := -1
	for i := 6; i < len(fields); i++ {
		if fields[i] == "-" {
			separator = i
			break
		}
	}
	if len(fields) < 10 || separator < 0 || len(fields) < separator+4 {
		return Mount{}, fmt.Errorf("malformed mountinfo line %q", line)
	}

	var m Mount
	var err error
	if m.ID, err = strconv.Atoi(fields[0]); err != nil {
		return Mount{}, fmt.Errorf("mount ID %q: %w", fields[0], err)
	}
	if m.Parent, err = strconv.Atoi(fields[1]); err != nil {
		return Mount{}, fmt.Errorf("parent ID %q: %w", fields[1], err)
	}
	if m.Major, m.Minor, err = parseDevice(fields[2]); err != nil {
		return Mount{}, err
	}
	m.Root = Unescape(fields[3])
	m.MountPoint = Unescape(fields[4])
	m.Options = fields[5]
	m.Optional = append([]string{}, fields[6:separator]...)
	m.FSType = Unescape(fields[separator+1])
	m.Source = Unescape(fields[separator+2])
	m.SuperOptions = strings.Join(fields[separator+3:], " ")
	return m, nil
}

func parseDevice(field string) (major, minor uint32, err error) {
	majorText, minorText, ok := strings.Cut(field, ":")
	if !ok {
		return 0, 0, fmt.Errorf("device %q: missing colon", field)
	}
	majorValue, err := strconv.ParseUint(majorText, 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("device %q: %w", field, err)
	}
	minorValue, err := strconv.ParseUint(minorText, 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("device %q: %w", field, err)
	}
	return uint32(majorValue), uint32(minorValue), nil
}

// Unescape decodes the octal escapes (\ooo) that the kernel writes for
// white space and backslashes in mountinfo paths. A backslash that does not
// start three octal digits is kept as it is.
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			value := (s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0')
			b.WriteByte(value)
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool {
	return c >= '0' && c <= '7'
}

// IsMountPoint reports whether path, cleaned, is exactly the mount point of
// one of mounts. A path below a mount point is not a mount point.
func IsMountPoint(mounts []Mount, path string) bool {
	path = filepath.Clean(path)
	for _, m := range mounts {
		if m.MountPoint == path {
			return true
		}
	}
	return false
}

// Under returns the mounts whose mount point is dir or lies below dir,
// compared by whole path components: "/a/b" is under "/a", "/ab" is not.
// The order of mounts is kept.
func Under(mounts []Mount, dir string) []Mount {
	dir = filepath.Clean(dir)
	var under []Mount
	for _, m := range mounts {
		if IsUnder(m.MountPoint, dir) {
			under = append(under, m)
		}
	}
	return under
}

// IsUnder reports whether path is dir or lies below dir, compared by whole
// path components. Both are cleaned first.
func IsUnder(path, dir string) bool {
	path = filepath.Clean(path)
	dir = filepath.Clean(dir)
	if dir == "/" {
		return strings.HasPrefix(path, "/")
	}
	return path == dir || strings.HasPrefix(path, dir+"/")
}

// SortChildrenFirst sorts mounts so that every mount comes before the mount
// it is mounted on, which is the order to unmount them in. Depth is counted
// along the parent-ID chain within mounts; a mount whose parent is not in
// mounts has depth 0. Mounts of equal depth are ordered by descending mount
// ID, so that the later of two mounts stacked on one path comes first.
func SortChildrenFirst(mounts []Mount) {
	byID := make(map[int]Mount, len(mounts))
	for _, m := range mounts {
		byID[m.ID] = m
	}
	depth := make(map[int]int, len(mounts))
	for _, m := range mounts {
		depth[m.ID] = chainDepth(m, byID)
	}
	sort.SliceStable(mounts, func(i, j int) bool {
		di, dj := depth[mounts[i].ID], depth[mounts[j].ID]
		if di != dj {
			return di > dj
		}
		return mounts[i].ID > mounts[j].ID
	})
}

// chainDepth counts the ancestors of m in byID. The walk stops after
// len(byID) steps, so that a parent cycle (the root of a namespace can name
// itself as its own parent) cannot loop forever.
func chainDepth(m Mount, byID map[int]Mount) int {
	depth := 0
	current := m
	for steps := 0; steps < len(byID); steps++ {
		parent, ok := byID[current.Parent]
		if !ok || parent.ID == current.ID {
			break
		}
		depth++
		current = parent
	}
	return depth
}

package pod

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/mount"
)

// Magic numbers of file systems that overlayfs cannot use as its upper layer
// (statfs(2) f_type).
const (
	aufsSuperMagic = 0x61756673
	zfsSuperMagic  = 0x2fc12fc1
)

// OverlaySupported reports whether the pods of dataDir can use overlay mode,
// and if not, why. The kernel must list overlay in /proc/filesystems, after
// an attempt to load the module. dataDir must not be on aufs or zfs, and
// its file system must report file types in directory entries (d_type).
func OverlaySupported(dataDir string) (bool, string) {
	if !kernelHasOverlay() {
		// modprobe may fail for many harmless reasons; the second look at
		// /proc/filesystems decides.
		_ = exec.Command("modprobe", "overlay").Run()
		if !kernelHasOverlay() {
			return false, "overlay filesystem is not supported by the kernel"
		}
	}

	var st unix.Statfs_t
	if err := unix.Statfs(dataDir, &st); err != nil {
		return false, fmt.Sprintf("statfs %s: %v", dataDir, err)
	}
	switch st.Type {
	case aufsSuperMagic:
		return false, "unsupported filesystem: aufs"
	case zfsSuperMagic:
		return false, "unsupported filesystem: zfs"
	}

	ok, err := reportsDType(dataDir)
	if err != nil {
		return false, fmt.Sprintf("check d_type support of %s: %v", dataDir, err)
	}
	if !ok {
		return false, "backing filesystem does not support d_type"
	}
	return true, ""
}

func kernelHasOverlay() bool {
	data, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		return false
	}
	return bytes.Contains(data, []byte("nodev\toverlay\n"))
}

// reportsDType reads the entries of dir with getdents64 and reports whether
// the file system fills in d_type. os.ReadDir cannot tell, because it falls
// back to lstat for entries of unknown type.
func reportsDType(dir string) (bool, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, err
	}
	defer unix.Close(fd)

	buf := make([]byte, 4096)
	n, err := unix.Getdents(fd, buf)
	if err != nil {
		return false, err
	}
	// struct linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name.
	for off := 0; off+19 <= n; {
		reclen := int(binary.NativeEndian.Uint16(buf[off+16:]))
		if reclen == 0 {
			break
		}
		if buf[off+18] == unix.DT_UNKNOWN {
			return false, nil
		}
		off += reclen
	}
	return true, nil
}

// mountOverlay mounts an overlay of lower, upper and work on target and
// records target for unmountAll.
func (p *Pod) mountOverlay(lower, upper, work, target string) error {
	for _, dir := range []string{lower, upper, work} {
		// The overlay option syntax uses these characters as separators.
		if strings.ContainsAny(dir, ",:\\") {
			return fmt.Errorf("overlay directory %q contains one of , : \\ which overlayfs options cannot carry: use a --dir without them, or --no-overlay", dir)
		}
	}
	data := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
	if err := mount.Mount("mount overlay", "overlay", target, "overlay", 0, data); err != nil {
		return err
	}
	p.mounts = append(p.mounts, target)
	p.log.Printf("mounted overlay on %s (%s)", target, data)
	return nil
}

// unmountAll removes the mounts this process made, last first. It runs only
// after a failure before the stage1 exec. Its own errors go to warn, because
// the original failure is the one to return.
func (p *Pod) unmountAll(warn *log.Logger) {
	for i := len(p.mounts) - 1; i >= 0; i-- {
		target := p.mounts[i]
		err := mount.Unmount(target, 0)
		if errors.Is(err, unix.EBUSY) {
			err = mount.Unmount(target, unix.MNT_DETACH)
		}
		if err != nil {
			warn.Printf("cleanup after failed run: %v", err)
		}
	}
	p.mounts = nil
}

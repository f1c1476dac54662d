package podstate

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/abi"
	"github.com/rktfly/rkt/common/lock"
	"github.com/rktfly/rkt/common/mount"
	"github.com/rktfly/rkt/common/mountinfo"
	"github.com/rktfly/rkt/common/poddir"
	"github.com/rktfly/rkt/internal/aciwriter"
)

// ExportOptions configure ExportApp.
type ExportOptions struct {
	// App names the app to export. Empty means the pod's only app.
	App string
	// Log receives debug messages. Nil discards them.
	Log *log.Logger
}

// ExportApp writes the root filesystem of one app of an exited pod to w as a
// gzip-compressed ACI whose manifest is appsinfo/<app>/manifest. Owners,
// modification times and hard links are kept. For a pod prepared with
// --private-users, owners are shifted back to the IDs the image had.
//
// fly leaves /dev, /proc, /sys and the volumes mounted in the app rootfs until
// gc, so the rootfs is never walked in place. ExportApp walks a read-only
// view under $D/tmp that has no submounts instead. The view is a
// non-recursive bind mount of the app rootfs. When an overlay-mode app
// rootfs is no longer mounted (after a reboot) or has another mount stacked
// on it, it is a read-only overlay of the app's upper dir on the rendered
// image tree. The same view serves overlay and copy mode, so a copy-mode pod
// is exported even while fly's mounts remain, where rkt rejects it. But a
// copy-mode app rootfs that is itself a mount point is rejected, because
// that mount hides the app's files. The view is mounted in a private
// mount namespace of one thread, so it never appears in the caller's mount
// namespace, and it is unmounted before ExportApp returns.
//
// A shared lock on the pod directory is held during the export, so that
// gc and rm cannot delete the pod meanwhile.
func (p *Pod) ExportApp(w io.Writer, opts ExportOptions) error {
	logger := opts.Log
	if logger == nil {
		logger = log.New(io.Discard, "", 0)
	}
	if p.State != abi.StateExited && p.State != abi.StateExitedGarbage {
		return fmt.Errorf("pod %q is %s, but only an exited pod can be exported: %w", p.UUID, p.State, ErrWrongState)
	}
	app, err := p.AppName(opts.App)
	if err != nil {
		return err
	}

	l, err := lock.OpenDir(p.Path())
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("export pod %q: %w", p.UUID, ErrPodGone)
		}
		return fmt.Errorf("export pod %q: %w", p.UUID, err)
	}
	defer l.Close()
	if err := l.TryShared(); err != nil {
		return fmt.Errorf("export pod %q: the pod is running or being deleted: %w", p.UUID, err)
	}
	tmp := poddir.TmpDir(p.DataDir)
	if err := os.MkdirAll(tmp, poddir.DirMode); err != nil {
		return fmt.Errorf("export app %q of pod %q: %w", app, p.UUID, err)
	}
	view, err := os.MkdirTemp(tmp, "export-"+p.UUID+"-")
	if err != nil {
		return fmt.Errorf("export app %q of pod %q: %w", app, p.UUID, err)
	}
	// Rmdir, not RemoveAll: it fails on a directory that is not empty or is
	// still a mount point, instead of deleting through it.
	defer func() {
		if err := unix.Rmdir(view); err != nil {
			logger.Printf("remove export view %s: %v", view, err)
		}
	}()

	// gc may rename the pod directory from run/ to exited-garbage/ at any
	// time, so its path is read from the locked fd, and checked again once
	// the paths are resolved in the new mount namespace.
	podDir, err := lockedDirPath(l)
	if err != nil {
		return fmt.Errorf("export app %q of pod %q: %w", app, p.UUID, err)
	}
	err = inPrivateMountNamespace(func() error {
		if err := sameDirectory(l.Fd(), podDir); err != nil {
			return fmt.Errorf("find pod directory: %w", err)
		}
		manifest, err := os.ReadFile(poddir.AppInfoManifestPath(podDir, app))
		if err != nil {
			return fmt.Errorf("read image manifest: %w", err)
		}
		shift, err := readPrivateUsers(podDir)
		if err != nil {
			return err
		}
		source, err := p.exportSource(podDir, app)
		if err != nil {
			return err
		}
		if err := source.mount(view); err != nil {
			return err
		}
		logger.Printf("mounted %s view of app %q on %s", source.kind, app, view)
		defer func() {
			if err := mount.Unmount(view, unix.UMOUNT_NOFOLLOW); err != nil {
				logger.Printf("%v", err)
			}
		}()
		owners, err := unshiftedOwners(view, shift)
		if err != nil {
			return err
		}
		return aciwriter.Write(w, manifest, view, aciwriter.Options{
			Compression:  aciwriter.Gzip,
			KeepOwners:   true,
			Owners:       owners,
			KeepModTimes: true,
			HardLinks:    true,
			Logger:       logger,
		})
	})
	if err != nil {
		return fmt.Errorf("export app %q of pod %q: %w", app, p.UUID, err)
	}
	return nil
}

// lockedDirPath returns the current path of the directory that l has open,
// checked to be that same directory. A mount source must be named by a path
// in the caller's mount namespace: a /proc/self/fd path of a directory opened
// before unshare(CLONE_NEWNS) lies in the old namespace, and mount(2)
// rejects it with EINVAL.
func lockedDirPath(l *lock.Lock) (string, error) {
	path, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(l.Fd()))
	if err != nil {
		return "", fmt.Errorf("find pod directory: %w", err)
	}
	if err := sameDirectory(l.Fd(), path); err != nil {
		return "", fmt.Errorf("find pod directory: %w", err)
	}
	return path, nil
}

// viewSource is the origin of the export view of an app rootfs.
type viewSource struct {
	// kind is "bind" or "overlay".
	kind string
	// rootfs is the app rootfs to bind, for kind "bind".
	rootfs string
	// lowerdir is the overlay's lowerdir option, for kind "overlay".
	lowerdir string
}

// mount mounts the read-only view on target.
func (s viewSource) mount(target string) error {
	if s.kind == "overlay" {
		return mount.Mount("mount overlay view", "overlay", target, "overlay",
			unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, "lowerdir="+s.lowerdir)
	}
	// Without MS_REC, the bind carries only the file system that contains
	// the rootfs, none of the mounts below it.
	if err := mount.BindMount(s.rootfs, target, false); err != nil {
		return err
	}
	if err := mount.RemountReadOnly(target, false); err != nil {
		_ = mount.Unmount(target, unix.UMOUNT_NOFOLLOW)
		return err
	}
	return nil
}

// exportSource chooses how to view the app rootfs, so that the view shows
// the app's files and never a file system that the app mounted over its own
// root (for example a tmpfs mounted on "/").
//
// In copy mode the rootfs is a plain directory in the pod, on which fly
// mounts nothing, so it is bound. A rootfs that is a mount point holds
// something that the app mounted there, and the export is rejected.
//
// In overlay mode, a rootfs on which the pod's overlay is the only mount is
// bound. An unmounted rootfs (after a reboot), or one that has a mount
// stacked on the overlay, is viewed as an overlay with the app's upper dir
// stacked as a second lower layer on the rendered image tree. Mounted with
// lower layers only, the overlay needs no work dir and cannot change the
// upper dir. The whiteouts and opaque directories in the upper dir still
// hide the files that the app deleted.
//
// It must run in the private mount namespace in which the view is mounted,
// because it reads that namespace's mount table.
func (p *Pod) exportSource(podDir, app string) (viewSource, error) {
	rootfs := poddir.AppRootfsPath(podDir, app)
	if !fileExists(poddir.OverlayPreparedPath(podDir)) {
		mounted, err := isMountPoint(rootfs)
		if err != nil {
			return viewSource{}, fmt.Errorf("app rootfs: %w", err)
		}
		if mounted {
			return viewSource{}, fmt.Errorf("app rootfs %s is a mount point that hides the app's files, probably mounted by the app over its own root, so unmount it and export again", rootfs)
		}
		return viewSource{kind: "bind", rootfs: rootfs}, nil
	}

	onlyOverlay, err := isOnlyOverlayMount(rootfs)
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return viewSource{}, fmt.Errorf("app rootfs: %w", err)
	}
	if onlyOverlay {
		return viewSource{kind: "bind", rootfs: rootfs}, nil
	}

	data, err := os.ReadFile(poddir.AppInfoTreeStoreIDPath(podDir, app))
	if err != nil {
		return viewSource{}, fmt.Errorf("read tree ID of the app image: %w", err)
	}
	treeID := strings.TrimSpace(string(data))
	lower := TreeRootfs(p.DataDir, treeID)
	upper := poddir.AppOverlayUpperDir(podDir, treeID, app)
	for _, dir := range []string{lower, upper} {
		if strings.ContainsAny(dir, ":,") {
			return viewSource{}, fmt.Errorf("overlay layer %q contains ':' or ',', which overlayfs options cannot hold", dir)
		}
		if _, err := os.Stat(dir); err != nil {
			return viewSource{}, fmt.Errorf("overlay layer: %w", err)
		}
	}
	return viewSource{kind: "overlay", lowerdir: upper + ":" + lower}, nil
}

// isOnlyOverlayMount reports whether exactly one mount, an overlay, is mounted at
// the directory path. It reads the mount table of the calling thread's
// mount namespace, in which the mount IDs from statx are valid.
func isOnlyOverlayMount(path string) (bool, error) {
	var self, parent unix.Statx_t
	flags := unix.AT_SYMLINK_NOFOLLOW | unix.AT_NO_AUTOMOUNT
	if err := unix.Statx(unix.AT_FDCWD, path, flags, unix.STATX_MNT_ID|unix.STATX_TYPE, &self); err != nil {
		return false, &os.PathError{Op: "statx", Path: path, Err: err}
	}
	if self.Mode&unix.S_IFMT != unix.S_IFDIR {
		return false, &os.PathError{Op: "export", Path: path, Err: unix.ENOTDIR}
	}
	if err := unix.Statx(unix.AT_FDCWD, filepath.Dir(path), flags, unix.STATX_MNT_ID, &parent); err != nil {
		return false, &os.PathError{Op: "statx", Path: filepath.Dir(path), Err: err}
	}
	if self.Mask&parent.Mask&unix.STATX_MNT_ID == 0 {
		// NOTE: kernels before 5.8 lack STATX_MNT_ID, so a stacked mount
		// cannot be distinguished from the overlay. Reporting false makes
		// the caller mount the overlay view of the upper dir and image tree.
		return false, nil
	}
	if self.Mnt_id == parent.Mnt_id {
		return false, nil
	}

	f, err := os.Open("/proc/thread-self/mountinfo")
	if err != nil {
		return false, err
	}
	defer f.Close()
	mounts, err := mountinfo.Parse(f)
	if err != nil {
		return false, fmt.Errorf("parse /proc/thread-self/mountinfo: %w", err)
	}
	for _, m := range mounts {
		if uint64(m.ID) != self.Mnt_id {
			continue
		}
		// A mount stacked on the overlay has the overlay, not the mount
		// of the parent directory, as its parent.
		return uint64(m.Parent) == parent.Mnt_id && m.FSType == "overlay", nil
	}
	return false, fmt.Errorf("mount %d at %s is not in /proc/thread-self/mountinfo", self.Mnt_id, path)
}

// isMountPoint reports whether path is the root of a mount, by comparing its
// mount ID with its parent's.
func isMountPoint(path string) (bool, error) {
	var self, parent unix.Statx_t
	flags := unix.AT_SYMLINK_NOFOLLOW | unix.AT_NO_AUTOMOUNT
	if err := unix.Statx(unix.AT_FDCWD, path, flags, unix.STATX_MNT_ID|unix.STATX_TYPE, &self); err != nil {
		return false, &os.PathError{Op: "statx", Path: path, Err: err}
	}
	if self.Mode&unix.S_IFMT != unix.S_IFDIR {
		return false, &os.PathError{Op: "export", Path: path, Err: unix.ENOTDIR}
	}
	if err := unix.Statx(unix.AT_FDCWD, filepath.Dir(path), flags, unix.STATX_MNT_ID, &parent); err != nil {
		return false, &os.PathError{Op: "statx", Path: filepath.Dir(path), Err: err}
	}
	if self.Mask&parent.Mask&unix.STATX_MNT_ID == 0 {
		// NOTE: kernels before 5.8 lack STATX_MNT_ID. The device number then
		// decides, which misses a bind mount from the same file system.
		return self.Dev_major != parent.Dev_major || self.Dev_minor != parent.Dev_minor, nil
	}
	return self.Mnt_id != parent.Mnt_id, nil
}

func fileExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// idShift is the user namespace mapping of a --private-users pod: IDs
// [0, count) in the image are [base, base+count) on disk.
type idShift struct {
	base, count uint32
}

// readPrivateUsers parses private-users-prepared ("SHIFT:COUNT"). A pod
// without that file gives the zero idShift.
func readPrivateUsers(podDir string) (idShift, error) {
	data, err := os.ReadFile(poddir.PrivateUsersPreparedPath(podDir))
	if errors.Is(err, fs.ErrNotExist) {
		return idShift{}, nil
	}
	if err != nil {
		return idShift{}, err
	}
	text := strings.TrimSpace(string(data))
	baseText, countText, ok := strings.Cut(text, ":")
	base, baseErr := strconv.ParseUint(baseText, 10, 32)
	count, countErr := strconv.ParseUint(countText, 10, 32)
	if !ok || baseErr != nil || countErr != nil {
		return idShift{}, fmt.Errorf("invalid %s %q, expected SHIFT:COUNT", poddir.PrivateUsersPreparedFile, text)
	}
	return idShift{base: uint32(base), count: uint32(count)}, nil
}

// unshiftedOwners returns the aciwriter owner overrides that map every
// shifted owner in rootfs back to the image's IDs. It returns nil for a pod
// without --private-users.
func unshiftedOwners(rootfs string, shift idShift) (map[string]aciwriter.Owner, error) {
	if shift.count == 0 {
		return nil, nil
	}
	unshift := func(id uint32) int {
		if id >= shift.base && id-shift.base < shift.count {
			return int(id - shift.base)
		}
		return int(id)
	}
	owners := map[string]aciwriter.Owner{}
	err := filepath.WalkDir(rootfs, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("read owner of %s: no stat data", path)
		}
		rel, err := filepath.Rel(rootfs, path)
		if err != nil {
			return err
		}
		key := "/"
		if rel != "." {
			key += filepath.ToSlash(rel)
		}
		owners[key] = aciwriter.Owner{UID: unshift(st.Uid), GID: unshift(st.Gid)}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read owners to unshift: %w", err)
	}
	return owners, nil
}

// inPrivateMountNamespace runs fn on an OS thread that has its own mount
// namespace, a slave copy of the caller's, so mounts that fn makes never
// propagate out. Go performs file I/O on regular files on the calling
// thread, so the paths that fn opens resolve in the new namespace, unless fn
// passes them to other goroutines. The thread is discarded afterwards, which ends the namespace.
func inPrivateMountNamespace(fn func() error) error {
	result := make(chan error, 1)
	go func() {
		// Returning without UnlockOSThread makes the runtime terminate the
		// thread instead of reusing it in the new namespace.
		runtime.LockOSThread()
		if unix.Gettid() != unix.Getpid() {
			result <- enterPrivateMountNamespace(fn)
			return
		}
		// This goroutine holds the main thread, which the runtime keeps
		// alive after its goroutine exits, so run fn on another thread.
		inner := make(chan error, 1)
		go func() {
			runtime.LockOSThread()
			if unix.Gettid() == unix.Getpid() {
				runtime.UnlockOSThread()
				inner <- errors.New("no thread other than the main thread for a private mount namespace")
				return
			}
			inner <- enterPrivateMountNamespace(fn)
		}()
		err := <-inner
		runtime.UnlockOSThread()
		result <- err
	}()
	return <-result
}

// enterPrivateMountNamespace must run on a locked OS thread that is discarded
// afterwards.
func enterPrivateMountNamespace(fn func() error) error {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("create mount namespace: %w", err)
	}
	if err := mount.Mount("make / rslave", "", "/", "none", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return err
	}
	return fn()
}

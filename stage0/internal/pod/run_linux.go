package pod

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/appc/spec/schema"
	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/abi"
	"github.com/rktfly/rkt/common/abi/stage1image"
	"github.com/rktfly/rkt/common/poddir"
)

// RunConfig is the input of Run.
type RunConfig struct {
	Store TreeStore
	// Apps are the pod's apps. Nil reads them from the pod manifest and
	// appsinfo, as run-prepared needs.
	Apps  []PreparedApp
	Flags RunFlags
	DNS   DNSConfig
	// Stage1Manifest is the stage1 image manifest if the caller has parsed
	// it already. Nil reads it from the pod's stage1/manifest.
	Stage1Manifest *schema.ImageManifest
	// Warn receives warnings for the user, such as flags the stage1 cannot
	// take and cleanup failures. Nil discards them.
	Warn *log.Logger
}

// Run starts a pod that is in the run state and locked by p. It mounts the
// overlays in overlay mode, links etc/mtab in each app root and writes the
// DNS files. Then it executes the stage1 run entrypoint in the pod directory
// with the lock fd named in RKT_LOCK_FD. On success it does not return. On
// failure it unmounts what it mounted and returns the error.
func (p *Pod) Run(cfg RunConfig) error {
	if cfg.Warn == nil {
		cfg.Warn = log.New(io.Discard, "", 0)
	}
	err := p.run(cfg)
	p.unmountAll(cfg.Warn)
	return err
}

func (p *Pod) run(cfg RunConfig) error {
	dir := p.Path()
	s1m := cfg.Stage1Manifest
	var err error
	if s1m == nil {
		if s1m, err = readImageManifest(poddir.Stage1ManifestPath(dir)); err != nil {
			return fmt.Errorf("read stage1 manifest of pod %s: %w", p.UUID, err)
		}
	}
	entry, ok := stage1image.Entrypoint(s1m, abi.AnnotationRun)
	if !ok {
		return fmt.Errorf("stage1 image %q has no %s annotation", s1m.Name, abi.AnnotationRun)
	}
	version, err := stage1image.InterfaceVersion(s1m)
	if err != nil {
		return err
	}

	apps := cfg.Apps
	if apps == nil {
		if apps, err = p.loadApps(); err != nil {
			return err
		}
	}

	if _, err := os.Stat(poddir.OverlayPreparedPath(dir)); err == nil {
		if err := p.mountOverlays(cfg.Store, apps); err != nil {
			return err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("pod %s: %w", p.UUID, err)
	}

	for _, app := range apps {
		if err := linkMtab(poddir.AppRootfsPath(dir, app.Name)); err != nil {
			return fmt.Errorf("app %q of pod %s: %w", app.Name, p.UUID, err)
		}
	}

	mode, entries, err := cfg.DNS.Mode()
	if err != nil {
		return err
	}
	if err := writeDNSFiles(dir, cfg.DNS, mode, entries); err != nil {
		return fmt.Errorf("pod %s: %w", p.UUID, err)
	}

	flags := cfg.Flags
	flags.UUID = p.UUID
	flags.DNSConfMode = mode
	argv, warnings := Stage1RunArgs(filepath.Join(poddir.Stage1RootfsPath(dir), entry), version, flags)
	for _, w := range warnings {
		cfg.Warn.Printf("warning: %s", w)
	}
	return p.execStage1(argv)
}

// loadApps reads the app names from the pod manifest and each app's tree
// ID from appsinfo/<app>/treeStoreID (present in overlay mode only).
func (p *Pod) loadApps() ([]PreparedApp, error) {
	dir := p.Path()
	data, err := os.ReadFile(poddir.PodManifestPath(dir))
	if err != nil {
		return nil, fmt.Errorf("read pod manifest: %w", err)
	}
	var pm schema.PodManifest
	if err := json.Unmarshal(data, &pm); err != nil {
		return nil, fmt.Errorf("parse pod manifest of pod %s: %w", p.UUID, err)
	}

	apps := make([]PreparedApp, 0, len(pm.Apps))
	for _, ra := range pm.Apps {
		app := PreparedApp{Name: ra.Name.String(), Key: ra.Image.ID.String()}
		id, err := os.ReadFile(poddir.AppInfoTreeStoreIDPath(dir, app.Name))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read tree ID of app %q: %w", app.Name, err)
		}
		app.TreeID = strings.TrimSpace(string(id))
		apps = append(apps, app)
	}
	return apps, nil
}

// mountOverlays mounts the stage1 overlay on $S1, checks that the stage1
// ships rkt/status, and then mounts each app's overlay on its rootfs after
// copying the app's image manifest next to it.
func (p *Pod) mountOverlays(store TreeStore, apps []PreparedApp) error {
	dir := p.Path()
	s1Tree, err := os.ReadFile(poddir.Stage1TreeStoreIDPath(dir))
	if err != nil {
		return fmt.Errorf("read stage1 tree ID: %w", err)
	}
	s1TreeID := strings.TrimSpace(string(s1Tree))

	err = p.mountTreeOverlay(store.TreeRootfs(s1TreeID),
		poddir.OverlayUpperDir(dir, s1TreeID), poddir.OverlayWorkDir(dir, s1TreeID),
		poddir.Stage1RootfsPath(dir), poddir.OverlayDir(dir, s1TreeID))
	if err != nil {
		return fmt.Errorf("mount stage1 overlay of pod %s: %w", p.UUID, err)
	}

	// rkt updates the timestamps of rkt/status here and fails when the
	// stage1 image lacks the directory, which every stage1 must ship.
	now := time.Now()
	if err := os.Chtimes(poddir.AppStatusDir(dir), now, now); err != nil {
		return fmt.Errorf("stage1 image of pod %s must ship rkt/status: %w", p.UUID, err)
	}

	for _, app := range apps {
		if app.TreeID == "" {
			return fmt.Errorf("app %q of pod %s has no tree ID in appsinfo", app.Name, p.UUID)
		}
		// Stage1 images ship opt/stage2, so one mkdir is usually enough.
		// MkdirAll covers an image without it.
		if err := mkdirs(0o755, poddir.AppDir(dir, app.Name)); err != nil {
			if err := os.MkdirAll(poddir.AppDir(dir, app.Name), 0o755); err != nil {
				return err
			}
		}
		data, err := os.ReadFile(poddir.AppInfoManifestPath(dir, app.Name))
		if err != nil {
			return fmt.Errorf("read manifest of app %q: %w", app.Name, err)
		}
		if err := os.WriteFile(poddir.AppImageManifestPath(dir, app.Name), data, poddir.PodFileMode); err != nil {
			return err
		}

		err = p.mountTreeOverlay(store.TreeRootfs(app.TreeID),
			poddir.AppOverlayUpperDir(dir, app.TreeID, app.Name),
			poddir.AppOverlayWorkDir(dir, app.TreeID, app.Name),
			poddir.AppRootfsPath(dir, app.Name),
			poddir.OverlayDir(dir, app.TreeID), poddir.OverlayUpperDir(dir, app.TreeID), poddir.OverlayWorkDir(dir, app.TreeID))
		if err != nil {
			return fmt.Errorf("mount overlay of app %q of pod %s: %w", app.Name, p.UUID, err)
		}
	}
	return nil
}

// mountTreeOverlay creates parents, upper, work and target, in that order,
// with the mode of lower (the root of the merged tree takes its attributes
// from upper), and mounts the overlay. parents are the directories below the
// pod's overlay directory that upper and work need, and target's parent
// exists.
func (p *Pod) mountTreeOverlay(lower, upper, work, target string, parents ...string) error {
	fi, err := os.Stat(lower)
	if err != nil {
		return fmt.Errorf("rendered tree: %w", err)
	}
	mode := fi.Mode().Perm()

	if err := mkdirs(poddir.DirMode, poddir.OverlaysDir(p.Path())); err != nil {
		return err
	}
	if err := mkdirs(mode, append(parents, upper, work, target)...); err != nil {
		return err
	}
	return p.mountOverlay(lower, upper, work, target)
}

// mkdirs creates each directory with mode, in order, and accepts one that
// exists. Each parent must exist or come earlier in dirs. Unlike
// os.MkdirAll, it makes one mkdir call per directory and no stat calls.
func mkdirs(mode os.FileMode, dirs ...string) error {
	for _, dir := range dirs {
		err := os.Mkdir(dir, mode)
		if err == nil {
			continue
		}
		if !errors.Is(err, fs.ErrExist) {
			return err
		}
		if fi, statErr := os.Stat(dir); statErr != nil || !fi.IsDir() {
			return err
		}
	}
	return nil
}

// linkMtab makes etc/mtab in the app root a symlink to ../proc/self/mounts
// when etc is a real directory and mtab does not exist. A symlinked etc is
// left alone: following it could create the link outside the app root.
func linkMtab(root string) error {
	etc := filepath.Join(root, "etc")
	fi, err := os.Lstat(etc)
	if err != nil || !fi.IsDir() {
		return nil
	}
	mtab := filepath.Join(etc, "mtab")
	if _, err := os.Lstat(mtab); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := os.Symlink("../proc/self/mounts", mtab); err != nil {
		return fmt.Errorf("create etc/mtab: %w", err)
	}
	return nil
}

// execStage1 replaces rkt with the stage1 run entrypoint: cwd is the pod
// directory, the pod lock fd survives the exec and is named in RKT_LOCK_FD.
func (p *Pod) execStage1(argv []string) error {
	if err := p.waitSync(); err != nil {
		return fmt.Errorf("pod %s: %w", p.UUID, err)
	}
	if err := os.Chdir(p.Path()); err != nil {
		return fmt.Errorf("pod %s: %w", p.UUID, err)
	}
	if err := p.lock.ClearCloexec(); err != nil {
		return fmt.Errorf("pod %s: %w", p.UUID, err)
	}
	detachProcessGroup(p.log)

	env := stage1Env(os.Environ(), p.lock.Fd())
	p.log.Printf("executing stage1: %q", argv)
	err := unix.Exec(argv[0], argv, env)
	return fmt.Errorf("execute stage1 run entrypoint %s: %w", argv[0], os.NewSyscallError("execve", err))
}

// stage1Env returns environ with RKT_LOCK_FD set to fd and the two SELinux
// variables set empty, replacing any values they had.
func stage1Env(environ []string, fd int) []string {
	env := make([]string, 0, len(environ)+3)
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case abi.EnvLockFd, abi.EnvSELinuxContext, abi.EnvSELinuxMountContext:
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		abi.EnvLockFd+"="+strconv.Itoa(fd),
		abi.EnvSELinuxContext+"=",
		abi.EnvSELinuxMountContext+"=")
}

// detachProcessGroup moves rkt into a process group of its own unless its
// stdin is a terminal whose foreground group is rkt's group. fly's stage1
// records getpgrp() as the pod's pgid, and `rkt stop` may signal that whole
// group, so the group must not include the calling script. A foreground job
// keeps its group, so that it stays in control of the terminal.
func detachProcessGroup(logger *log.Logger) {
	pgrp := unix.Getpgrp()
	fg, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	if err == nil && fg == pgrp {
		return
	}
	if err := unix.Setpgid(0, 0); err != nil {
		// EPERM for a session leader, whose group id is already its pid.
		logger.Printf("setpgid: %v", err)
	}
}

func readImageManifest(path string) (*schema.ImageManifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var im schema.ImageManifest
	if err := json.Unmarshal(data, &im); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return &im, nil
}

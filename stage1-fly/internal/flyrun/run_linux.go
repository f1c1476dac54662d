package flyrun

import (
	"errors"
	"fmt"
	"log"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/abi"
	"github.com/rktfly/rkt/common/envfile"
	"github.com/rktfly/rkt/common/lock"
	"github.com/rktfly/rkt/common/mountinfo"
	"github.com/rktfly/rkt/common/poddir"
	"github.com/rktfly/rkt/common/sysfile"
	"github.com/rktfly/rkt/stage1-fly/internal/creds"
	"github.com/rktfly/rkt/stage1-fly/internal/manifest"
	"github.com/rktfly/rkt/stage1-fly/internal/mountplan"
)

// Pod is the loaded pod: its manifest and the one app fly runs.
type Pod struct {
	Dir      string
	Manifest *manifest.PodManifest
	// App is the pod's first app, with its App section taken from the
	// image manifest when the pod manifest has none.
	App           manifest.RuntimeApp
	ImageManifest *manifest.ImageManifest
}

// LoadPod reads the pod manifest of the pod directory dir and the image
// manifest of each app ($A/manifest), and checks that the pod has exactly
// one app.
func LoadPod(dir string) (*Pod, error) {
	data, err := sysfile.ReadFile(poddir.PodManifestPath(dir))
	if err != nil {
		return nil, fmt.Errorf("load pod manifest: %w", err)
	}
	podManifest, err := manifest.DecodePod(data)
	if err != nil {
		return nil, fmt.Errorf("parse pod manifest %s: %w", poddir.PodManifestPath(dir), err)
	}
	seen := map[string]bool{}
	for _, v := range podManifest.Volumes {
		if seen[v.Name] {
			return nil, fmt.Errorf("pod manifest: duplicate volume name %q", v.Name)
		}
		seen[v.Name] = true
	}

	pod := &Pod{Dir: dir, Manifest: podManifest}
	images := make([]*manifest.ImageManifest, len(podManifest.Apps))
	for i, app := range podManifest.Apps {
		if images[i], err = loadImageManifest(dir, app.Name); err != nil {
			return nil, err
		}
	}
	if len(podManifest.Apps) != 1 {
		return pod, errOneApp
	}
	pod.App = podManifest.Apps[0]
	pod.ImageManifest = images[0]
	if pod.App.App == nil {
		pod.App.App = pod.ImageManifest.App
	}
	if pod.App.App == nil {
		return nil, fmt.Errorf("app %q: neither the pod manifest nor the image manifest has an app section", pod.App.Name)
	}
	return pod, nil
}

var errOneApp = errors.New("fly only supports 1 application per Pod for now")

func loadImageManifest(dir, app string) (*manifest.ImageManifest, error) {
	path := poddir.AppImageManifestPath(dir, app)
	data, err := sysfile.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load image manifest of app %q: %w", app, err)
	}
	im, err := manifest.DecodeImage(data)
	if err != nil {
		return nil, fmt.Errorf("parse image manifest %s: %w", path, err)
	}
	return im, nil
}

// Run runs the pod in the working directory and, on success, does not
// return: the app replaces the process. The steps and their order are
// those of rkt's fly.
func Run(flags Flags, logger *log.Logger) error {
	flags.LogIgnored(logger.Printf)
	podDir, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("get pod directory: %w", err)
	}

	pod, loadErr := LoadPod(podDir)
	if loadErr != nil && !errors.Is(loadErr, errOneApp) {
		return loadErr
	}
	// rkt writes runtime-config before it checks the number of apps.
	if err := writeRuntimeConfig(podDir, flags); err != nil {
		return err
	}
	if loadErr != nil {
		return loadErr
	}
	app := pod.App.App
	if len(app.Exec) == 0 || app.Exec[0] == "" {
		return fmt.Errorf("image %q has an empty \"exec\" (try --exec=BINARY)", imageName(pod))
	}

	podLock, err := lockFromEnv(podDir)
	if err != nil {
		return err
	}
	workDir := app.WorkingDirectory
	if workDir == "" {
		workDir = "/"
	}
	rootfs := poddir.AppRootfsPath(podDir, pod.App.Name)
	env := appEnv(app.Environment)
	for _, v := range env {
		if err := envfile.Validate(v); err != nil {
			return fmt.Errorf("app %q: %v: fly keeps the app's environment for rkt enter as NAME=value lines, so remove the variable from the manifest", pod.App.Name, err)
		}
	}

	if err := setUpMounts(pod, rootfs, flags, logger); err != nil {
		return err
	}

	// The pid files are written after the mounts, so that a reader that
	// finds them can rely on a complete rootfs.
	if err := poddir.WritePid(poddir.PidPath(podDir), os.Getpid()); err != nil {
		return err
	}
	if err := poddir.WritePid(poddir.PgidPath(podDir), syscall.Getpgrp()); err != nil {
		return err
	}

	credentials, err := creds.Resolve(rootfs, app, pod.ImageManifest)
	if err != nil {
		return fmt.Errorf("failed to lookup process credentials: %w", err)
	}
	if err := writeEnvFile(podDir, pod.App.Name, env); err != nil {
		return err
	}
	pathEnv, hasPath := app.Environment.Get("PATH")
	argv0, err := findExecutable(rootfs, app.Exec[0], app.WorkingDirectory, pathEnv, hasPath)
	if err != nil {
		return err
	}
	argv := append([]string{argv0}, app.Exec[1:]...)

	return execApp(rootfs, workDir, credentials, podLock, argv, envfile.Environ(env), logger)
}

func imageName(pod *Pod) string {
	if pod.ImageManifest != nil {
		return pod.ImageManifest.Name
	}
	return pod.App.Image.ID
}

func writeRuntimeConfig(podDir string, flags Flags) error {
	cfg := abi.RuntimeConfig{
		Debug:          flags.Debug,
		ResolvConfMode: string(flags.DNS.Resolv),
		EtcHostsMode:   string(flags.DNS.Hosts),
	}
	return abi.WriteRuntimeConfig(poddir.RuntimeConfigPath(podDir), cfg)
}

// lockFromEnv returns the pod lock that stage0 passed in RKT_LOCK_FD. It
// stays open, and locked, through the exec: the app then holds it.
func lockFromEnv(podDir string) (*lock.Lock, error) {
	value := os.Getenv(abi.EnvLockFd)
	fd, err := strconv.Atoi(value)
	if err != nil || fd < 0 {
		return nil, fmt.Errorf("can't get rkt lock fd: %s=%q is not a file descriptor", abi.EnvLockFd, value)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
		return nil, fmt.Errorf("can't get rkt lock fd: %s=%d: %w", abi.EnvLockFd, fd, err)
	}
	return lock.FromFd(fd, podDir), nil
}

func setUpMounts(pod *Pod, rootfs string, flags Flags, logger *log.Logger) error {
	// Compute reads the host's mount table, when the plan needs it, before
	// the first mount, as rkt does: the mounts made below would otherwise
	// show up as volume submounts. A failed read is returned as it is.
	var readErr error
	readHostMounts := func() ([]mountinfo.Mount, error) {
		mounts, err := mountinfo.ReadSelf()
		readErr = err
		return mounts, err
	}
	plan, err := mountplan.Compute(mountplan.Input{
		PodDir:        pod.Dir,
		App:           pod.App,
		ImageManifest: pod.ImageManifest,
		Volumes:       resolveHostVolumes(pod.Manifest.Volumes),
		HostMounts:    readHostMounts,
		DNS:           flags.DNS,
		Log:           logger,
	})
	if readErr != nil {
		return readErr
	}
	if err != nil {
		return fmt.Errorf("plan mounts for app %q: %w", pod.App.Name, err)
	}
	plan.Log(logger)
	// Apply's errors are returned unwrapped: they start with rkt's fly
	// messages, such as "can't copy /etc/resolv.conf", and the one-line
	// summary on stderr keeps only the outermost message and the innermost
	// cause.
	if err := mountplan.Apply(rootfs, plan, logger); err != nil {
		return err
	}
	return nil
}

func writeEnvFile(podDir, app string, env []envfile.Var) error {
	// The stage1 image has $S1/rkt, so one mkdir(2) normally does. MkdirAll
	// handles the rest: a missing parent, or an existing env directory.
	if err := os.Mkdir(poddir.EnvDir(podDir), 0o755); err != nil {
		if err := os.MkdirAll(poddir.EnvDir(podDir), 0o755); err != nil {
			return fmt.Errorf("write env file: %w", err)
		}
	}
	return envfile.Write(poddir.EnvFilePath(podDir, app), env)
}

// execApp changes root, directory and credentials, and replaces the
// process with the app. It returns only on failure.
func execApp(rootfs, workDir string, c creds.Credentials, podLock *lock.Lock, argv, env []string, logger *log.Logger) error {
	logger.Printf("chroot %q, chdir %q, uid %d gid %d groups %v", rootfs, workDir, c.UID, c.GID, c.Groups)
	if err := unix.Chroot(rootfs); err != nil {
		return fmt.Errorf("chroot %s: %w", rootfs, err)
	}
	if err := unix.Chdir(workDir); err != nil {
		return fmt.Errorf("can't change to working directory %q: %w", workDir, err)
	}
	// The credentials are set on this thread only, which stays locked to
	// the goroutine for the exec below: the exec ends every other thread.
	if err := c.ApplyForExec(); err != nil {
		return fmt.Errorf("set credentials: %w", err)
	}
	if err := podLock.ClearCloexec(); err != nil {
		return fmt.Errorf("keep pod lock open across exec: %w", err)
	}
	logger.Printf("exec %q", argv)
	if err := unix.Exec(argv[0], argv, env); err != nil {
		return fmt.Errorf("can't execute %q: %w", argv[0], err)
	}
	return nil
}

package cleanup

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/appc/spec/schema"
	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/abi"
	"github.com/rktfly/rkt/common/abi/stage1image"
	"github.com/rktfly/rkt/common/mountinfo"
	"github.com/rktfly/rkt/common/poddir"
)

// Pod names a pod directory to delete and what its stage1 gc entrypoint
// needs.
type Pod struct {
	// Dir is the pod directory, normally $D/pods/exited-garbage/<uuid> or
	// $D/pods/garbage/<uuid>. The caller holds LOCK_EX on it.
	Dir string
	// UUID is the pod's UUID, the last argument of the stage1 gc entrypoint.
	UUID string
	// Ran is true for a pod that was started (state exited garbage). Only
	// such a pod gets the stage1 gc entrypoint run on it.
	Ran bool
	// Stage1TreeRootfs is the rendered stage1 tree ($D/cas/tree/<id>/rootfs),
	// the lower dir for mounting the stage1 overlay again when it is gone,
	// for example after a reboot. Empty skips that step.
	Stage1TreeRootfs string
	// LocalConfig is passed to the gc entrypoint as --local-config DIR for
	// stage1 interface version 5 and later, when it is not empty.
	LocalConfig string
	// Debug passes --debug to the gc entrypoint.
	Debug bool
}

// Options are the loggers and output streams of DeletePod.
type Options struct {
	// Log receives debug messages. Nil discards them.
	Log *log.Logger
	// Warn receives problems that do not stop the deletion, such as a failed
	// stage1 gc entrypoint. Nil discards them.
	Warn *log.Logger
	// Stderr is the stderr of the stage1 gc entrypoint. Nil discards it.
	Stderr io.Writer
	// Mounts, if not nil, is a snapshot of /proc/self/mountinfo taken
	// before the pod was locked, shared by the pods of one gc pass. When it
	// shows nothing mounted at or below Dir, DeletePod reads mountinfo no
	// more for this pod. A mount that appeared after the snapshot is still
	// never deleted through: RemoveTree stops at it and the pod is kept.
	// Nil reads mountinfo for each pod.
	Mounts []mountinfo.Mount
}

// DeletePod deletes a pod directory as rkt's gc does, with the
// safety checks that rkt lacks. For a pod that ran, it mounts the stage1
// overlay again if needed and runs the stage1 gc entrypoint. For every pod it
// then unmounts everything below Dir, because a pod whose rkt was killed
// during run may still have overlays mounted even though it never ran.
// Files are removed only after mountinfo shows nothing mounted below Dir,
// and by a walker that stops at mount points.
func DeletePod(p Pod, opts Options) error {
	logger := opts.Log
	if logger == nil {
		logger = log.New(io.Discard, "", 0)
	}
	warn := opts.Warn
	if warn == nil {
		warn = log.New(io.Discard, "", 0)
	}

	snapshot := opts.Mounts
	if p.Ran && runStage1GC(p, snapshot, opts.Stderr, logger, warn) {
		// The stage1 overlay was mounted after the snapshot.
		snapshot = nil
	}
	if err := unmountAll(p.Dir, snapshot, logger); err != nil {
		return fmt.Errorf("delete pod %s: %w", p.UUID, err)
	}
	if err := RemoveTree(p.Dir); err != nil {
		return fmt.Errorf("delete pod %s: %w", p.UUID, err)
	}
	return nil
}

// runStage1GC mounts the stage1 overlay again when it is gone, runs the
// stage1 gc entrypoint, and reports whether it mounted the overlay. Its
// failures are warnings: rkt deletes the pod even when the stage1 gc
// entrypoint fails.
func runStage1GC(p Pod, snapshot []mountinfo.Mount, stderr io.Writer, logger, warn *log.Logger) bool {
	mounted, err := mountStage1Overlay(p, snapshot, logger)
	if err != nil {
		warn.Printf("skipping stage1 GC of pod %q: %v", p.UUID, err)
		return false
	}
	if err := execGC(p, stderr, logger); err != nil {
		warn.Printf("problem performing stage1 GC on %q: %v", p.UUID, err)
	}
	// The overlay mounted here is left to unmountAll, which unmounts every
	// mount below the pod only after making it private.
	return mounted
}

// mountStage1Overlay mounts the stage1 overlay of an overlay-mode pod whose
// stage1 rootfs is not mounted, and reports whether it mounted it. snapshot
// is the mount table to check, nil to read it now.
func mountStage1Overlay(p Pod, snapshot []mountinfo.Mount, logger *log.Logger) (bool, error) {
	if _, err := os.Stat(poddir.OverlayPreparedPath(p.Dir)); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	rootfs := poddir.Stage1RootfsPath(p.Dir)
	mounts := snapshot
	if mounts == nil {
		var err error
		if mounts, err = mountinfo.ReadSelf(); err != nil {
			return false, err
		}
	}
	canonical, err := filepath.EvalSymlinks(rootfs)
	if err != nil {
		return false, fmt.Errorf("resolve stage1 rootfs: %w", err)
	}
	if mountinfo.IsMountPoint(mounts, canonical) {
		return false, nil
	}
	if p.Stage1TreeRootfs == "" {
		return false, errors.New("stage1 rootfs is not mounted and its rendered tree is unknown")
	}

	treeID, err := os.ReadFile(poddir.Stage1TreeStoreIDPath(p.Dir))
	if err != nil {
		return false, err
	}
	id := strings.TrimSpace(string(treeID))
	data := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s",
		p.Stage1TreeRootfs, poddir.OverlayUpperDir(p.Dir, id), poddir.OverlayWorkDir(p.Dir, id))
	err = unix.Mount("overlay", rootfs, "overlay", 0, data)
	if errors.Is(err, unix.EBUSY) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("mount stage1 overlay on %s with %q: %w", rootfs, data, err)
	}
	logger.Printf("mounted stage1 overlay of pod %q again", p.UUID)
	return true, nil
}

// execGC runs the stage1 gc entrypoint with rkt's argv ([--debug]
// [--local-config DIR] UUID), its
// working directory the pod directory, stdin and stdout /dev/null.
func execGC(p Pod, stderr io.Writer, logger *log.Logger) error {
	manifest, err := readStage1Manifest(p.Dir)
	if err != nil {
		return err
	}
	entrypoint, ok := stage1image.Entrypoint(manifest, abi.AnnotationGC)
	if !ok {
		return fmt.Errorf("stage1 image %q has no %s annotation", manifest.Name, abi.AnnotationGC)
	}
	version, err := stage1image.InterfaceVersion(manifest)
	if err != nil {
		return err
	}

	dir, err := filepath.Abs(p.Dir)
	if err != nil {
		return err
	}
	binary := filepath.Join(poddir.Stage1RootfsPath(dir), entrypoint)
	var args []string
	if p.Debug {
		args = append(args, "--debug")
	}
	if version >= abi.MinVersionGCLocalConfig && p.LocalConfig != "" {
		args = append(args, "--local-config", p.LocalConfig)
	}
	args = append(args, p.UUID)

	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Stderr = stderr
	logger.Printf("running stage1 gc: %s %s", binary, strings.Join(args, " "))
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("run %s: %w", binary, err)
	}
	return nil
}

func readStage1Manifest(podDir string) (*schema.ImageManifest, error) {
	path := poddir.Stage1ManifestPath(podDir)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read stage1 manifest: %w", err)
	}
	var manifest schema.ImageManifest
	if err := json.Unmarshal(data, &manifest); err != nil {
		return nil, fmt.Errorf("parse stage1 manifest %s: %w", path, err)
	}
	return &manifest, nil
}

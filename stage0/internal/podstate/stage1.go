package podstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
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

// ErrNotImplemented means that the pod's stage1 lacks an entrypoint.
var ErrNotImplemented = errors.New("not implemented for pod's stage1")

// Stage1Manifest reads the stage1 image manifest, $P/stage1/manifest.
func (p *Pod) Stage1Manifest() (*schema.ImageManifest, error) {
	data, err := os.ReadFile(poddir.Stage1ManifestPath(p.Path()))
	if err != nil {
		return nil, fmt.Errorf("read stage1 manifest of pod %q: %w", p.UUID, err)
	}
	var manifest schema.ImageManifest
	if err := json.Unmarshal(data, &manifest); err != nil {
		return nil, fmt.Errorf("parse stage1 manifest of pod %q: %w", p.UUID, err)
	}
	return &manifest, nil
}

// stage1Entrypoint returns the value of the entrypoint annotation, or an
// error wrapping ErrNotImplemented.
func (p *Pod) stage1Entrypoint(annotation string) (string, error) {
	manifest, err := p.Stage1Manifest()
	if err != nil {
		return "", err
	}
	entrypoint, ok := stage1image.Entrypoint(manifest, annotation)
	if !ok {
		return "", fmt.Errorf("%q %w", annotation, ErrNotImplemented)
	}
	return entrypoint, nil
}

// StopOptions configure Stop.
type StopOptions struct {
	// Force sends SIGKILL instead of SIGTERM.
	Force bool
	// Stdout and Stderr are the stop entrypoint's. Nil discards them.
	Stdout, Stderr io.Writer
}

// Stop runs the stage1 stop entrypoint of a running pod, with
// the pod directory as its working directory and stdin /dev/null.
//
// fly's stop signals the process group in pgid once the pid in pid is gone.
// That group is the invoking shell's job when rkt was started without its
// own process group, so Stop refuses to call the entrypoint when the pid is
// gone and pgid names a group other than the pod's own (pgid == pid).
func (p *Pod) Stop(opts StopOptions) error {
	if p.State != abi.StateRunning {
		return fmt.Errorf("pod %q is not running: %w", p.UUID, ErrWrongState)
	}
	entrypoint, err := p.stage1Entrypoint(abi.AnnotationStop)
	if err != nil {
		return fmt.Errorf("rkt stop %w", err)
	}
	if err := p.checkProcessGroup(); err != nil {
		return err
	}

	binary := filepath.Join(poddir.Stage1RootfsPath(p.Path()), entrypoint)
	args := []string{}
	if opts.Force {
		args = append(args, "--force")
	}
	args = append(args, p.UUID)
	cmd := exec.Command(binary, args...)
	cmd.Dir = p.Path()
	cmd.Stdout = opts.Stdout
	cmd.Stderr = opts.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("error stopping %q: %w", p.UUID, err)
	}
	return nil
}

func (p *Pod) checkProcessGroup() error {
	pid, err := poddir.ReadPid(poddir.PidPath(p.Path()))
	if err != nil {
		return nil // the entrypoint reports a missing pid itself
	}
	if err := unix.Kill(pid, 0); !errors.Is(err, unix.ESRCH) {
		return nil
	}
	pgid, err := poddir.ReadPid(poddir.PgidPath(p.Path()))
	if err != nil || pgid == pid {
		return nil
	}
	return fmt.Errorf("pod %q: its process %d has exited and its process group %d was not created for the pod, so it may contain processes outside the pod; stop them by hand", p.UUID, pid, pgid)
}

// EnterCommand returns the binary and argv that run cmd in app of a running
// pod through the stage1 enter entrypoint. The binary is the
// copy in the rendered stage1 tree, as rkt uses, or the pod's stage1 rootfs
// when the tree is gone. pid is the pod's target process from WaitPid.
func (p *Pod) EnterCommand(app string, pid int, cmd []string) (string, []string, error) {
	entrypoint, err := p.stage1Entrypoint(abi.AnnotationEnter)
	if err != nil {
		return "", nil, err
	}
	binary := filepath.Join(poddir.Stage1RootfsPath(p.Path()), entrypoint)
	if treeID, err := p.Stage1TreeStoreID(); err == nil && treeID != "" {
		inTree := filepath.Join(TreeRootfs(p.DataDir, treeID), entrypoint)
		if _, err := os.Stat(inTree); err == nil {
			binary = inTree
		}
	}
	argv := []string{binary, "--pid=" + strconv.Itoa(pid), "--appname=" + app, "--"}
	argv = append(argv, cmd...)
	return binary, argv, nil
}

// AppName returns app if it names an app of the pod, or the pod's only app
// when app is empty.
func (p *Pod) AppName(app string) (string, error) {
	manifest, err := p.Manifest()
	if err != nil {
		return "", err
	}
	var names []string
	for _, ra := range manifest.Apps {
		names = append(names, ra.Name.String())
	}
	if app != "" {
		for _, name := range names {
			if name == app {
				return app, nil
			}
		}
		return "", fmt.Errorf("pod %q has no app %q (apps: %s)", p.UUID, app, strings.Join(names, ", "))
	}
	switch len(names) {
	case 0:
		return "", fmt.Errorf("pod %q has no apps", p.UUID)
	case 1:
		return names[0], nil
	default:
		return "", fmt.Errorf("pod %q has several apps, choose one with --app: %s", p.UUID, strings.Join(names, ", "))
	}
}

// WaitPid polls every 100 ms until the pod's stage1 publishes pid, or ppid
// with exactly one child, and returns the target pid. It fails
// when the pod stops running or ctx ends.
func (p *Pod) WaitPid(ctx context.Context) (int, error) {
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for {
		if pid, err := poddir.ReadPid(poddir.PidPath(p.Path())); err == nil {
			return pid, nil
		}
		if ppid, err := poddir.ReadPid(poddir.PpidPath(p.Path())); err == nil {
			if child, ok := onlyChild(ppid); ok {
				return child, nil
			}
		}
		if err := p.Refresh(); err != nil {
			return 0, err
		}
		if p.State != abi.StateRunning {
			return 0, fmt.Errorf("pod %q is %s, not running: %w", p.UUID, p.State, ErrWrongState)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("wait for pid of pod %q: %w", p.UUID, ctx.Err())
		case <-ticker.C:
		}
	}
}

// onlyChild returns the single child of pid from /proc, if it has exactly one.
func onlyChild(pid int) (int, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0, false
	}
	fields := strings.Fields(string(data))
	if len(fields) != 1 {
		return 0, false
	}
	child, err := strconv.Atoi(fields[0])
	return child, err == nil
}

package podstate

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"sync"
	"time"

	"github.com/rktfly/rkt/common/abi"
	"github.com/rktfly/rkt/common/lock"
	"github.com/rktfly/rkt/common/mountinfo"
	"github.com/rktfly/rkt/common/poddir"
)

// GCOptions configure GC. Their defaults in rkt are a grace period of 30
// minutes and an expiry of 24 hours for prepared pods.
type GCOptions struct {
	// GracePeriod is how long a pod stays in exited-garbage after it was
	// marked, so that its status can still be read.
	GracePeriod time.Duration
	// ExpirePrepared is the age after which a prepared pod, or an embryo
	// that no process holds, is moved to garbage.
	ExpirePrepared time.Duration
	// MarkOnly stops after marking exited and aborted pods.
	MarkOnly bool
	// LocalConfig and Debug are passed to the stage1 gc entrypoint.
	LocalConfig string
	Debug       bool
	// Stdout receives "Garbage collecting pod ..." lines, Notices the
	// moving and grace period messages that rkt prints on stderr, Log the
	// debug messages and Stderr the stderr of the stage1 gc entrypoint.
	// Nil discards each.
	Stdout  io.Writer
	Notices *log.Logger
	Log     *log.Logger
	Stderr  io.Writer
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// GC runs rkt gc's passes in rkt's order: mark exited pods,
// mark aborted prepares, then, unless MarkOnly, expire prepared pods and
// stale embryos, delete exited-garbage pods past their grace period and
// delete garbage pods. A pod that another process holds locked is skipped,
// so a gc never waits for another gc's deletion. It returns the failures
// of all passes joined; a failure in one pod does not stop the others.
func GC(dataDir string, opts GCOptions) error {
	if err := EnsureDirs(dataDir); err != nil {
		return err
	}
	g := newCollector(dataDir, opts)
	passes := []func() error{g.markExited, g.markAborted}
	if !opts.MarkOnly {
		passes = append(passes, g.expirePrepared, g.expireEmbryos, g.sweepExitedGarbage, g.sweepGarbage)
	}
	var errs []error
	for _, pass := range passes {
		if err := pass(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

type collector struct {
	dataDir string
	opts    GCOptions
	notices *log.Logger
	log     *log.Logger
	stdout  io.Writer
	stderr  io.Writer
	now     func() time.Time
}

// newCollector fills in the defaults of opts. The sweep deletes several pods
// at a time, so every output goes through one mutex: callers may pass one
// bytes.Buffer for several of them.
func newCollector(dataDir string, opts GCOptions) *collector {
	var mu sync.Mutex
	g := &collector{dataDir: dataDir, opts: opts, now: opts.Now}
	g.notices = lockedLogger(&mu, opts.Notices)
	g.log = lockedLogger(&mu, opts.Log)
	g.stdout = io.Discard
	if opts.Stdout != nil {
		g.stdout = &lockedWriter{mu: &mu, w: opts.Stdout}
	}
	// An *os.File is handed to the stage1 gc entrypoint as its stderr fd.
	// Any other writer makes exec copy the output through a pipe, in a
	// goroutine that needs the lock.
	g.stderr = opts.Stderr
	if _, isFile := opts.Stderr.(*os.File); opts.Stderr != nil && !isFile {
		g.stderr = &lockedWriter{mu: &mu, w: opts.Stderr}
	}
	if g.now == nil {
		g.now = time.Now
	}
	return g
}

// lockedWriter serializes the writes of several goroutines to w.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// lockedLogger returns a logger like logger that writes under mu, or one
// that discards everything when logger is nil.
func lockedLogger(mu *sync.Mutex, logger *log.Logger) *log.Logger {
	if logger == nil {
		return log.New(io.Discard, "", 0)
	}
	return log.New(&lockedWriter{mu: mu, w: logger.Writer()}, logger.Prefix(), logger.Flags())
}

func (g *collector) list(stateDir string) ([]*Pod, error) {
	return List(g.dataDir, ListOptions{
		StateDirs: []string{stateDir},
		Skipped: func(path, reason string) {
			g.notices.Printf("skipping %s: %s", path, reason)
		},
	})
}

// eachPod calls act on each pod in stateDir and joins act's errors. what
// names the pass in the error of a failed listing.
func (g *collector) eachPod(stateDir, what string, act func(*Pod) error) error {
	pods, err := g.list(stateDir)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	var errs []error
	for _, p := range pods {
		if err := act(p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ignoreGone drops ErrPodGone, which a move returns when another process
// moved or deleted the pod first.
func ignoreGone(err error) error {
	if errors.Is(err, ErrPodGone) {
		return nil
	}
	return err
}

// expired reports whether the pod directory's ctime, the time of its last
// rename, is older than ExpirePrepared. A zero ctime is never expired.
func (g *collector) expired(p *Pod) (bool, error) {
	changed, err := ctime(p.Path())
	if err != nil {
		return false, err
	}
	return !changed.IsZero() && g.now().After(changed.Add(g.opts.ExpirePrepared)), nil
}

func (g *collector) markExited() error {
	return g.eachPod(poddir.StateDirRun, "mark exited pods", func(p *Pod) error {
		if p.State != abi.StateExited {
			return nil
		}
		g.notices.Printf("moving pod %q to garbage", p.UUID)
		return ignoreGone(p.ToExitedGarbage())
	})
}

func (g *collector) markAborted() error {
	return g.eachPod(poddir.StateDirPrepare, "mark aborted prepares", func(p *Pod) error {
		if p.State != abi.StateAbortedPrepare {
			return nil
		}
		g.notices.Printf("moving failed prepare %q to garbage", p.UUID)
		return ignoreGone(p.ToGarbage())
	})
}

// expirePrepared moves prepared pods whose directory ctime (the time of the
// rename into prepared/) is older than ExpirePrepared.
func (g *collector) expirePrepared() error {
	return g.eachPod(poddir.StateDirPrepared, "expire prepared pods", func(p *Pod) error {
		expired, err := g.expired(p)
		if err != nil || !expired {
			return err
		}
		g.notices.Printf("moving expired prepared pod %q to garbage", p.UUID)
		return ignoreGone(p.ToGarbage())
	})
}

// expireEmbryos moves embryo pods older than ExpirePrepared that no process
// holds locked. An embryo is left when rkt dies between creating the
// directory and renaming it into prepare/. The exclusive lock is held across
// the rename, so a creator that opened the embryo just now blocks on its own
// lock and then fails its rename, instead of working on a moved directory.
func (g *collector) expireEmbryos() error {
	return g.eachPod(poddir.StateDirEmbryo, "expire embryo pods", func(p *Pod) error {
		expired, err := g.expired(p)
		if err != nil || !expired {
			return err
		}
		return g.moveEmbryo(p)
	})
}

func (g *collector) moveEmbryo(p *Pod) error {
	l, err := lock.OpenDir(p.Path())
	if errors.Is(err, fs.ErrNotExist) {
		return nil // renamed into prepare/ or deleted since the listing
	}
	if err != nil {
		return fmt.Errorf("expire embryo pod %q: %w", p.UUID, err)
	}
	defer l.Close()
	if err := l.TryExclusive(); err != nil {
		if errors.Is(err, lock.ErrLocked) {
			g.log.Printf("embryo pod %q is held by its creator, skipped", p.UUID)
			return nil
		}
		return err
	}
	g.notices.Printf("moving stale embryo pod %q to garbage", p.UUID)
	return ignoreGone(p.ToGarbage())
}

func (g *collector) sweepExitedGarbage() error {
	pods, err := g.list(poddir.StateDirExitedGarbage)
	if err != nil {
		return fmt.Errorf("delete exited-garbage pods: %w", err)
	}
	var due []*Pod
	var errs []error
	for _, p := range pods {
		marked, err := ctime(p.Path())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if marked.IsZero() {
			continue
		}
		if !g.now().After(marked.Add(g.opts.GracePeriod)) {
			g.notices.Printf("pod %q not removed: still within grace period (%s)", p.UUID, g.opts.GracePeriod)
			continue
		}
		due = append(due, p)
	}
	errs = append(errs, g.deleteAll(due))
	return errors.Join(errs...)
}

func (g *collector) sweepGarbage() error {
	pods, err := g.list(poddir.StateDirGarbage)
	if err != nil {
		return fmt.Errorf("delete garbage pods: %w", err)
	}
	return g.deleteAll(pods)
}

// sweepWorkers is the number of pods that a gc pass deletes at a time.
// Deleting a pod is mostly waiting for the file system to unlink files, so
// a few deletions in flight overlap those waits. BenchmarkGC1000 took 1.8 to
// 3.0 s one pod at a time and 0.3 to 0.6 s with 4 to 32 in flight. That was
// measured on a 2-core VM with an ext4 virtual disk, under a load average of
// 3 to 8 from other work, and 4 and 32 workers showed no clear difference.
const sweepWorkers = 8

// deleteAll deletes pods with up to sweepWorkers deletions at a time. It
// reads the mount table once for all of them, so a pod with nothing mounted
// below it costs no mountinfo read. Reading the table once per pod would
// grow with the square of the pod count when many pods keep fly's mounts.
// The order of the "Garbage collecting pod" lines is not fixed.
func (g *collector) deleteAll(pods []*Pod) error {
	if len(pods) == 0 {
		return nil
	}
	snapshot, err := mountinfo.ReadSelf()
	if err != nil {
		return fmt.Errorf("delete pods: %w", err)
	}

	queue := make(chan *Pod)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range min(sweepWorkers, len(pods)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range queue {
				if err := g.delete(p, snapshot); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}

	for _, p := range pods {
		queue <- p
	}
	close(queue)
	wg.Wait()
	return errors.Join(errs...)
}

// delete removes one marked pod unless another process holds its lock
// (another gc or rm deleting it), in which case that process finishes it.
// snapshot is the mount table read before the pod was locked.
func (g *collector) delete(p *Pod, snapshot []mountinfo.Mount) error {
	if p.State == abi.StateDeleting || p.State == abi.StateExitedDeleting {
		g.log.Printf("pod %q is being deleted by another process, skipped", p.UUID)
		return nil
	}
	err := p.Delete(DeleteOptions{
		Locked: func() {
			fmt.Fprintf(g.stdout, "Garbage collecting pod %q\n", p.UUID)
		},
		LocalConfig: g.opts.LocalConfig,
		Debug:       g.opts.Debug,
		Log:         g.log,
		Warn:        g.notices,
		Stderr:      g.stderr,
		Mounts:      snapshot,
	})
	if errors.Is(err, ErrPodGone) || errors.Is(err, lock.ErrLocked) {
		g.log.Printf("pod %q: %v", p.UUID, err)
		return nil
	}
	return err
}

// RemoveOptions configure Remove.
type RemoveOptions struct {
	// RunningWait bounds how long Remove waits for a running pod to exit,
	// so that rkt rm right after rkt stop finds the pod exited.
	RunningWait time.Duration
	// LocalConfig and Debug are passed to the stage1 gc entrypoint.
	LocalConfig string
	Debug       bool
	// Notices, Log and Stderr are as in GCOptions.
	Notices *log.Logger
	Log     *log.Logger
	Stderr  io.Writer
}

// Remove deletes one pod at once, as rkt rm does: an exited
// pod moves to exited-garbage and is deleted, an aborted or prepared pod
// moves to garbage and is deleted. A running pod is waited for up to
// RunningWait; after that, and for embryo, preparing and deleting pods, it
// returns an error wrapping ErrWrongState.
func Remove(p *Pod, opts RemoveOptions) error {
	if err := EnsureDirs(p.DataDir); err != nil {
		return err
	}
	g := newCollector(p.DataDir, GCOptions{Notices: opts.Notices, Log: opts.Log})
	if p.State == abi.StateRunning {
		if err := waitNotRunning(p, opts.RunningWait); err != nil {
			return err
		}
	}

	switch p.State {
	case abi.StateRunning:
		return fmt.Errorf("pod %q is currently running: %w", p.UUID, ErrWrongState)
	case abi.StateEmbryo, abi.StatePreparing:
		return fmt.Errorf("pod %q is currently being prepared: %w", p.UUID, ErrWrongState)
	case abi.StateDeleting, abi.StateExitedDeleting:
		return fmt.Errorf("pod %q is currently being deleted: %w", p.UUID, ErrWrongState)
	case abi.StateAbortedPrepare:
		g.notices.Printf("moving failed prepare %q to garbage", p.UUID)
		if err := p.ToGarbage(); err != nil {
			return err
		}
	case abi.StatePrepared:
		// rm removes a prepared pod on request, so gc's "moving expired
		// prepared pod" notice would be false here.
		if err := p.ToGarbage(); err != nil {
			return err
		}
	case abi.StateExited:
		if err := p.ToExitedGarbage(); err != nil {
			return err
		}
	}

	return p.Delete(DeleteOptions{
		Wait:        true,
		LocalConfig: opts.LocalConfig,
		Debug:       opts.Debug,
		Log:         g.log,
		Warn:        g.notices,
		Stderr:      opts.Stderr,
	})
}

// waitNotRunning polls the pod's state until it is no longer running or
// timeout has passed, and updates p.
func waitNotRunning(p *Pod, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for p.State == abi.StateRunning && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		if err := p.Refresh(); err != nil {
			return err
		}
	}
	return nil
}

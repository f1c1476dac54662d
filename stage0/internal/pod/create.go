package pod

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/google/uuid"
	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/lock"
	"github.com/rktfly/rkt/common/poddir"
)

// ErrNotPrepared is returned, wrapped, by OpenPrepared when the pod is not in
// the prepared state.
var ErrNotPrepared = errors.New("pod is not prepared")

// Pod is a pod directory held by this process through an exclusive flock on
// its directory fd. The lock follows the directory across renames.
type Pod struct {
	// UUID is the pod's UUID in canonical lower-case form.
	UUID    string
	dataDir string
	// state is the state directory name the pod is in now.
	state string
	lock  *lock.Lock
	log   *log.Logger
	// mounts lists the mounts this process made, in order, so that a
	// failure before the stage1 exec can remove them.
	mounts []string
	// synced receives the result of the fsync of the state directory that
	// the pod last moved into. The fsync runs while the pod is filled.
	synced chan error
}

// Path returns the pod directory in its current state.
func (p *Pod) Path() string {
	return poddir.PodDir(p.dataDir, p.state, p.UUID)
}

// Close releases the pod lock. run never calls it: the lock fd goes to the
// stage1.
func (p *Pod) Close() error {
	return p.lock.Close()
}

// EnsureStateDirs creates $D/pods and its six state directories (mode 0750).
func EnsureStateDirs(dataDir string) error {
	for _, state := range poddir.StateDirNames() {
		dir := poddir.StateDir(dataDir, state)
		if err := os.MkdirAll(dir, poddir.DirMode); err != nil {
			return fmt.Errorf("create pod state directory: %w", err)
		}
	}
	return nil
}

// Create makes a new pod directory. It creates pods/embryo/<uuid>, takes an
// exclusive lock on it, renames it to pods/prepare/<uuid> and starts the
// fsync of pods/prepare, which the next rename waits for. The caller holds
// the lock until it renames the pod onward.
// logger may be nil.
func Create(dataDir string, logger *log.Logger) (*Pod, error) {
	if logger == nil {
		logger = log.New(io.Discard, "", 0)
	}
	if err := EnsureStateDirs(dataDir); err != nil {
		return nil, err
	}

	p := &Pod{UUID: uuid.NewString(), dataDir: dataDir, state: poddir.StateDirEmbryo, log: logger}
	embryo := p.Path()
	if err := os.Mkdir(embryo, poddir.DirMode); err != nil {
		return nil, fmt.Errorf("create pod directory: %w", err)
	}

	l, err := lock.OpenDir(embryo)
	if err != nil {
		return nil, fmt.Errorf("create pod %s: %w", p.UUID, err)
	}
	p.lock = l
	if err := l.Exclusive(); err != nil {
		l.Close()
		return nil, fmt.Errorf("create pod %s: %w", p.UUID, err)
	}

	if err := p.moveTo(poddir.StateDirPrepare, true); err != nil {
		l.Close()
		return nil, fmt.Errorf("create pod %s: %w", p.UUID, err)
	}
	logger.Printf("created pod %s in %s", p.UUID, p.Path())
	return p, nil
}

// OpenPrepared opens the prepared pod uuid, takes an exclusive lock on it
// (waiting for other holders) and leaves it in the prepared state. The
// caller then calls MarkRunning, and of two callers only one wins that
// rename.
func OpenPrepared(dataDir, uuid string, logger *log.Logger) (*Pod, error) {
	if logger == nil {
		logger = log.New(io.Discard, "", 0)
	}
	p := &Pod{UUID: uuid, dataDir: dataDir, state: poddir.StateDirPrepared, log: logger}

	l, err := lock.OpenDir(p.Path())
	if errors.Is(err, unix.ENOENT) || errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("pod %q: %w", uuid, ErrNotPrepared)
	}
	if err != nil {
		return nil, fmt.Errorf("open pod %q: %w", uuid, err)
	}
	if err := l.Exclusive(); err != nil {
		l.Close()
		return nil, fmt.Errorf("lock pod %q: %w", uuid, err)
	}
	p.lock = l
	return p, nil
}

// MarkPrepared moves a pod that prepare finished to pods/prepared: it syncs
// the pod's file system, renames the directory, releases the lock and fsyncs
// pods/prepared, in the order rkt uses.
func (p *Pod) MarkPrepared() error {
	if err := p.waitSync(); err != nil {
		return err
	}
	if err := unix.Syncfs(p.lock.Fd()); err != nil {
		return fmt.Errorf("sync pod %s: %w", p.UUID, os.NewSyscallError("syncfs", err))
	}
	if err := p.moveTo(poddir.StateDirPrepared, false); err != nil {
		return fmt.Errorf("mark pod %s prepared: %w", p.UUID, err)
	}
	if err := p.lock.Close(); err != nil {
		return fmt.Errorf("unlock pod %s: %w", p.UUID, err)
	}
	return syncDir(poddir.StateDir(p.dataDir, poddir.StateDirPrepared))
}

// MarkRunning renames the locked pod to pods/run and fsyncs pods/run. The
// lock fd stays open: it becomes the pod lock fd of the stage1, which Run
// executes only once the fsync is done.
func (p *Pod) MarkRunning() error {
	if err := p.moveTo(poddir.StateDirRun, true); err != nil {
		return fmt.Errorf("mark pod %s running: %w", p.UUID, err)
	}
	return nil
}

// moveTo renames the pod directory into the state directory to. With sync
// set, it starts an fsync of that state directory. The next rename and the
// stage1 exec wait for that fsync, so it overlaps the writes that fill the
// pod while each rename still reaches the disk before the next one.
func (p *Pod) moveTo(to string, sync bool) error {
	if err := p.waitSync(); err != nil {
		return err
	}
	from := p.Path()
	dst := poddir.PodDir(p.dataDir, to, p.UUID)
	if err := os.Rename(from, dst); err != nil {
		return err
	}
	p.state = to
	if sync {
		dir := poddir.StateDir(p.dataDir, to)
		p.synced = make(chan error, 1)
		go func(done chan<- error) { done <- syncDir(dir) }(p.synced)
	}
	return nil
}

// waitSync returns the result of the fsync that moveTo started, waiting for
// it if needed.
func (p *Pod) waitSync() error {
	if p.synced == nil {
		return nil
	}
	err := <-p.synced
	p.synced = nil
	return err
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

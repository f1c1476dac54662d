package podstate

import (
	"bytes"
	"errors"
	"io/fs"
	"log"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rktfly/rkt/common/abi"
	"github.com/rktfly/rkt/common/poddir"
)

func assertPodAt(t *testing.T, data, id, wantStateDir string) {
	t.Helper()
	p, err := Get(data, id)
	if wantStateDir == "" {
		if !errors.Is(err, ErrPodGone) {
			t.Errorf("pod %s: err = %v, want it deleted", id, err)
		}
		return
	}
	if err != nil {
		t.Errorf("pod %s: %v, want it in %s", id, err, wantStateDir)
		return
	}
	if p.StateDir != wantStateDir {
		t.Errorf("pod %s is in %s, want %s", id, p.StateDir, wantStateDir)
	}
}

func TestGCPasses(t *testing.T) {
	data := t.TempDir()
	exited, running := uuidN(1), uuidN(2)
	aborted, preparing := uuidN(3), uuidN(4)
	prepared := uuidN(5)
	makePod(t, data, poddir.StateDirRun, exited)
	holdLock(t, makePod(t, data, poddir.StateDirRun, running))
	makePod(t, data, poddir.StateDirPrepare, aborted)
	holdLock(t, makePod(t, data, poddir.StateDirPrepare, preparing))
	makePod(t, data, poddir.StateDirPrepared, prepared)

	var out, notices bytes.Buffer
	err := GC(data, GCOptions{
		GracePeriod:    0,
		ExpirePrepared: 24 * time.Hour,
		Stdout:         &out,
		Notices:        log.New(&notices, "", 0),
		Now:            func() time.Time { return time.Now().Add(time.Second) },
	})
	if err != nil {
		t.Fatalf("GC: %v", err)
	}

	assertPodAt(t, data, exited, "")
	assertPodAt(t, data, aborted, "")
	assertPodAt(t, data, running, poddir.StateDirRun)
	assertPodAt(t, data, preparing, poddir.StateDirPrepare)
	assertPodAt(t, data, prepared, poddir.StateDirPrepared)
	for _, want := range []string{
		`Garbage collecting pod "` + exited + `"`,
		`Garbage collecting pod "` + aborted + `"`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout %q lacks %q", out.String(), want)
		}
	}
	if !strings.Contains(notices.String(), `moving pod "`+exited+`" to garbage`) {
		t.Errorf("notices %q lack the move of the exited pod", notices.String())
	}
}

func TestGCGracePeriodKeepsMarkedPod(t *testing.T) {
	data := t.TempDir()
	id := uuidN(1)
	makePod(t, data, poddir.StateDirRun, id)
	var notices bytes.Buffer
	err := GC(data, GCOptions{GracePeriod: 30 * time.Minute, Notices: log.New(&notices, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	assertPodAt(t, data, id, poddir.StateDirExitedGarbage)
	want := `pod "` + id + `" not removed: still within grace period (30m0s)`
	if !strings.Contains(notices.String(), want) {
		t.Errorf("notices %q lack %q", notices.String(), want)
	}

	// Once the grace period has passed, the next gc deletes it.
	err = GC(data, GCOptions{GracePeriod: 30 * time.Minute,
		Now: func() time.Time { return time.Now().Add(31 * time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	assertPodAt(t, data, id, "")
}

func TestGCMarkOnly(t *testing.T) {
	data := t.TempDir()
	exited, aborted := uuidN(1), uuidN(2)
	makePod(t, data, poddir.StateDirRun, exited)
	makePod(t, data, poddir.StateDirPrepare, aborted)
	if err := GC(data, GCOptions{MarkOnly: true}); err != nil {
		t.Fatal(err)
	}
	assertPodAt(t, data, exited, poddir.StateDirExitedGarbage)
	assertPodAt(t, data, aborted, poddir.StateDirGarbage)
}

func TestGCExpiresPreparedAndEmbryo(t *testing.T) {
	data := t.TempDir()
	prepared, embryo, heldEmbryo := uuidN(1), uuidN(2), uuidN(3)
	makePod(t, data, poddir.StateDirPrepared, prepared)
	makePod(t, data, poddir.StateDirEmbryo, embryo)
	holdLock(t, makePod(t, data, poddir.StateDirEmbryo, heldEmbryo))
	later := func() time.Time { return time.Now().Add(25 * time.Hour) }
	if err := GC(data, GCOptions{ExpirePrepared: 24 * time.Hour, Now: later}); err != nil {
		t.Fatal(err)
	}
	assertPodAt(t, data, prepared, "")
	assertPodAt(t, data, embryo, "")
	assertPodAt(t, data, heldEmbryo, poddir.StateDirEmbryo)
}

func TestMoveEmbryoOpenErrors(t *testing.T) {
	data := t.TempDir()
	if err := EnsureDirs(data); err != nil {
		t.Fatal(err)
	}
	g := newCollector(data, GCOptions{})

	t.Run("gone", func(t *testing.T) {
		p := &Pod{UUID: uuidN(1), DataDir: data, StateDir: poddir.StateDirEmbryo}
		if err := g.moveEmbryo(p); err != nil {
			t.Errorf("moveEmbryo of a missing embryo = %v, want nil", err)
		}
	})
	t.Run("not a directory", func(t *testing.T) {
		p := &Pod{UUID: uuidN(2), DataDir: data, StateDir: poddir.StateDirEmbryo}
		if err := os.WriteFile(p.Path(), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		err := g.moveEmbryo(p)
		if err == nil {
			t.Fatal("moveEmbryo of a regular file succeeded, want an error")
		}
		if !strings.Contains(err.Error(), p.UUID) {
			t.Errorf("error %q does not name the pod %s", err, p.UUID)
		}
		if _, err := os.Lstat(p.Path()); err != nil {
			t.Errorf("embryo entry was moved: %v", err)
		}
	})
}

func TestRemoveStates(t *testing.T) {
	data := t.TempDir()
	exited, prepared, running := uuidN(1), uuidN(2), uuidN(3)
	makePod(t, data, poddir.StateDirRun, exited)
	makePod(t, data, poddir.StateDirPrepared, prepared)
	holdLock(t, makePod(t, data, poddir.StateDirRun, running))

	for _, id := range []string{exited, prepared} {
		p, err := Get(data, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := Remove(p, RemoveOptions{}); err != nil {
			t.Errorf("Remove %s (%s): %v", id, p.State, err)
		}
		assertPodAt(t, data, id, "")
	}

	p, err := Get(data, running)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = Remove(p, RemoveOptions{RunningWait: 200 * time.Millisecond})
	if !errors.Is(err, ErrWrongState) {
		t.Errorf("Remove of a running pod: err = %v, want ErrWrongState", err)
	}
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Errorf("Remove gave up after %s, want it to wait 200ms", waited)
	}
	assertPodAt(t, data, running, poddir.StateDirRun)
}

func TestRemovePreparedPrintsNoNotice(t *testing.T) {
	data := t.TempDir()
	id := uuidN(4)
	makePod(t, data, poddir.StateDirPrepared, id)
	p, err := Get(data, id)
	if err != nil {
		t.Fatal(err)
	}
	var notices bytes.Buffer
	if err := Remove(p, RemoveOptions{Notices: log.New(&notices, "", 0)}); err != nil {
		t.Fatalf("Remove of a prepared pod: %v", err)
	}
	assertPodAt(t, data, id, "")
	if notices.Len() != 0 {
		t.Errorf("notices = %q, want none", notices.String())
	}
}

func TestRemoveWaitsForExit(t *testing.T) {
	data := t.TempDir()
	id := uuidN(1)
	dir := makePod(t, data, poddir.StateDirRun, id)
	l, err := openLocked(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Get(data, id)
	if err != nil {
		t.Fatal(err)
	}
	if p.State != abi.StateRunning {
		t.Fatalf("state = %q, want running", p.State)
	}
	time.AfterFunc(100*time.Millisecond, func() { l.Close() })
	if err := Remove(p, RemoveOptions{RunningWait: 5 * time.Second}); err != nil {
		t.Fatalf("Remove after the pod exited: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("pod directory still there: %v", err)
	}
}

func TestGCSweepsManyPodsOnce(t *testing.T) {
	data := t.TempDir()
	const pods = 40
	for i := 0; i < pods; i++ {
		makePod(t, data, poddir.StateDirRun, uuidN(i))
	}
	// One buffer for every output, as the sweep writes from several
	// goroutines at once.
	var out bytes.Buffer
	err := GC(data, GCOptions{
		Stdout:  &out,
		Notices: log.New(&out, "notice: ", 0),
		Log:     log.New(&out, "debug: ", 0),
		Stderr:  &out,
		Now:     func() time.Time { return time.Now().Add(time.Second) },
	})
	if err != nil {
		t.Fatalf("GC: %v", err)
	}
	for i := 0; i < pods; i++ {
		id := uuidN(i)
		assertPodAt(t, data, id, "")
		line := `Garbage collecting pod "` + id + `"` + "\n"
		if n := strings.Count(out.String(), line); n != 1 {
			t.Errorf("output has %d lines %q, want 1", n, line)
		}
	}
}

package podstate

import (
	"testing"
	"time"

	"github.com/rktfly/rkt/common/lock"
	"github.com/rktfly/rkt/common/poddir"
)

func openLocked(dir string) (*lock.Lock, error) {
	l, err := lock.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	if err := l.Exclusive(); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

const benchPods = 1000

// BenchmarkList1000 measures what rkt list does with 1000 pods on disk:
// list, derive each state and read each pod's summary.
func BenchmarkList1000(b *testing.B) {
	data := b.TempDir()
	for i := 0; i < benchPods; i++ {
		makePod(b, data, poddir.StateDirRun, uuidN(i))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pods, err := List(data, ListOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range pods {
			if _, err := p.Summarize(); err != nil {
				b.Fatal(err)
			}
		}
		if len(pods) != benchPods {
			b.Fatalf("listed %d pods, want %d", len(pods), benchPods)
		}
	}
}

// BenchmarkGC1000 measures rkt gc with 1000 exited pods: mark them all and
// delete them all in one run.
func BenchmarkGC1000(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		data := b.TempDir()
		for j := 0; j < benchPods; j++ {
			makePod(b, data, poddir.StateDirRun, uuidN(j))
		}
		b.StartTimer()
		err := GC(data, GCOptions{Now: func() time.Time { return time.Now().Add(time.Hour) }})
		if err != nil {
			b.Fatal(err)
		}
	}
}

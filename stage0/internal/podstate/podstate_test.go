package podstate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rktfly/rkt/common/abi"
	"github.com/rktfly/rkt/common/lock"
	"github.com/rktfly/rkt/common/poddir"
)

const podManifestJSON = `{"acVersion":"1.30.0","acKind":"PodManifest",
 "apps":[{"name":"web","image":{"name":"example.com/web","id":"sha512-` + hex64 + `"},
   "app":{"exec":["/web"],"user":"0","group":"0","userLabels":{"tier":"front"}},
   "mounts":[{"volume":"data","path":"/data"}]}],
 "volumes":[{"name":"data","kind":"host","source":"/srv/data","readOnly":true}],
 "userAnnotations":{"owner":"ops"}}`

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

const imageManifestJSON = `{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/web",
 "labels":[{"name":"version","value":"1.2"},{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}]}`

// makePod creates a pod directory with a manifest, as prepare leaves it.
func makePod(t testing.TB, dataDir, stateDir, id string) string {
	t.Helper()
	dir := poddir.PodDir(dataDir, stateDir, id)
	files := map[string]string{
		poddir.PodManifestPath(dir):            podManifestJSON,
		poddir.PodCreatedPath(dir):             "",
		poddir.AppInfoManifestPath(dir, "web"): imageManifestJSON,
	}
	for path, content := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func uuidN(n int) string {
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", n, n)
}

func holdLock(t *testing.T, dir string) {
	t.Helper()
	l, err := lock.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Exclusive(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
}

func TestGetDerivesStateFromDirAndLock(t *testing.T) {
	tests := []struct {
		stateDir string
		locked   bool
		want     string
	}{
		{stateDir: poddir.StateDirEmbryo, locked: true, want: abi.StateEmbryo},
		{stateDir: poddir.StateDirPrepare, locked: true, want: abi.StatePreparing},
		{stateDir: poddir.StateDirPrepare, want: abi.StateAbortedPrepare},
		{stateDir: poddir.StateDirPrepared, want: abi.StatePrepared},
		{stateDir: poddir.StateDirRun, locked: true, want: abi.StateRunning},
		{stateDir: poddir.StateDirRun, want: abi.StateExited},
		{stateDir: poddir.StateDirExitedGarbage, locked: true, want: abi.StateExitedDeleting},
		{stateDir: poddir.StateDirExitedGarbage, want: abi.StateExitedGarbage},
		{stateDir: poddir.StateDirGarbage, locked: true, want: abi.StateDeleting},
		{stateDir: poddir.StateDirGarbage, want: abi.StateGarbage},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			data := t.TempDir()
			id := uuidN(1)
			dir := makePod(t, data, tt.stateDir, id)
			if tt.locked {
				holdLock(t, dir)
			}
			p, err := Get(data, id)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if p.State != tt.want {
				t.Errorf("state = %q, want %q", p.State, tt.want)
			}
			if p.Path() != dir {
				t.Errorf("path = %q, want %q", p.Path(), dir)
			}
		})
	}
}

func TestGetFirstStateDirWins(t *testing.T) {
	data := t.TempDir()
	id := uuidN(2)
	makePod(t, data, poddir.StateDirRun, id)
	makePod(t, data, poddir.StateDirPrepared, id)
	p, err := Get(data, id)
	if err != nil {
		t.Fatal(err)
	}
	if p.StateDir != poddir.StateDirPrepared {
		t.Errorf("state dir = %q, want prepared (searched before run)", p.StateDir)
	}
}

func TestGetMissingPod(t *testing.T) {
	_, err := Get(t.TempDir(), uuidN(3))
	if !errors.Is(err, ErrPodGone) {
		t.Errorf("err = %v, want ErrPodGone", err)
	}
}

func TestResolveUUIDPrefixes(t *testing.T) {
	data := t.TempDir()
	makePod(t, data, poddir.StateDirRun, "aaaa1111-0000-4000-8000-000000000001")
	makePod(t, data, poddir.StateDirPrepared, "aaaa2222-0000-4000-8000-000000000002")
	makePod(t, data, poddir.StateDirGarbage, "bbbb0000-0000-4000-8000-000000000003")
	makePod(t, data, poddir.StateDirEmbryo, "cccc0000-0000-4000-8000-000000000004")

	tests := []struct {
		name    string
		prefix  string
		want    string
		wantErr error
	}{
		{name: "unique prefix", prefix: "aaaa1", want: "aaaa1111-0000-4000-8000-000000000001"},
		{name: "upper case", prefix: "AAAA2", want: "aaaa2222-0000-4000-8000-000000000002"},
		{name: "full uuid", prefix: "aaaa1111-0000-4000-8000-000000000001", want: "aaaa1111-0000-4000-8000-000000000001"},
		{name: "ambiguous", prefix: "aaaa", wantErr: ErrAmbiguous},
		{name: "garbage not matched", prefix: "bbbb", wantErr: ErrNoMatch},
		{name: "embryo not matched", prefix: "cccc", wantErr: ErrNoMatch},
		{name: "no match", prefix: "ffff", wantErr: ErrNoMatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveUUID(data, tt.prefix)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("ResolveUUID(%q): err = %v, want %v", tt.prefix, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ResolveUUID(%q): %v", tt.prefix, err)
			}
			if got != tt.want {
				t.Errorf("ResolveUUID(%q) = %q, want %q", tt.prefix, got, tt.want)
			}
		})
	}
}

func TestResolveUUIDEmptyIsError(t *testing.T) {
	data := t.TempDir()
	makePod(t, data, poddir.StateDirRun, uuidN(5))
	for _, prefix := range []string{"", "  "} {
		if got, err := ResolveUUID(data, prefix); err == nil {
			t.Errorf("ResolveUUID(%q) = %q, want an error", prefix, got)
		}
	}
}

func TestResolveUUIDMessages(t *testing.T) {
	data := t.TempDir()
	makePod(t, data, poddir.StateDirRun, "aaaa1111-0000-4000-8000-000000000001")
	makePod(t, data, poddir.StateDirRun, "aaaa2222-0000-4000-8000-000000000002")
	_, err := ResolveUUID(data, "aaaa")
	if err == nil || err.Error() != "ambiguous uuid, 2 matches" {
		t.Errorf("ambiguous error = %v, want %q", err, "ambiguous uuid, 2 matches")
	}
	_, err = ResolveUUID(data, "f0")
	if err == nil || err.Error() != `no matches found for "f0"` {
		t.Errorf("no-match error = %v, want %q", err, `no matches found for "f0"`)
	}
}

func TestListSortsAndSkipsNonPods(t *testing.T) {
	data := t.TempDir()
	makePod(t, data, poddir.StateDirRun, uuidN(9))
	makePod(t, data, poddir.StateDirPrepared, uuidN(4))
	makePod(t, data, poddir.StateDirGarbage, uuidN(1))
	if err := os.WriteFile(filepath.Join(poddir.StateDir(data, poddir.StateDirRun), "stray-file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(poddir.StateDir(data, poddir.StateDirRun), "not-a-uuid"), 0o750); err != nil {
		t.Fatal(err)
	}

	var skipped []string
	pods, err := List(data, ListOptions{Skipped: func(path, reason string) {
		skipped = append(skipped, filepath.Base(path))
	}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pods {
		got = append(got, p.UUID)
	}
	want := []string{uuidN(4), uuidN(9)}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("listed %q, want %q (garbage is not listed)", got, want)
	}
	if strings.Join(skipped, ",") != "not-a-uuid,stray-file" {
		t.Errorf("skipped %q, want not-a-uuid and stray-file", skipped)
	}
}

func TestSummaryJSONFields(t *testing.T) {
	data := t.TempDir()
	id := uuidN(7)
	dir := makePod(t, data, poddir.StateDirRun, id)
	created := time.Unix(1700000000, 0)
	started := time.Unix(1700000005, 0)
	if err := os.Chtimes(poddir.PodCreatedPath(dir), created, created); err != nil {
		t.Fatal(err)
	}
	if err := poddir.WritePid(poddir.PidPath(dir), 4242); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(poddir.PidPath(dir), started, started); err != nil {
		t.Fatal(err)
	}

	p, err := Get(data, id)
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.Summarize()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Problems) != 0 {
		t.Errorf("problems: %v", s.Problems)
	}
	if s.Pid != 4242 || !s.HasPid {
		t.Errorf("pid = %d (%t), want 4242", s.Pid, s.HasPid)
	}
	if len(s.Apps) != 1 || s.Apps[0].ImageName != "example.com/web:1.2" {
		t.Errorf("apps = %+v, want one app with image name example.com/web:1.2", s.Apps)
	}

	pod, err := s.JSON()
	if err != nil {
		t.Fatal(err)
	}
	data2, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	var decoded map[string]any
	if err := json.Unmarshal(data2, &decoded); err != nil {
		t.Fatal(err)
	}
	checks := map[string]any{
		"name":       id,
		"state":      "exited",
		"created_at": float64(1700000000),
		"started_at": float64(1700000005),
	}
	for key, want := range checks {
		if decoded[key] != want {
			t.Errorf("%s = %v, want %v", key, decoded[key], want)
		}
	}
	if _, ok := decoded["networks"]; ok {
		t.Error("networks present for a pod without net-info.json")
	}
	if !bytes.Contains(data2, []byte(`"user_annotations":{"owner":"ops"}`)) {
		t.Errorf("pod user annotations missing: %s", data2)
	}
	app := pod.Apps[0]
	if app.State != "exited" || *app.CreatedAt != created.UnixNano() || *app.StartedAt != started.UnixNano() {
		t.Errorf("app = %+v, want exited with nanosecond times", app)
	}
	if app.FinishedAt != nil || app.ExitCode != nil {
		t.Errorf("app has finished_at %v or exit_code %v for an unmarked fly pod", app.FinishedAt, app.ExitCode)
	}
	if app.ImageID != "sha512-"+hex64 {
		t.Errorf("image_id = %q", app.ImageID)
	}
	if len(app.Mounts) != 1 || *app.Mounts[0] != (MountJSON{Name: "data", ContainerPath: "/data", HostPath: "/srv/data", ReadOnly: true}) {
		t.Errorf("mounts = %+v", app.Mounts)
	}
	if app.UserLabels["tier"] != "front" {
		t.Errorf("app user labels = %v", app.UserLabels)
	}
}

func TestSummaryExitCodeFromStatusFile(t *testing.T) {
	data := t.TempDir()
	id := uuidN(8)
	dir := makePod(t, data, poddir.StateDirExitedGarbage, id)
	if err := os.MkdirAll(poddir.AppStatusDir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(poddir.AppStatusPath(dir, "web"), []byte("7"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Get(data, id)
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.Summarize()
	if err != nil {
		t.Fatal(err)
	}
	pod, err := s.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if code := pod.Apps[0].ExitCode; code == nil || *code != 7 {
		t.Errorf("exit_code = %v, want 7", code)
	}
	if pod.Apps[0].FinishedAt == nil {
		t.Error("finished_at missing for a pod in exited-garbage")
	}
}

func TestSummaryJSONNeedsCreationTime(t *testing.T) {
	data := t.TempDir()
	id := uuidN(6)
	dir := makePod(t, data, poddir.StateDirPrepared, id)
	if err := os.Remove(poddir.PodCreatedPath(dir)); err != nil {
		t.Fatal(err)
	}
	p, err := Get(data, id)
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.Summarize()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.JSON(); err == nil {
		t.Error("JSON of a pod without pod-created succeeded")
	}
}

func TestSummarizeDuringDeletion(t *testing.T) {
	data := t.TempDir()
	id := uuidN(9)
	dir := makePod(t, data, poddir.StateDirExitedGarbage, id)
	p, err := Get(data, id)
	if err != nil {
		t.Fatal(err)
	}
	// A deleting rm or gc holds the lock and removes files one by one.
	holdLock(t, dir)
	if err := os.RemoveAll(poddir.AppsInfoDir(dir)); err != nil {
		t.Fatal(err)
	}

	s, err := p.Summarize()
	if err != nil {
		t.Fatalf("Summarize of a pod being deleted: %v", err)
	}
	if len(s.Problems) != 0 {
		t.Errorf("problems = %v, want none for a pod being deleted", s.Problems)
	}
	if s.Pod.State != abi.StateExitedDeleting {
		t.Errorf("state = %q, want %q", s.Pod.State, abi.StateExitedDeleting)
	}
	if len(s.Apps) != 1 || s.Apps[0].ImageName != "--" {
		t.Errorf("apps = %+v, want one app with image name --", s.Apps)
	}
}

func TestSummarizeStablePodKeepsProblems(t *testing.T) {
	data := t.TempDir()
	id := uuidN(10)
	dir := makePod(t, data, poddir.StateDirExitedGarbage, id)
	if err := os.RemoveAll(poddir.AppsInfoDir(dir)); err != nil {
		t.Fatal(err)
	}
	p, err := Get(data, id)
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.Summarize()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Problems) != 1 {
		t.Errorf("problems = %v, want the missing image manifest", s.Problems)
	}
	if s.Pod.State != abi.StateExitedGarbage {
		t.Errorf("state = %q, want %q", s.Pod.State, abi.StateExitedGarbage)
	}
}

func TestSummarizePreparingPod(t *testing.T) {
	data := t.TempDir()
	id := uuidN(11)
	dir := makePod(t, data, poddir.StateDirPrepare, id)
	// prepare writes pod-created last, while it holds the lock.
	if err := os.Remove(poddir.PodCreatedPath(dir)); err != nil {
		t.Fatal(err)
	}
	holdLock(t, dir)
	p, err := Get(data, id)
	if err != nil {
		t.Fatal(err)
	}

	s, err := p.Summarize()
	if err != nil {
		t.Fatalf("Summarize of a preparing pod: %v", err)
	}
	if s.Pod.State != abi.StatePreparing {
		t.Errorf("state = %q, want %q", s.Pod.State, abi.StatePreparing)
	}
	if !s.Pod.InTransition() {
		t.Error("InTransition = false for a preparing pod")
	}
	if !s.CreatedAt.IsZero() {
		t.Errorf("created = %v, want zero", s.CreatedAt)
	}
	if _, err := s.JSON(); err == nil {
		t.Error("JSON of a pod without pod-created succeeded")
	}
}

func TestSummarizeFollowsMovedPod(t *testing.T) {
	data := t.TempDir()
	id := uuidN(12)
	makePod(t, data, poddir.StateDirRun, id)
	if err := EnsureDirs(data); err != nil {
		t.Fatal(err)
	}
	p, err := Get(data, id)
	if err != nil {
		t.Fatal(err)
	}
	// gc or rm marks the pod between the list and the read.
	if err := os.Rename(p.Path(), poddir.PodDir(data, poddir.StateDirExitedGarbage, id)); err != nil {
		t.Fatal(err)
	}

	s, err := p.Summarize()
	if err != nil {
		t.Fatalf("Summarize of a moved pod: %v", err)
	}
	if s.Pod.State != abi.StateExitedGarbage {
		t.Errorf("state = %q, want %q", s.Pod.State, abi.StateExitedGarbage)
	}
	if len(s.Problems) != 0 {
		t.Errorf("problems = %v, want none", s.Problems)
	}
	if s.CreatedAt.IsZero() {
		t.Error("created is zero, want the time of pod-created in the new directory")
	}
	if len(s.Apps) != 1 || s.Apps[0].ImageName != "example.com/web:1.2" {
		t.Errorf("apps = %+v, want one app with image name example.com/web:1.2", s.Apps)
	}
}

func TestSummarizeDeletedPod(t *testing.T) {
	data := t.TempDir()
	id := uuidN(13)
	dir := makePod(t, data, poddir.StateDirExitedGarbage, id)
	p, err := Get(data, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Summarize(); !errors.Is(err, ErrPodGone) {
		t.Errorf("Summarize of a deleted pod: err = %v, want ErrPodGone", err)
	}
}

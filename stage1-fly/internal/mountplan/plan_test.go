package mountplan

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/abi"
	"github.com/rktfly/rkt/common/mountinfo"
	"github.com/rktfly/rkt/stage1-fly/internal/manifest"
)

// sources makes host directories, a file and a unix socket to use as
// volume sources.
type sources struct {
	dir, dir2, file, socket string
}

func newSources(t *testing.T) sources {
	t.Helper()
	base := t.TempDir()
	s := sources{
		dir:    filepath.Join(base, "dir"),
		dir2:   filepath.Join(base, "dir2"),
		file:   filepath.Join(base, "file"),
		socket: filepath.Join(base, "sock"),
	}
	for _, d := range []string{s.dir, s.dir2} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(s.file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	listener, err := net.Listen("unix", s.socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { listener.Close() })
	return s
}

func boolPtr(b bool) *bool { return &b }

func hostVolume(name, source string, readOnly, recursive *bool) manifest.Volume {
	return manifest.Volume{Name: name, Kind: "host", Source: source, ReadOnly: readOnly, Recursive: recursive}
}

func mountOf(volume, path string) manifest.Mount {
	return manifest.Mount{Volume: volume, Path: path}
}

// hostMounts returns an Input.HostMounts that returns mounts.
func hostMounts(mounts []mountinfo.Mount) func() ([]mountinfo.Mount, error) {
	return func() ([]mountinfo.Mount, error) { return mounts, nil }
}

func newInput(t *testing.T) Input {
	t.Helper()
	return Input{
		PodDir:        filepath.Join(t.TempDir(), "pod"),
		App:           manifest.RuntimeApp{Name: "app", App: &manifest.App{Exec: []string{"/bin/true"}, User: "0", Group: "0"}},
		ImageManifest: &manifest.ImageManifest{App: &manifest.App{}},
		DNS:           abi.DefaultDNSConfMode(),
	}
}

func mustCompute(t *testing.T, in Input) Plan {
	t.Helper()
	plan, err := Compute(in)
	if err != nil {
		t.Fatalf("Compute: %v", err)
	}
	return plan
}

// volumeOpsOf returns the mount operations after the seven fixed rows.
func volumeOpsOf(plan Plan) []Op {
	return plan.Mounts[7:]
}

func TestPlanFixedRows(t *testing.T) {
	plan := mustCompute(t, newInput(t))
	want := []Op{
		{Kind: MakeRShared, Target: "/dev", FSType: "none", Flags: unix.MS_REC | unix.MS_SHARED},
		{Kind: BindMount, Source: "/dev", Target: "/dev", FSType: "none", Flags: unix.MS_BIND | unix.MS_REC, Create: CreateDir},
		{Kind: MakeRShared, Target: "/proc", FSType: "none", Flags: unix.MS_REC | unix.MS_SHARED},
		{Kind: BindMount, Source: "/proc", Target: "/proc", FSType: "none", Flags: unix.MS_BIND | unix.MS_REC, Create: CreateDir},
		{Kind: MakeRShared, Target: "/sys", FSType: "none", Flags: unix.MS_REC | unix.MS_SHARED},
		{Kind: BindMount, Source: "/sys", Target: "/sys", FSType: "none", Flags: unix.MS_BIND | unix.MS_REC, Create: CreateDir},
		{Kind: MountTmpfs, Source: "tmpfs", Target: "/tmp", FSType: "tmpfs", Create: CreateDir},
	}
	if !reflect.DeepEqual(plan.Mounts, want) {
		t.Errorf("mounts:\n%s\nwant:\n%s", opsText(plan.Mounts), opsText(want))
	}
	wantFiles := []FileOp{{Kind: WriteIfMissing, Target: "/etc/hosts", Data: []byte(DefaultHosts), Mode: 0o644}}
	if !reflect.DeepEqual(plan.Files, wantFiles) {
		t.Errorf("files = %v, want %v", plan.Files, wantFiles)
	}
}

func opsText(ops []Op) string {
	var lines []string
	for _, op := range ops {
		lines = append(lines, "  "+op.String())
	}
	return strings.Join(lines, "\n")
}

func TestPlanHostVolumes(t *testing.T) {
	src := newSources(t)
	cases := []struct {
		name   string
		volume manifest.Volume
		path   string
		want   []Op
	}{
		{
			name:   "directory non-recursive by default",
			volume: hostVolume("data", src.dir, nil, nil),
			path:   "/data",
			want: []Op{
				{Kind: BindMount, Source: src.dir, Target: "/data", FSType: "none", Flags: unix.MS_BIND, Create: CreateDir, Volume: "data"},
			},
		},
		{
			name:   "recursive",
			volume: hostVolume("data", src.dir, boolPtr(false), boolPtr(true)),
			path:   "/data",
			want: []Op{
				{Kind: BindMount, Source: src.dir, Target: "/data", FSType: "none", Flags: unix.MS_BIND | unix.MS_REC, Create: CreateDir, Volume: "data"},
			},
		},
		{
			name:   "file source creates file",
			volume: hostVolume("conf", src.file, nil, nil),
			path:   "/etc/app.conf",
			want: []Op{
				{Kind: BindMount, Source: src.file, Target: "/etc/app.conf", FSType: "none", Flags: unix.MS_BIND, Create: CreateFile, Volume: "conf"},
			},
		},
		{
			name:   "socket source creates file",
			volume: hostVolume("sock", src.socket, nil, nil),
			path:   "/run/app.sock",
			want: []Op{
				{Kind: BindMount, Source: src.socket, Target: "/run/app.sock", FSType: "none", Flags: unix.MS_BIND, Create: CreateFile, Volume: "sock"},
			},
		},
		{
			name:   "read-only",
			volume: hostVolume("data", src.dir, boolPtr(true), nil),
			path:   "data/./x/..",
			want: []Op{
				{Kind: BindMount, Source: src.dir, Target: "/data", FSType: "none", Flags: unix.MS_BIND, Create: CreateDir, Volume: "data"},
				{Kind: RemountReadOnly, Target: "/data", FSType: "none", Flags: unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY, Volume: "data"},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := newInput(t)
			in.Volumes = []manifest.Volume{tc.volume}
			in.App.Mounts = []manifest.Mount{mountOf(tc.volume.Name, tc.path)}
			got := volumeOpsOf(mustCompute(t, in))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("volume ops:\n%s\nwant:\n%s", opsText(got), opsText(tc.want))
			}
		})
	}
}

func TestPlanReadOnlyRecursiveSubmounts(t *testing.T) {
	src := newSources(t)
	in := newInput(t)
	in.Volumes = []manifest.Volume{hostVolume("data", src.dir, boolPtr(true), boolPtr(true))}
	in.App.Mounts = []manifest.Mount{mountOf("data", "/data")}
	in.HostMounts = hostMounts([]mountinfo.Mount{
		{ID: 1, Parent: 0, MountPoint: "/"},
		{ID: 2, Parent: 1, MountPoint: src.dir},
		{ID: 3, Parent: 2, MountPoint: src.dir + "/a"},
		{ID: 4, Parent: 3, MountPoint: src.dir + "/a/b"},
		{ID: 5, Parent: 1, MountPoint: src.dir + "x"},
	})
	got := volumeOpsOf(mustCompute(t, in))
	recursiveRO := uintptr(unix.MS_BIND | unix.MS_REC | unix.MS_REMOUNT | unix.MS_RDONLY)
	want := []Op{
		{Kind: MakeRShared, Target: src.dir, FSType: "none", Flags: unix.MS_REC | unix.MS_SHARED, Volume: "data"},
		{Kind: BindMount, Source: src.dir, Target: "/data", FSType: "none", Flags: unix.MS_BIND | unix.MS_REC, Create: CreateDir, Volume: "data"},
		{Kind: RemountReadOnly, Target: "/data", FSType: "none", Flags: recursiveRO, Volume: "data"},
		{Kind: RemountReadOnly, Target: "/data/a", FSType: "none", Flags: recursiveRO, Volume: "data"},
		{Kind: RemountReadOnly, Target: "/data/a/b", FSType: "none", Flags: recursiveRO, Volume: "data"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("volume ops:\n%s\nwant:\n%s", opsText(got), opsText(want))
	}
}

func TestPlanSharesHostMountPointSource(t *testing.T) {
	src := newSources(t)
	in := newInput(t)
	in.Volumes = []manifest.Volume{hostVolume("data", src.dir, nil, nil), hostVolume("other", src.dir2, nil, nil)}
	in.App.Mounts = []manifest.Mount{mountOf("data", "/data"), mountOf("other", "/other")}
	in.HostMounts = hostMounts([]mountinfo.Mount{{ID: 2, Parent: 1, MountPoint: src.dir}, {ID: 3, Parent: 1, MountPoint: src.dir2 + "/below"}})
	got := volumeOpsOf(mustCompute(t, in))
	if len(got) != 3 {
		t.Fatalf("volume ops:\n%s\nwant 3", opsText(got))
	}
	if got[0].Kind != MakeRShared || got[0].Target != src.dir {
		t.Errorf("first op = %s, want make rshared of %q", got[0], src.dir)
	}
	if got[2].Kind != BindMount || got[2].Source != src.dir2 {
		t.Errorf("third op = %s, want bind of %q without make rshared", got[2], src.dir2)
	}
}

// countingHostMounts returns an Input.HostMounts that returns mounts and
// err and counts its calls in calls.
func countingHostMounts(mounts []mountinfo.Mount, err error, calls *int) func() ([]mountinfo.Mount, error) {
	return func() ([]mountinfo.Mount, error) {
		*calls++
		return mounts, err
	}
}

func TestPlanHostMountsReadLazily(t *testing.T) {
	src := newSources(t)
	t.Run("default plan", func(t *testing.T) {
		calls := 0
		in := newInput(t)
		in.DNS = abi.DNSConfMode{Resolv: abi.ResolvHost, Hosts: abi.HostsHost}
		in.HostMounts = countingHostMounts(nil, nil, &calls)
		mustCompute(t, in)
		if calls != 0 {
			t.Errorf("HostMounts called %d times, want 0", calls)
		}
	})
	t.Run("two volumes", func(t *testing.T) {
		calls := 0
		in := newInput(t)
		in.Volumes = []manifest.Volume{hostVolume("data", src.dir, boolPtr(true), boolPtr(true)), hostVolume("other", src.dir2, nil, nil)}
		in.App.Mounts = []manifest.Mount{mountOf("data", "/data"), mountOf("other", "/data/other")}
		in.HostMounts = countingHostMounts([]mountinfo.Mount{{ID: 2, Parent: 1, MountPoint: src.dir}}, nil, &calls)
		got := volumeOpsOf(mustCompute(t, in))
		if calls != 1 {
			t.Errorf("HostMounts called %d times, want 1", calls)
		}
		if len(got) == 0 || got[0].Kind != MakeRShared || got[0].Target != src.dir {
			t.Errorf("volume ops:\n%s\nwant make rshared of %q first", opsText(got), src.dir)
		}
	})
	t.Run("read error", func(t *testing.T) {
		calls := 0
		readErr := errors.New("read mountinfo failed")
		in := newInput(t)
		in.Volumes = []manifest.Volume{hostVolume("data", src.dir, nil, nil)}
		in.App.Mounts = []manifest.Mount{mountOf("data", "/data")}
		in.HostMounts = countingHostMounts(nil, readErr, &calls)
		if _, err := Compute(in); !errors.Is(err, readErr) {
			t.Errorf("Compute error = %v, want %v", err, readErr)
		}
	})
}

func TestPlanShallowestTargetFirst(t *testing.T) {
	src := newSources(t)
	in := newInput(t)
	in.Volumes = []manifest.Volume{
		hostVolume("deep", src.dir, nil, nil),
		hostVolume("top", src.dir2, nil, nil),
		hostVolume("mid", src.dir2, nil, nil),
	}
	in.App.Mounts = []manifest.Mount{mountOf("deep", "/srv/a/b"), mountOf("top", "/srv"), mountOf("mid", "/srv/a")}
	var targets []string
	for _, op := range volumeOpsOf(mustCompute(t, in)) {
		targets = append(targets, op.Target)
	}
	want := []string{"/srv", "/srv/a", "/srv/a/b"}
	if !reflect.DeepEqual(targets, want) {
		t.Errorf("targets = %q, want %q", targets, want)
	}
}

func TestPlanMountPointDefaults(t *testing.T) {
	src := newSources(t)
	cases := []struct {
		name     string
		readOnly *bool
		mpRO     bool
		wantRO   bool
	}{
		{name: "unset takes mount point read-only", readOnly: nil, mpRO: true, wantRO: true},
		{name: "unset takes mount point writable", readOnly: nil, mpRO: false, wantRO: false},
		{name: "volume false overrides", readOnly: boolPtr(false), mpRO: true, wantRO: false},
		{name: "volume true overrides", readOnly: boolPtr(true), mpRO: false, wantRO: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := newInput(t)
			in.ImageManifest.App.MountPoints = []manifest.MountPoint{{Name: "data", Path: "/data", ReadOnly: tc.mpRO}}
			in.Volumes = []manifest.Volume{hostVolume("data", src.dir, tc.readOnly, nil)}
			ops := volumeOpsOf(mustCompute(t, in))
			gotRO := len(ops) == 2 && ops[1].Kind == RemountReadOnly
			if gotRO != tc.wantRO {
				t.Errorf("read-only = %v, want %v; ops:\n%s", gotRO, tc.wantRO, opsText(ops))
			}
			if ops[0].Target != "/data" {
				t.Errorf("target = %q, want /data", ops[0].Target)
			}
		})
	}
}

// TestPlanMountAtMountPointPath checks that a mount at the cleaned path of
// an image mount point of another name serves that mount point, as in
// rkt's other stage1s. No implicit empty volume is added, and the mount
// point's readOnly applies when the volume's is unset.
func TestPlanMountAtMountPointPath(t *testing.T) {
	src := newSources(t)
	cases := []struct {
		name       string
		mountPath  string
		mountPoint manifest.MountPoint
		readOnly   *bool
		wantRO     bool
	}{
		{name: "writable mount point", mountPath: "/var/lib/etcd", mountPoint: manifest.MountPoint{Name: "data", Path: "/var/lib/etcd"}},
		{name: "uncleaned paths", mountPath: "/var/lib/etcd/", mountPoint: manifest.MountPoint{Name: "data", Path: "var/lib//etcd"}},
		{name: "read-only mount point", mountPath: "/var/lib/etcd", mountPoint: manifest.MountPoint{Name: "data", Path: "/var/lib/etcd", ReadOnly: true}, wantRO: true},
		{name: "volume false overrides", mountPath: "/var/lib/etcd", mountPoint: manifest.MountPoint{Name: "data", Path: "/var/lib/etcd", ReadOnly: true}, readOnly: boolPtr(false)},
		{name: "volume true overrides", mountPath: "/var/lib/etcd", mountPoint: manifest.MountPoint{Name: "data", Path: "/var/lib/etcd"}, readOnly: boolPtr(true), wantRO: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := newInput(t)
			in.ImageManifest.App.MountPoints = []manifest.MountPoint{tc.mountPoint}
			in.Volumes = []manifest.Volume{hostVolume("data-dir", src.dir, tc.readOnly, nil)}
			in.App.Mounts = []manifest.Mount{mountOf("data-dir", tc.mountPath)}
			plan := mustCompute(t, in)
			if len(plan.EmptyVolumes) != 0 {
				t.Errorf("empty volumes = %+v, want none", plan.EmptyVolumes)
			}
			want := []Op{{Kind: BindMount, Source: src.dir, Target: "/var/lib/etcd", FSType: "none", Flags: unix.MS_BIND, Create: CreateDir, Volume: "data-dir"}}
			if tc.wantRO {
				want = append(want, Op{Kind: RemountReadOnly, Target: "/var/lib/etcd", FSType: "none", Flags: unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY, Volume: "data-dir"})
			}
			if got := volumeOpsOf(plan); !reflect.DeepEqual(got, want) {
				t.Errorf("volume ops:\n%s\nwant:\n%s", opsText(got), opsText(want))
			}
		})
	}
}

func TestPlanMountPointNameWinsOverPath(t *testing.T) {
	src := newSources(t)
	in := newInput(t)
	// The mount point "data" matches the mount "data" by name; the mount
	// "other" at its path is a second explicit mount there.
	in.ImageManifest.App.MountPoints = []manifest.MountPoint{{Name: "data", Path: "/data"}}
	in.Volumes = []manifest.Volume{hostVolume("data", src.dir, nil, nil), hostVolume("other", src.dir2, nil, nil)}
	in.App.Mounts = []manifest.Mount{mountOf("other", "/data"), mountOf("data", "/data")}
	_, err := Compute(in)
	const want = `volumes "other" and "data" are both mounted at "/data": mount only one volume there`
	if err == nil || err.Error() != want {
		t.Errorf("Compute error = %v, want %q", err, want)
	}
}

func TestPlanTwoMountPointsOnePath(t *testing.T) {
	src := newSources(t)
	t.Run("no mount", func(t *testing.T) {
		in := newInput(t)
		in.ImageManifest.App.MountPoints = []manifest.MountPoint{{Name: "a", Path: "/data"}, {Name: "b", Path: "/data/"}}
		_, err := Compute(in)
		const want = `the image's mount points "a" and "b" are both at "/data": mount one volume there, which serves both`
		if err == nil || err.Error() != want {
			t.Errorf("Compute error = %v, want %q", err, want)
		}
	})
	t.Run("one mount serves both", func(t *testing.T) {
		in := newInput(t)
		in.ImageManifest.App.MountPoints = []manifest.MountPoint{{Name: "a", Path: "/data"}, {Name: "b", Path: "/data/"}}
		in.Volumes = []manifest.Volume{hostVolume("v", src.dir, nil, nil)}
		in.App.Mounts = []manifest.Mount{mountOf("v", "/data")}
		plan := mustCompute(t, in)
		if len(plan.EmptyVolumes) != 0 {
			t.Errorf("empty volumes = %+v, want none", plan.EmptyVolumes)
		}
		if got := volumeOpsOf(plan); len(got) != 1 || got[0].Volume != "v" {
			t.Errorf("volume ops:\n%s\nwant one bind of volume v", opsText(got))
		}
	})
}

func TestPlanImplicitEmptyVolume(t *testing.T) {
	in := newInput(t)
	in.ImageManifest.App.MountPoints = []manifest.MountPoint{{Name: "cache", Path: "/var/cache/app", ReadOnly: false}}
	plan := mustCompute(t, in)
	shared := filepath.Join(in.PodDir, "sharedVolumes", "cache")
	wantVolumes := []EmptyVolume{{Name: "cache", Path: shared, Mode: 0o755, UID: 0, GID: 0}}
	if !reflect.DeepEqual(plan.EmptyVolumes, wantVolumes) {
		t.Errorf("empty volumes = %+v, want %+v", plan.EmptyVolumes, wantVolumes)
	}
	want := []Op{{Kind: BindMount, Source: shared, Target: "/var/cache/app", FSType: "none", Flags: unix.MS_BIND, Create: CreateDir, Volume: "cache", Implicit: true}}
	if got := volumeOpsOf(plan); !reflect.DeepEqual(got, want) {
		t.Errorf("volume ops:\n%s\nwant:\n%s", opsText(got), opsText(want))
	}
}

func TestPlanEmptyVolumeModeOwner(t *testing.T) {
	in := newInput(t)
	mode := "1770"
	uid, gid := 1000, 2000
	in.Volumes = []manifest.Volume{{Name: "scratch", Kind: "empty", Mode: &mode, UID: &uid, GID: &gid}}
	in.App.Mounts = []manifest.Mount{mountOf("scratch", "/scratch")}
	plan := mustCompute(t, in)
	want := []EmptyVolume{{Name: "scratch", Path: filepath.Join(in.PodDir, "sharedVolumes", "scratch"), Mode: 0o770 | os.ModeSticky, UID: 1000, GID: 2000}}
	if !reflect.DeepEqual(plan.EmptyVolumes, want) {
		t.Errorf("empty volumes = %+v, want %+v", plan.EmptyVolumes, want)
	}
}

func TestPlanAppVolume(t *testing.T) {
	src := newSources(t)
	in := newInput(t)
	appVolume := hostVolume("ignored-name", src.dir, nil, boolPtr(true))
	in.App.Mounts = []manifest.Mount{{Volume: "inline", Path: "/inline", AppVolume: &appVolume}}
	got := volumeOpsOf(mustCompute(t, in))
	want := []Op{{Kind: BindMount, Source: src.dir, Target: "/inline", FSType: "none", Flags: unix.MS_BIND | unix.MS_REC, Create: CreateDir, Volume: "inline"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("volume ops:\n%s\nwant:\n%s", opsText(got), opsText(want))
	}
}

func TestPlanUnusedVolumeSkipped(t *testing.T) {
	in := newInput(t)
	in.Volumes = []manifest.Volume{hostVolume("unused", "/nonexistent/source", nil, nil)}
	if got := volumeOpsOf(mustCompute(t, in)); len(got) != 0 {
		t.Errorf("volume ops for an unused volume:\n%s", opsText(got))
	}
}

func TestPlanErrors(t *testing.T) {
	src := newSources(t)
	cases := []struct {
		name    string
		modify  func(in *Input)
		message string
	}{
		{
			name: "conflicting mount and mount point",
			modify: func(in *Input) {
				in.ImageManifest.App.MountPoints = []manifest.MountPoint{{Name: "data", Path: "/data"}}
				in.Volumes = []manifest.Volume{hostVolume("data", src.dir, nil, nil)}
				in.App.Mounts = []manifest.Mount{mountOf("data", "/elsewhere")}
			},
			message: `conflicting path information from mount and mountpoint "data"`,
		},
		{
			name: "duplicate mount",
			modify: func(in *Input) {
				in.Volumes = []manifest.Volume{hostVolume("data", src.dir, nil, nil)}
				in.App.Mounts = []manifest.Mount{mountOf("data", "/a"), mountOf("data", "/b")}
			},
			message: `duplicate mount given: "data"`,
		},
		{
			name: "duplicate volume",
			modify: func(in *Input) {
				in.Volumes = []manifest.Volume{hostVolume("data", src.dir, nil, nil), hostVolume("data", src.dir2, nil, nil)}
			},
			message: `duplicate volume name "data"`,
		},
		{
			name: "missing volume for mount",
			modify: func(in *Input) {
				in.App.Mounts = []manifest.Mount{mountOf("nothing", "/x")}
			},
			message: `missing volume "nothing"`,
		},
		{
			name: "missing source",
			modify: func(in *Input) {
				in.Volumes = []manifest.Volume{hostVolume("data", src.dir+"/missing", nil, nil)}
				in.App.Mounts = []manifest.Mount{mountOf("data", "/data")}
			},
			message: `volume "data": source "` + src.dir + `/missing" does not exist: create it on the host or correct --volume data,source=`,
		},
		{
			name: "two volumes on one path",
			modify: func(in *Input) {
				in.Volumes = []manifest.Volume{hostVolume("a", src.dir, nil, nil), hostVolume("b", src.dir2, nil, nil)}
				in.App.Mounts = []manifest.Mount{mountOf("a", "/data"), mountOf("b", "/data/")}
			},
			message: `volumes "a" and "b" are both mounted at "/data": mount only one volume there`,
		},
		{
			name: "bad empty volume mode",
			modify: func(in *Input) {
				mode := "0999"
				uid, gid := 0, 0
				in.Volumes = []manifest.Volume{{Name: "e", Kind: "empty", Mode: &mode, UID: &uid, GID: &gid}}
				in.App.Mounts = []manifest.Mount{mountOf("e", "/e")}
			},
			message: `volume "e": mode "0999" is not an octal file mode`,
		},
		{
			name: "hosts stage0 without rkt-hosts",
			modify: func(in *Input) {
				in.DNS = abi.DNSConfMode{Resolv: abi.ResolvDefault, Hosts: abi.HostsStage0}
			},
			message: "hosts mode stage0: stat mount source",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := newInput(t)
			tc.modify(&in)
			_, err := Compute(in)
			if err == nil {
				t.Fatalf("Compute succeeded, want an error containing %q", tc.message)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not contain %q", err, tc.message)
			}
		})
	}
}

func TestPlanDNSModes(t *testing.T) {
	readOnlyRemount := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY)
	bindRO := uintptr(unix.MS_BIND | unix.MS_RDONLY)
	t.Run("host", func(t *testing.T) {
		in := newInput(t)
		in.DNS = abi.DNSConfMode{Resolv: abi.ResolvHost, Hosts: abi.HostsHost}
		in.Stat = func(string) (os.FileInfo, error) { return os.Stat("/proc/self/status") }
		plan := mustCompute(t, in)
		want := []Op{
			{Kind: BindMount, Source: "/etc/resolv.conf", Target: "/etc/resolv.conf", FSType: "none", Flags: bindRO, Create: CreateFile},
			{Kind: RemountReadOnly, Target: "/etc/resolv.conf", FSType: "none", Flags: readOnlyRemount},
			{Kind: BindMount, Source: "/etc/hosts", Target: "/etc/hosts", FSType: "none", Flags: bindRO, Create: CreateFile},
			{Kind: RemountReadOnly, Target: "/etc/hosts", FSType: "none", Flags: readOnlyRemount},
		}
		if got := volumeOpsOf(plan); !reflect.DeepEqual(got, want) {
			t.Errorf("ops:\n%s\nwant:\n%s", opsText(got), opsText(want))
		}
		if len(plan.Files) != 0 {
			t.Errorf("files = %v, want none", plan.Files)
		}
	})
	t.Run("stage0", func(t *testing.T) {
		in := newInput(t)
		in.DNS = abi.DNSConfMode{Resolv: abi.ResolvStage0, Hosts: abi.HostsStage0}
		etc := filepath.Join(in.PodDir, "stage1", "rootfs", "etc")
		if err := os.MkdirAll(etc, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"rkt-hosts", "rkt-resolv.conf"} {
			if err := os.WriteFile(filepath.Join(etc, name), []byte("x\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		plan := mustCompute(t, in)
		wantFiles := []FileOp{{Kind: CopyFile, Source: filepath.Join(etc, "rkt-resolv.conf"), Target: "/etc/resolv.conf", Mode: 0o644}}
		if !reflect.DeepEqual(plan.Files, wantFiles) {
			t.Errorf("files = %v, want %v", plan.Files, wantFiles)
		}
		want := []Op{
			{Kind: BindMount, Source: filepath.Join(etc, "rkt-hosts"), Target: "/etc/hosts", FSType: "none", Flags: bindRO, Create: CreateFile},
			{Kind: RemountReadOnly, Target: "/etc/hosts", FSType: "none", Flags: readOnlyRemount},
		}
		if got := volumeOpsOf(plan); !reflect.DeepEqual(got, want) {
			t.Errorf("ops:\n%s\nwant:\n%s", opsText(got), opsText(want))
		}
	})
	t.Run("stage0 resolv file missing", func(t *testing.T) {
		in := newInput(t)
		in.DNS = abi.DNSConfMode{Resolv: abi.ResolvStage0, Hosts: abi.HostsDefault}
		plan := mustCompute(t, in)
		if len(plan.Files) != 1 || plan.Files[0].Kind != WriteIfMissing {
			t.Errorf("files = %v, want only the default hosts write", plan.Files)
		}
	})
	t.Run("none", func(t *testing.T) {
		in := newInput(t)
		in.DNS = abi.DNSConfMode{Resolv: abi.ResolvNone, Hosts: abi.HostsDefault}
		plan := mustCompute(t, in)
		if got := volumeOpsOf(plan); len(got) != 0 {
			t.Errorf("ops:\n%s\nwant none", opsText(got))
		}
	})
}

func TestPlanWithin(t *testing.T) {
	src := newSources(t)
	in := newInput(t)
	in.Volumes = []manifest.Volume{
		hostVolume("dev", src.dir, nil, nil),
		hostVolume("shm", src.dir, nil, nil),
		hostVolume("cgroup", src.dir, nil, boolPtr(true)),
		hostVolume("outer", src.dir2, nil, nil),
		hostVolume("inner", src.dir, nil, nil),
	}
	in.App.Mounts = []manifest.Mount{
		mountOf("dev", "/dev"),
		mountOf("shm", "/dev/shm/app"),
		mountOf("cgroup", "/sys/fs/cgroup/app"),
		mountOf("outer", "/data"),
		mountOf("inner", "/data/inner"),
	}
	in.HostMounts = hostMounts([]mountinfo.Mount{
		{ID: 1, MountPoint: "/"},
		{ID: 2, Parent: 1, MountPoint: "/dev"},
		{ID: 3, Parent: 2, MountPoint: "/dev/shm"},
		{ID: 4, Parent: 1, MountPoint: "/sys"},
		{ID: 5, Parent: 4, MountPoint: "/sys/fs/cgroup"},
	})
	within := map[string]string{}
	for _, op := range mustCompute(t, in).Mounts {
		if op.Kind == BindMount || op.Kind == MountTmpfs {
			within[op.Target] = op.Within
		}
	}
	want := map[string]string{
		"/proc":              "",
		"/tmp":               "",
		"/dev":               "/dev",
		"/dev/shm/app":       "/dev",
		"/sys/fs/cgroup/app": "/sys/fs/cgroup",
		"/data":              "",
		"/data/inner":        "/data",
	}
	for target, wantWithin := range want {
		if got := within[target]; got != wantWithin {
			t.Errorf("op on %q: within %q, want %q", target, got, wantWithin)
		}
	}
}

func TestOpString(t *testing.T) {
	op := Op{Kind: BindMount, Source: "/srv", Target: "/data", FSType: "none", Flags: unix.MS_BIND | unix.MS_REC, Create: CreateDir, Volume: "data"}
	want := `bind mount "/srv" on rootfs "/data" (MS_BIND|MS_REC) create=dir volume="data"`
	if got := op.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	nested := Op{Kind: MountTmpfs, Source: "tmpfs", Target: "/dev/shm/x", FSType: "tmpfs", Within: "/dev/shm"}
	if got := nested.String(); got != `mount tmpfs "tmpfs" on rootfs "/dev/shm/x" (0) type=tmpfs within="/dev/shm"` {
		t.Errorf("String() = %q", got)
	}
	shared := Op{Kind: MakeRShared, Target: "/dev", FSType: "none", Flags: unix.MS_REC | unix.MS_SHARED}
	if got := shared.String(); got != `make rshared host "/dev" (MS_REC|MS_SHARED)` {
		t.Errorf("String() = %q", got)
	}
}

package poddir

import (
	"slices"
	"testing"
)

func TestPathHelpersLayout(t *testing.T) {
	const p = "/var/lib/rkt/pods/run/0a1b2c3d-0000-4000-8000-000000000001"
	const s1 = p + "/stage1/rootfs"
	tests := []struct {
		name string
		got  string
		want string
	}{
		{name: "pods dir", got: PodsDir("/d"), want: "/d/pods"},
		{name: "state dir", got: StateDir("/d", StateDirExitedGarbage), want: "/d/pods/exited-garbage"},
		{name: "pod dir", got: PodDir("/d", StateDirRun, "u"), want: "/d/pods/run/u"},
		{name: "prepare lock", got: PrepareLockPath("/d"), want: "/d/locks/prepareLock"},
		{name: "tmp dir", got: TmpDir("/d"), want: "/d/tmp"},
		{name: "cas dir", got: CASDir("/d"), want: "/d/cas"},
		{name: "pod manifest", got: PodManifestPath(p), want: p + "/pod"},
		{name: "pod lock file", got: PodLockPath(p), want: p + "/pod.lck"},
		{name: "pod created", got: PodCreatedPath(p), want: p + "/pod-created"},
		{name: "stage1 tree id", got: Stage1TreeStoreIDPath(p), want: p + "/stage1TreeStoreID"},
		{name: "overlay prepared", got: OverlayPreparedPath(p), want: p + "/overlay-prepared"},
		{name: "private users", got: PrivateUsersPreparedPath(p), want: p + "/private-users-prepared"},
		{name: "pid", got: PidPath(p), want: p + "/pid"},
		{name: "ppid", got: PpidPath(p), want: p + "/ppid"},
		{name: "pgid", got: PgidPath(p), want: p + "/pgid"},
		{name: "subcgroup", got: SubcgroupPath(p), want: p + "/subcgroup"},
		{name: "runtime config", got: RuntimeConfigPath(p), want: p + "/runtime-config"},
		{name: "net info", got: NetInfoPath(p), want: p + "/net-info.json"},
		{name: "mds registered", got: MDSRegisteredPath(p), want: p + "/mds-registered"},
		{name: "stage1 dir", got: Stage1Dir(p), want: p + "/stage1"},
		{name: "stage1 manifest", got: Stage1ManifestPath(p), want: p + "/stage1/manifest"},
		{name: "stage1 rootfs", got: Stage1RootfsPath(p), want: s1},
		{name: "apps dir", got: AppsDir(p), want: s1 + "/opt/stage2"},
		{name: "app dir", got: AppDir(p, "web"), want: s1 + "/opt/stage2/web"},
		{name: "app rootfs", got: AppRootfsPath(p, "web"), want: s1 + "/opt/stage2/web/rootfs"},
		{name: "app image manifest", got: AppImageManifestPath(p, "web"), want: s1 + "/opt/stage2/web/manifest"},
		{name: "appsinfo dir", got: AppsInfoDir(p), want: p + "/appsinfo"},
		{name: "app info dir", got: AppInfoDir(p, "web"), want: p + "/appsinfo/web"},
		{name: "app info manifest", got: AppInfoManifestPath(p, "web"), want: p + "/appsinfo/web/manifest"},
		{name: "app info tree id", got: AppInfoTreeStoreIDPath(p, "web"), want: p + "/appsinfo/web/treeStoreID"},
		{name: "app status dir", got: AppStatusDir(p), want: s1 + "/rkt/status"},
		{name: "app status", got: AppStatusPath(p, "web"), want: s1 + "/rkt/status/web"},
		{name: "env dir", got: EnvDir(p), want: s1 + "/rkt/env"},
		{name: "env file", got: EnvFilePath(p, "web"), want: s1 + "/rkt/env/web"},
		{name: "supervisor status", got: SupervisorStatusPath(p), want: s1 + "/rkt/supervisor-status"},
		{name: "stage0 resolv.conf", got: Stage0ResolvConfPath(p), want: s1 + "/etc/rkt-resolv.conf"},
		{name: "stage0 hosts", got: Stage0HostsPath(p), want: s1 + "/etc/rkt-hosts"},
		{name: "hosts fallback", got: HostsFallbackPath(p), want: s1 + "/etc/hosts-fallback"},
		{name: "shared volumes dir", got: SharedVolumesDir(p), want: p + "/sharedVolumes"},
		{name: "shared volume", got: SharedVolumePath(p, "data"), want: p + "/sharedVolumes/data"},
		{name: "overlays dir", got: OverlaysDir(p), want: p + "/overlay"},
		{name: "overlay dir", got: OverlayDir(p, "deps-sha512-aa"), want: p + "/overlay/deps-sha512-aa"},
		{name: "overlay upper", got: OverlayUpperDir(p, "deps-sha512-aa"), want: p + "/overlay/deps-sha512-aa/upper"},
		{name: "overlay work", got: OverlayWorkDir(p, "deps-sha512-aa"), want: p + "/overlay/deps-sha512-aa/work"},
		{name: "app overlay upper", got: AppOverlayUpperDir(p, "t", "web"), want: p + "/overlay/t/upper/web"},
		{name: "app overlay work", got: AppOverlayWorkDir(p, "t", "web"), want: p + "/overlay/t/work/web"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestPathHelpersRelativeToCwd(t *testing.T) {
	// stage1 runs with cwd = $P and passes ".".
	if got, want := PidPath("."), "pid"; got != want {
		t.Errorf("PidPath(\".\") = %q, want %q", got, want)
	}
	if got, want := AppRootfsPath(".", "web"), "stage1/rootfs/opt/stage2/web/rootfs"; got != want {
		t.Errorf("AppRootfsPath(\".\", \"web\") = %q, want %q", got, want)
	}
}

func TestStateDirNamesSearchOrder(t *testing.T) {
	want := []string{"embryo", "prepare", "prepared", "run", "exited-garbage", "garbage"}
	got := StateDirNames()
	if !slices.Equal(got, want) {
		t.Fatalf("StateDirNames() = %q, want %q", got, want)
	}

	// The result is a fresh slice, so a caller cannot change the order for others.
	got[0] = "changed"
	if StateDirNames()[0] != StateDirEmbryo {
		t.Error("StateDirNames returns a shared slice")
	}
}

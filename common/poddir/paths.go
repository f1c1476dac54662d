package poddir

import "path/filepath"

// PodsDir returns $D/pods.
func PodsDir(dataDir string) string {
	return filepath.Join(dataDir, PodsDirName)
}

// StateDir returns $D/pods/<state>, where state is one of the StateDir*
// names.
func StateDir(dataDir, state string) string {
	return filepath.Join(dataDir, PodsDirName, state)
}

// PodDir returns $D/pods/<state>/<uuid>.
func PodDir(dataDir, state, uuid string) string {
	return filepath.Join(dataDir, PodsDirName, state, uuid)
}

// LocksDir returns $D/locks.
func LocksDir(dataDir string) string {
	return filepath.Join(dataDir, LocksDirName)
}

// PrepareLockPath returns $D/locks/prepareLock, the file that prepare holds
// shared and image gc holds exclusive.
func PrepareLockPath(dataDir string) string {
	return filepath.Join(dataDir, LocksDirName, PrepareLockName)
}

// TmpDir returns $D/tmp.
func TmpDir(dataDir string) string {
	return filepath.Join(dataDir, TmpDirName)
}

// CASDir returns $D/cas, the root of the image store.
func CASDir(dataDir string) string {
	return filepath.Join(dataDir, CASDirName)
}

// PodManifestPath returns $P/pod.
func PodManifestPath(p string) string { return filepath.Join(p, PodManifestFile) }

// PodLockPath returns $P/pod.lck.
func PodLockPath(p string) string { return filepath.Join(p, PodLockFile) }

// PodCreatedPath returns $P/pod-created, whose mtime is the pod's creation time.
func PodCreatedPath(p string) string { return filepath.Join(p, PodCreatedFile) }

// Stage1TreeStoreIDPath returns $P/stage1TreeStoreID.
func Stage1TreeStoreIDPath(p string) string { return filepath.Join(p, Stage1TreeStoreIDFile) }

// OverlayPreparedPath returns $P/overlay-prepared, present only in overlay mode.
func OverlayPreparedPath(p string) string { return filepath.Join(p, OverlayPreparedFile) }

// PrivateUsersPreparedPath returns $P/private-users-prepared.
func PrivateUsersPreparedPath(p string) string {
	return filepath.Join(p, PrivateUsersPreparedFile)
}

// PidPath returns $P/pid, written by stage1 run; its mtime is the start time.
func PidPath(p string) string { return filepath.Join(p, PidFile) }

// PpidPath returns $P/ppid, the alternative to pid that fly does not write.
func PpidPath(p string) string { return filepath.Join(p, PpidFile) }

// PgidPath returns $P/pgid, fly's process group id for stop.
func PgidPath(p string) string { return filepath.Join(p, PgidFile) }

// SubcgroupPath returns $P/subcgroup.
func SubcgroupPath(p string) string { return filepath.Join(p, SubcgroupFile) }

// RuntimeConfigPath returns $P/runtime-config.
func RuntimeConfigPath(p string) string { return filepath.Join(p, RuntimeConfigFile) }

// NetInfoPath returns $P/net-info.json.
func NetInfoPath(p string) string { return filepath.Join(p, NetInfoFile) }

// MDSRegisteredPath returns $P/mds-registered.
func MDSRegisteredPath(p string) string { return filepath.Join(p, MDSRegisteredFile) }

// Stage1Dir returns $P/stage1.
func Stage1Dir(p string) string { return filepath.Join(p, Stage1DirName) }

// Stage1ManifestPath returns $P/stage1/manifest, the stage1 image manifest.
func Stage1ManifestPath(p string) string {
	return filepath.Join(p, Stage1DirName, ManifestFile)
}

// Stage1RootfsPath returns $P/stage1/rootfs ($S1).
func Stage1RootfsPath(p string) string {
	return filepath.Join(p, Stage1DirName, RootfsDirName)
}

// AppsDir returns $S1/opt/stage2, the parent of every app directory.
func AppsDir(p string) string {
	return filepath.Join(Stage1RootfsPath(p), "opt", "stage2")
}

// AppDir returns $S1/opt/stage2/<app>.
func AppDir(p, app string) string { return filepath.Join(AppsDir(p), app) }

// AppRootfsPath returns $S1/opt/stage2/<app>/rootfs, the app's root.
func AppRootfsPath(p, app string) string {
	return filepath.Join(AppDir(p, app), RootfsDirName)
}

// AppImageManifestPath returns $S1/opt/stage2/<app>/manifest, the app's image
// manifest that fly's run requires.
func AppImageManifestPath(p, app string) string {
	return filepath.Join(AppDir(p, app), ManifestFile)
}

// AppsInfoDir returns $P/appsinfo.
func AppsInfoDir(p string) string { return filepath.Join(p, AppsInfoDirName) }

// AppInfoDir returns $P/appsinfo/<app>.
func AppInfoDir(p, app string) string { return filepath.Join(p, AppsInfoDirName, app) }

// AppInfoManifestPath returns $P/appsinfo/<app>/manifest.
func AppInfoManifestPath(p, app string) string {
	return filepath.Join(AppInfoDir(p, app), ManifestFile)
}

// AppInfoTreeStoreIDPath returns $P/appsinfo/<app>/treeStoreID.
func AppInfoTreeStoreIDPath(p, app string) string {
	return filepath.Join(AppInfoDir(p, app), TreeStoreIDFile)
}

// AppStatusDir returns $S1/rkt/status, which a stage1 image must ship.
func AppStatusDir(p string) string {
	return filepath.Join(Stage1RootfsPath(p), "rkt", "status")
}

// AppStatusPath returns $S1/rkt/status/<app>, the app's decimal exit status.
func AppStatusPath(p, app string) string { return filepath.Join(AppStatusDir(p), app) }

// EnvDir returns $S1/rkt/env.
func EnvDir(p string) string { return filepath.Join(Stage1RootfsPath(p), "rkt", "env") }

// EnvFilePath returns $S1/rkt/env/<app>, the environment that fly's enter uses.
func EnvFilePath(p, app string) string { return filepath.Join(EnvDir(p), app) }

// SupervisorStatusPath returns $S1/rkt/supervisor-status.
func SupervisorStatusPath(p string) string {
	return filepath.Join(Stage1RootfsPath(p), "rkt", "supervisor-status")
}

// Stage0ResolvConfPath returns $S1/etc/rkt-resolv.conf, written by stage0
// when the resolv mode is stage0.
func Stage0ResolvConfPath(p string) string {
	return filepath.Join(Stage1RootfsPath(p), "etc", "rkt-resolv.conf")
}

// Stage0HostsPath returns $S1/etc/rkt-hosts, written by stage0 when the hosts
// mode is stage0.
func Stage0HostsPath(p string) string {
	return filepath.Join(Stage1RootfsPath(p), "etc", "rkt-hosts")
}

// HostsFallbackPath returns $S1/etc/hosts-fallback, the base of rkt-hosts
// when the stage1 image ships it.
func HostsFallbackPath(p string) string {
	return filepath.Join(Stage1RootfsPath(p), "etc", "hosts-fallback")
}

// SharedVolumesDir returns $P/sharedVolumes.
func SharedVolumesDir(p string) string { return filepath.Join(p, SharedVolumesName) }

// SharedVolumePath returns $P/sharedVolumes/<vol>, the source of an empty volume.
func SharedVolumePath(p, vol string) string {
	return filepath.Join(p, SharedVolumesName, vol)
}

// OverlaysDir returns $P/overlay.
func OverlaysDir(p string) string { return filepath.Join(p, OverlayDirName) }

// OverlayDir returns $P/overlay/<treeID>.
func OverlayDir(p, treeID string) string { return filepath.Join(p, OverlayDirName, treeID) }

// OverlayUpperDir returns $P/overlay/<treeID>/upper, the upper dir of the
// stage1 overlay when treeID is the stage1 tree ID.
func OverlayUpperDir(p, treeID string) string {
	return filepath.Join(OverlayDir(p, treeID), "upper")
}

// OverlayWorkDir returns $P/overlay/<treeID>/work.
func OverlayWorkDir(p, treeID string) string {
	return filepath.Join(OverlayDir(p, treeID), "work")
}

// AppOverlayUpperDir returns $P/overlay/<treeID>/upper/<app>, the upper dir of
// an app overlay, where treeID is the app image's tree ID.
func AppOverlayUpperDir(p, treeID, app string) string {
	return filepath.Join(OverlayUpperDir(p, treeID), app)
}

// AppOverlayWorkDir returns $P/overlay/<treeID>/work/<app>.
func AppOverlayWorkDir(p, treeID, app string) string {
	return filepath.Join(OverlayWorkDir(p, treeID), app)
}

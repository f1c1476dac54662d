package poddir

// Names of the state directories under $D/pods. A pod directory moves between
// them by rename(2).
const (
	StateDirEmbryo        = "embryo"
	StateDirPrepare       = "prepare"
	StateDirPrepared      = "prepared"
	StateDirRun           = "run"
	StateDirExitedGarbage = "exited-garbage"
	StateDirGarbage       = "garbage"
)

// StateDirNames returns the state directory names in the order in which
// rkt searches them for a pod: the first directory that contains the
// UUID decides the pod's state.
func StateDirNames() []string {
	return []string{
		StateDirEmbryo,
		StateDirPrepare,
		StateDirPrepared,
		StateDirRun,
		StateDirExitedGarbage,
		StateDirGarbage,
	}
}

// Names of the entries of the data directory.
const (
	PodsDirName       = "pods"
	LocksDirName      = "locks"
	PrepareLockName   = "prepareLock"
	TmpDirName        = "tmp"
	CASDirName        = "cas"
	AppsInfoDirName   = "appsinfo"
	Stage1DirName     = "stage1"
	RootfsDirName     = "rootfs"
	OverlayDirName    = "overlay"
	SharedVolumesName = "sharedVolumes"
)

// Modes of the directories and files that stage0 and stage1 create.
const (
	DirMode         = 0o750 // pods/<state>, each pod directory and appsinfo dirs
	PodFileMode     = 0o640 // pod, pod-created, stage1TreeStoreID and manifests
	PidFileMode     = 0o644 // pid, ppid and pgid
	PodLockFileMode = 0o600 // pod.lck
)

// Names of the files in a pod directory.
const (
	PodManifestFile          = "pod"
	PodLockFile              = "pod.lck"
	PodCreatedFile           = "pod-created"
	Stage1TreeStoreIDFile    = "stage1TreeStoreID"
	OverlayPreparedFile      = "overlay-prepared"
	PrivateUsersPreparedFile = "private-users-prepared"
	PidFile                  = "pid"
	PpidFile                 = "ppid"
	PgidFile                 = "pgid"
	SubcgroupFile            = "subcgroup"
	RuntimeConfigFile        = "runtime-config"
	NetInfoFile              = "net-info.json"
	MDSRegisteredFile        = "mds-registered"

	// ManifestFile is the image manifest in stage1/, in appsinfo/<app>/ and
	// in $S1/opt/stage2/<app>/.
	ManifestFile = "manifest"
	// TreeStoreIDFile is the tree-store ID of an app image in appsinfo/<app>/.
	TreeStoreIDFile = "treeStoreID"
)

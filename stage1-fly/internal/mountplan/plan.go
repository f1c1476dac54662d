package mountplan

import (
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/abi"
	"github.com/rktfly/rkt/common/mount"
	"github.com/rktfly/rkt/common/mountinfo"
	"github.com/rktfly/rkt/common/poddir"
	"github.com/rktfly/rkt/stage1-fly/internal/manifest"
)

// Kind is the effect of a mount operation.
type Kind int

const (
	// MakeRShared makes the host mount at Target, and every mount below it,
	// shared. Its Target is a host path.
	MakeRShared Kind = iota
	// BindMount binds the host path Source on Target inside the app rootfs.
	BindMount
	// MountTmpfs mounts a new tmpfs on Target inside the app rootfs.
	MountTmpfs
	// RemountReadOnly makes the bind mount at Target inside the app rootfs
	// read-only.
	RemountReadOnly
)

func (k Kind) String() string {
	switch k {
	case MakeRShared:
		return "make rshared"
	case BindMount:
		return "bind mount"
	case MountTmpfs:
		return "mount tmpfs"
	case RemountReadOnly:
		return "remount read-only"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Create is the type of file that Apply creates at a missing target before
// mounting on it.
type Create int

const (
	// CreateNone creates nothing: the target must exist.
	CreateNone Create = iota
	// CreateDir creates a directory (mode 0755), for a directory source.
	CreateDir
	// CreateFile creates an empty file (mode 0700, as rkt's fly), for any
	// other source, such as a regular file or a unix socket.
	CreateFile
)

func (c Create) String() string {
	switch c {
	case CreateDir:
		return "dir"
	case CreateFile:
		return "file"
	}
	return "none"
}

// Op is one mount(2) call, in mount(2) terms.
type Op struct {
	Kind Kind
	// Source is the host path to bind, "tmpfs", or "" for propagation
	// changes and remounts.
	Source string
	// Target is an absolute path inside the app rootfs, except for
	// MakeRShared, whose Target is a host path.
	Target string
	FSType string
	// Flags are the mount(2) flags. For RemountReadOnly, Apply adds the
	// nosuid, nodev, noexec and atime flags that the mount already has.
	Flags uintptr
	Data  string
	// Create is the type of file to make at Target when it does not exist,
	// and the type an existing Target must have.
	Create Create
	// Volume names the pod volume this operation serves, for messages.
	Volume string
	// Implicit marks the bind of an implicit empty volume, which an image
	// mount point requested and the pod manifest does not name. Apply
	// treats it as one of the stage1's own mounts, not as a user volume.
	Implicit bool
	// Within is the rootfs path of the mount, made by an earlier operation,
	// that contains the Target of a bind or tmpfs mount, as far as paths and
	// the host's mountinfo show. It is "" for the rootfs itself. A symlink in
	// the image can still move the target, so Apply decides from the live
	// mount table whether that mount must first become a slave.
	Within string
}

// String prints the operation for --debug, such as
//
//	bind mount "/srv/data" on rootfs "/data" (MS_BIND|MS_REC) create=dir volume="data"
func (op Op) String() string {
	var b strings.Builder
	b.WriteString(op.Kind.String())
	if op.Source != "" {
		fmt.Fprintf(&b, " %q on", op.Source)
	}
	if op.Kind == MakeRShared {
		fmt.Fprintf(&b, " host %q", op.Target)
	} else {
		fmt.Fprintf(&b, " rootfs %q", op.Target)
	}
	fmt.Fprintf(&b, " (%s)", mount.FlagString(op.Flags))
	if op.FSType != "" && op.FSType != "none" {
		fmt.Fprintf(&b, " type=%s", op.FSType)
	}
	if op.Data != "" {
		fmt.Fprintf(&b, " data=%q", op.Data)
	}
	if op.Create != CreateNone {
		fmt.Fprintf(&b, " create=%s", op.Create)
	}
	if op.Volume != "" {
		fmt.Fprintf(&b, " volume=%q", op.Volume)
	}
	if op.Implicit {
		b.WriteString(" implicit")
	}
	if op.Within != "" {
		fmt.Fprintf(&b, " within=%q", op.Within)
	}
	return b.String()
}

// EmptyVolume is an "empty" volume's host directory,
// $P/sharedVolumes/<name>, which Apply creates before the mounts.
type EmptyVolume struct {
	Name string
	Path string
	Mode os.FileMode
	UID  int
	GID  int
}

// FileKind is the effect of a file operation.
type FileKind int

const (
	// CopyFile copies the host file Source to Target inside the app rootfs,
	// creating or truncating it. Target's parent must exist.
	CopyFile FileKind = iota
	// WriteIfMissing writes Data to Target inside the app rootfs when
	// nothing exists there. Failures are logged and ignored, as in rkt.
	WriteIfMissing
)

// FileOp is a file written into the app rootfs for the DNS modes.
type FileOp struct {
	Kind   FileKind
	Source string
	Target string
	Data   []byte
	Mode   os.FileMode
}

func (f FileOp) String() string {
	if f.Kind == CopyFile {
		return fmt.Sprintf("copy %q to rootfs %q", f.Source, f.Target)
	}
	return fmt.Sprintf("write %q to rootfs %q if missing", f.Data, f.Target)
}

// Plan is everything Apply does, in order: create the empty volumes, write
// the files, then make the mounts.
type Plan struct {
	// PodDir is the pod directory. Apply keeps every new mount from
	// propagating to a mount outside it. An empty PodDir means the rootfs.
	PodDir       string
	EmptyVolumes []EmptyVolume
	Files        []FileOp
	Mounts       []Op
}

// Log prints the plan, one line per operation.
func (p Plan) Log(logger *log.Logger) {
	for _, v := range p.EmptyVolumes {
		logger.Printf("plan: create empty volume %q at %q mode %#o uid %d gid %d", v.Name, v.Path, v.Mode, v.UID, v.GID)
	}
	for _, f := range p.Files {
		logger.Printf("plan: %s", f)
	}
	for _, op := range p.Mounts {
		logger.Printf("plan: %s", op)
	}
}

// Input is the data from which Compute builds a plan.
type Input struct {
	// PodDir is the absolute pod directory ($P).
	PodDir string
	// App is the pod's one app, with its App section already merged from
	// the image manifest when the pod manifest has none.
	App manifest.RuntimeApp
	// ImageManifest is the app's image manifest ($A/manifest).
	ImageManifest *manifest.ImageManifest
	// Volumes are the pod manifest's volumes.
	Volumes []manifest.Volume
	// HostMounts reads the host's mountinfo. Compute calls it at most once,
	// and only for a plan that has a volume or a mount below an earlier
	// recursive bind, because the default plan needs no mount table. Nil
	// means no host mounts.
	HostMounts func() ([]mountinfo.Mount, error)
	// DNS is the --dns-conf-mode value.
	DNS abi.DNSConfMode
	// Stat reads a host path; nil means os.Stat.
	Stat func(name string) (fs.FileInfo, error)
	// Log receives debug messages; nil discards them.
	Log *log.Logger
}

// DefaultHosts is the /etc/hosts content that hosts mode "default" writes
// when the image has none (the same bytes as rkt's fly).
const DefaultHosts = "127.0.0.1 localhost localdomain\n"

// Compute returns the plan for in. It fails on a manifest that fly cannot
// honour (conflicting mount paths, two mounts of one volume) and on a volume
// source that does not exist.
func Compute(in Input) (Plan, error) {
	if in.Stat == nil {
		in.Stat = os.Stat
	}
	if in.Log == nil {
		in.Log = log.New(discard{}, "", 0)
	}
	hostMounts := noHostMounts
	if in.HostMounts != nil {
		hostMounts = sync.OnceValues(in.HostMounts)
	}
	plan := Plan{PodDir: in.PodDir}

	// /dev, /proc and /sys: made rshared on the host first, so that mounts
	// the app makes below them reach the host, as rkt's fly does.
	for _, dir := range []string{"/dev", "/proc", "/sys"} {
		plan.Mounts = append(plan.Mounts,
			Op{Kind: MakeRShared, Target: dir, FSType: "none", Flags: unix.MS_REC | unix.MS_SHARED},
			Op{Kind: BindMount, Source: dir, Target: dir, FSType: "none", Flags: unix.MS_BIND | unix.MS_REC, Create: CreateDir},
		)
	}
	plan.Mounts = append(plan.Mounts, Op{Kind: MountTmpfs, Source: "tmpfs", Target: "/tmp", FSType: "tmpfs", Create: CreateDir})

	volumes, err := resolveVolumes(in)
	if err != nil {
		return Plan{}, err
	}
	for _, v := range volumes {
		if v.Volume.Kind == "empty" {
			plan.EmptyVolumes = append(plan.EmptyVolumes, emptyVolume(in.PodDir, v.Volume))
		}
		ops, err := volumeOps(in, v, hostMounts)
		if err != nil {
			return Plan{}, err
		}
		plan.Mounts = append(plan.Mounts, ops...)
	}

	files, ops, err := dnsOps(in)
	if err != nil {
		return Plan{}, err
	}
	plan.Files = files
	plan.Mounts = append(plan.Mounts, ops...)
	if err := setWithin(plan.Mounts, hostMounts); err != nil {
		return Plan{}, err
	}
	return plan, nil
}

func noHostMounts() ([]mountinfo.Mount, error) {
	return nil, nil
}

// setWithin fills in Op.Within for the bind and tmpfs mounts: the deepest
// earlier mount whose target contains the op's target and, when that is a
// recursive bind, the deepest host submount of its source that the path
// reaches.
func setWithin(ops []Op, hostMounts func() ([]mountinfo.Mount, error)) error {
	for i := range ops {
		if !createsMount(ops[i].Kind) {
			continue
		}
		var container *Op
		for j := 0; j < i; j++ {
			earlier := &ops[j]
			if !createsMount(earlier.Kind) || !mountinfo.IsUnder(ops[i].Target, earlier.Target) {
				continue
			}
			// Of two targets at the same path the later mount is on top.
			if container == nil || depth(earlier.Target) >= depth(container.Target) {
				container = earlier
			}
		}
		if container == nil {
			continue
		}
		ops[i].Within = container.Target
		if container.Kind != BindMount || container.Flags&unix.MS_REC == 0 {
			continue
		}
		mounts, err := hostMounts()
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(ops[i].Target, strings.TrimSuffix(container.Target, "/"))
		hostPath := path.Join(container.Source, rel)
		deepest := path.Clean(container.Source)
		for _, m := range mounts {
			if mountinfo.IsUnder(hostPath, m.MountPoint) && mountinfo.IsUnder(m.MountPoint, container.Source) && depth(m.MountPoint) > depth(deepest) {
				deepest = m.MountPoint
			}
		}
		ops[i].Within = path.Join(container.Target, strings.TrimPrefix(deepest, path.Clean(container.Source)))
	}
	return nil
}

// createsMount reports whether an operation of kind k makes a new mount.
func createsMount(k Kind) bool {
	return k == BindMount || k == MountTmpfs
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// createFor returns what to create at a target for the host source: a
// directory for a directory, a file for anything else. The error is the
// one from in.Stat, for the caller to name the source.
func createFor(in Input, source string) (Create, error) {
	info, err := in.Stat(source)
	if err != nil {
		return CreateNone, err
	}
	if info.IsDir() {
		return CreateDir, nil
	}
	return CreateFile, nil
}

// volumeOps returns the mounts of one volume: rows 8a to 8d of the fly
// mount list.
func volumeOps(in Input, v volumeMount, hostMounts func() ([]mountinfo.Mount, error)) ([]Op, error) {
	source := v.Volume.Source
	create := CreateDir
	if v.Volume.Kind == "empty" {
		source = poddir.SharedVolumePath(in.PodDir, v.Volume.Name)
	} else {
		var err error
		if create, err = createFor(in, source); err != nil {
			return nil, sourceError(v.Volume.Name, source, err)
		}
	}
	name := v.Volume.Name
	mounts, err := hostMounts()
	if err != nil {
		return nil, err
	}
	var ops []Op

	// A source that is itself a host mount point is made rshared, so that
	// mounts the app makes inside the volume show up on the host too.
	if mountinfo.IsMountPoint(mounts, source) {
		ops = append(ops, Op{Kind: MakeRShared, Target: source, FSType: "none", Flags: unix.MS_REC | unix.MS_SHARED, Volume: name})
	}

	bindFlags := uintptr(unix.MS_BIND)
	if v.Recursive {
		bindFlags |= unix.MS_REC
	}
	ops = append(ops, Op{Kind: BindMount, Source: source, Target: v.Path, FSType: "none", Flags: bindFlags, Create: create, Volume: name, Implicit: v.Implicit})
	if !v.ReadOnly {
		return ops, nil
	}

	ops = append(ops, Op{Kind: RemountReadOnly, Target: v.Path, FSType: "none", Flags: bindFlags | unix.MS_REMOUNT | unix.MS_RDONLY, Volume: name})
	if !v.Recursive {
		return ops, nil
	}
	// MS_REC does not reach the submounts on a remount: each mount that the
	// recursive bind copied needs its own read-only remount.
	submounts := mountinfo.Under(mounts, source)
	mountinfo.SortChildrenFirst(submounts)
	for i := len(submounts) - 1; i >= 0; i-- {
		m := submounts[i]
		if path.Clean(m.MountPoint) == path.Clean(source) {
			continue
		}
		rel := strings.TrimPrefix(m.MountPoint, strings.TrimSuffix(path.Clean(source), "/"))
		ops = append(ops, Op{
			Kind:   RemountReadOnly,
			Target: path.Join(v.Path, rel),
			FSType: "none",
			Flags:  unix.MS_BIND | unix.MS_REC | unix.MS_REMOUNT | unix.MS_RDONLY,
			Volume: name,
		})
	}
	return ops, nil
}

// sourceError returns the error for a host volume source that in.Stat
// could not read. It wraps only the errno, so that the one-line summary on
// stderr, which keeps the innermost error that is not an errno, shows the
// volume name and the fix.
func sourceError(name, source string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("volume %q: source %q does not exist: create it on the host or correct --volume %s,source=", name, source, name)
	}
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		err = pathErr.Err
	}
	return fmt.Errorf("volume %q: stat source %q: %w", name, source, err)
}

func emptyVolume(podDir string, v manifest.Volume) EmptyVolume {
	ev := EmptyVolume{
		Name: v.Name,
		Path: poddir.SharedVolumePath(podDir, v.Name),
		Mode: 0o755,
	}
	if v.Mode != nil {
		// The manifest loader validated the mode already (see parseMode).
		mode, _ := parseMode(*v.Mode)
		ev.Mode = mode
	}
	if v.UID != nil {
		ev.UID = *v.UID
	}
	if v.GID != nil {
		ev.GID = *v.GID
	}
	return ev
}

// dnsOps returns the file operations and mounts of the DNS modes
// . The binds of rows 9 and 10 get a read-only remount:
// MS_RDONLY on a new bind mount is ignored by the kernel.
func dnsOps(in Input) ([]FileOp, []Op, error) {
	var files []FileOp
	var ops []Op
	bindReadOnly := func(source, target string) error {
		create, err := createFor(in, source)
		if err != nil {
			return fmt.Errorf("stat mount source: %w", err)
		}
		ops = append(ops,
			Op{Kind: BindMount, Source: source, Target: target, FSType: "none", Flags: unix.MS_BIND | unix.MS_RDONLY, Create: create},
			Op{Kind: RemountReadOnly, Target: target, FSType: "none", Flags: unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY},
		)
		return nil
	}

	switch in.DNS.Resolv {
	case abi.ResolvHost:
		if err := bindReadOnly("/etc/resolv.conf", "/etc/resolv.conf"); err != nil {
			return nil, nil, fmt.Errorf("resolv mode host: %w", err)
		}
	case abi.ResolvStage0:
		source := poddir.Stage0ResolvConfPath(in.PodDir)
		if _, err := in.Stat(source); err == nil {
			files = append(files, FileOp{Kind: CopyFile, Source: source, Target: "/etc/resolv.conf", Mode: 0o644})
		} else {
			in.Log.Printf("resolv mode stage0: no %s, leaving the image's /etc/resolv.conf", source)
		}
	}

	switch in.DNS.Hosts {
	case abi.HostsHost:
		if err := bindReadOnly("/etc/hosts", "/etc/hosts"); err != nil {
			return nil, nil, fmt.Errorf("hosts mode host: %w", err)
		}
	case abi.HostsStage0:
		if err := bindReadOnly(poddir.Stage0HostsPath(in.PodDir), "/etc/hosts"); err != nil {
			return nil, nil, fmt.Errorf("hosts mode stage0: %w", err)
		}
	case abi.HostsDefault, "":
		files = append(files, FileOp{Kind: WriteIfMissing, Target: "/etc/hosts", Data: []byte(DefaultHosts), Mode: 0o644})
	}
	return files, ops, nil
}

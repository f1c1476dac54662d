package abi

// Stage1 image manifest annotations that name the entrypoints.
// Each value is an absolute path inside the stage1 rootfs.
const (
	AnnotationRun              = "coreos.com/rkt/stage1/run"
	AnnotationEnter            = "coreos.com/rkt/stage1/enter"
	AnnotationGC               = "coreos.com/rkt/stage1/gc"
	AnnotationStop             = "coreos.com/rkt/stage1/stop"
	AnnotationInterfaceVersion = "coreos.com/rkt/stage1/interface-version"
	AnnotationAppAdd           = "coreos.com/rkt/stage1/app/add"
	AnnotationAppRm            = "coreos.com/rkt/stage1/app/rm"
	AnnotationAppStart         = "coreos.com/rkt/stage1/app/start"
	AnnotationAppStop          = "coreos.com/rkt/stage1/app/stop"
	AnnotationAttach           = "coreos.com/rkt/stage1/attach"
)

// AnnotationMutable is the pod manifest annotation that stage0 always writes,
// with the value "false" for pods made by run and prepare.
const AnnotationMutable = "coreos.com/rkt/stage1/mutable"

// Stage1FlyName is the image name of the fly stage1.
const Stage1FlyName = "coreos.com/rkt/stage1-fly"

// Interface versions. A stage1 without the interface-version annotation has
// version DefaultInterfaceVersion. The Min* values are the lowest versions to
// which stage0 passes each flag.
const (
	DefaultInterfaceVersion = 1
	// FlyInterfaceVersion is what our stage1-fly declares, as rkt's does.
	// Declaring 6 would make rkt pass --ipc, which rkt's own fly rejects.
	FlyInterfaceVersion = 5

	MinVersionHostname        = 2 // run --hostname=
	MinVersionInsecureOptions = 3 // run --disable-capabilities-restriction, --disable-paths, --disable-seccomp
	MinVersionDNSConfMode     = 4 // run --dns-conf-mode=
	MinVersionGCLocalConfig   = 5 // gc --local-config DIR, as two argv words
	MinVersionIPC             = 6 // run --ipc=
)

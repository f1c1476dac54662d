// Command abifloor does only the file system and mount work that the
// stage0/stage1 interface requires of a warm fly run. The benchmark times it
// to show the least time that any conforming stage0 and stage1 can take on
// the machine.
//
//	abifloor run DATADIR TEMPLATE
//
// TEMPLATE is a directory laid out like a prepared pod of DATADIR, made by
// `rkt prepare`, with one app. abifloor copies its pod manifest, image
// manifests and tree IDs into a new pod in DATADIR. It moves the pod through
// embryo, prepare and run with the lock and fsyncs of the interface, mounts
// the two overlays and executes itself as the stage1. The stage1 part binds
// /dev, /proc and /sys, mounts /tmp, writes the pod's files and executes the
// app's /bin/true in the app root. The pod is left exited, for `rkt gc`.
//
// It leaves out what rkt adds to that work: argument parsing, image lookup,
// manifest parsing and validation, the safety checks of the stage1's mounts,
// and the cleanup after a failure. It is a benchmark baseline, not a runtime:
// any failure exits 254.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

func main() {
	switch {
	case len(os.Args) == 4 && os.Args[1] == "run":
		stage0(os.Args[2], os.Args[3])
	case len(os.Args) == 3 && os.Args[1] == "stage1":
		stage1(os.Args[2])
	default:
		fmt.Fprintln(os.Stderr, "usage: abifloor run DATADIR TEMPLATE")
		os.Exit(2)
	}
}

// check exits 254 with err, after the words that name the failed step,
// unless err is nil.
func check(err error, step ...any) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "abifloor:", fmt.Sprint(step...), err)
		os.Exit(254)
	}
}

func read(path string) []byte {
	data, err := os.ReadFile(path)
	check(err)
	return data
}

func write(path string, data []byte, mode uint32) {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, mode)
	check(err, "create ", path, ":")
	if len(data) > 0 {
		_, err = unix.Write(fd, data)
		check(err)
	}
	check(unix.Close(fd))
}

func mkdir(mode uint32, paths ...string) {
	for _, path := range paths {
		check(unix.Mkdir(path, mode), "mkdir ", path, ":")
	}
}

func fsyncDir(path string) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	check(err, "open ", path, ":")
	check(unix.Fsync(fd), "fsync ", path, ":")
	check(unix.Close(fd))
}

func newUUID() string {
	var b [16]byte
	_, err := unix.Getrandom(b[:], 0)
	check(err)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// appName returns the name of the template's only app.
func appName(template string) string {
	entries, err := os.ReadDir(filepath.Join(template, "appsinfo"))
	check(err)
	if len(entries) != 1 {
		check(fmt.Errorf("template %s has %d apps: prepare a pod with one image", template, len(entries)))
	}
	return entries[0].Name()
}

func stage0(dataDir, template string) {
	app := appName(template)
	podManifest := read(filepath.Join(template, "pod"))
	s1Manifest := read(filepath.Join(template, "stage1", "manifest"))
	s1Tree := string(read(filepath.Join(template, "stage1TreeStoreID")))
	appManifest := read(filepath.Join(template, "appsinfo", app, "manifest"))
	appTree := string(read(filepath.Join(template, "appsinfo", app, "treeStoreID")))

	pods := filepath.Join(dataDir, "pods")
	uuid := newUUID()
	embryo := filepath.Join(pods, "embryo", uuid)
	mkdir(0o750, embryo)
	lockFd, err := unix.Open(embryo, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	check(err)
	check(unix.Flock(lockFd, unix.LOCK_EX))
	pod := filepath.Join(pods, "prepare", uuid)
	check(unix.Rename(embryo, pod), "rename ", embryo, ":")
	fsyncDir(filepath.Dir(pod))

	mkdir(0o750, pod+"/appsinfo", pod+"/stage1", pod+"/appsinfo/"+app)
	write(pod+"/stage1TreeStoreID", []byte(s1Tree), 0o640)
	write(pod+"/stage1/manifest", s1Manifest, 0o640)
	write(pod+"/appsinfo/"+app+"/manifest", appManifest, 0o640)
	write(pod+"/appsinfo/"+app+"/treeStoreID", []byte(appTree), 0o640)
	write(pod+"/pod.lck", nil, 0o600)
	write(pod+"/pod", podManifest, 0o640)
	write(pod+"/pod-created", nil, 0o640)
	write(pod+"/overlay-prepared", nil, 0o640)

	run := filepath.Join(pods, "run", uuid)
	check(unix.Rename(pod, run), "rename ", pod, ":")
	fsyncDir(filepath.Dir(run))

	trees := filepath.Join(dataDir, "cas", "tree")
	s1Overlay := run + "/overlay/" + s1Tree
	s1Root := run + "/stage1/rootfs"
	mkdir(0o750, run+"/overlay")
	mkdir(0o755, s1Overlay, s1Overlay+"/upper", s1Overlay+"/work", s1Root)
	check(unix.Mount("overlay", s1Root, "overlay", 0,
		"lowerdir="+trees+"/"+s1Tree+"/rootfs,upperdir="+s1Overlay+"/upper,workdir="+s1Overlay+"/work"), "mount overlay on ", s1Root, ":")
	check(unix.UtimesNano(s1Root+"/rkt/status", nil), "touch ", s1Root, "/rkt/status:")

	appDir := s1Root + "/opt/stage2/" + app
	appOverlay := run + "/overlay/" + appTree
	mkdir(0o755, appDir)
	write(appDir+"/manifest", appManifest, 0o640)
	mkdir(0o755, appOverlay, appOverlay+"/upper", appOverlay+"/upper/"+app,
		appOverlay+"/work", appOverlay+"/work/"+app, appDir+"/rootfs")
	check(unix.Mount("overlay", appDir+"/rootfs", "overlay", 0,
		"lowerdir="+trees+"/"+appTree+"/rootfs,upperdir="+appOverlay+"/upper/"+app+",workdir="+appOverlay+"/work/"+app),
		"mount overlay on ", appDir, "/rootfs:")
	check(unix.Symlink("../proc/self/mounts", appDir+"/rootfs/etc/mtab"), "symlink ", appDir, "/rootfs/etc/mtab:")

	check(unix.Chdir(run))
	_, err = unix.FcntlInt(uintptr(lockFd), unix.F_SETFD, 0)
	check(err)
	self, err := os.Executable()
	check(err)
	env := append(os.Environ(), "RKT_LOCK_FD="+strconv.Itoa(lockFd))
	check(unix.Exec(self, []string{self, "stage1", app}, env))
}

func stage1(app string) {
	write("runtime-config", []byte(`{"Debug":false}`), 0o644)
	root := "stage1/rootfs/opt/stage2/" + app + "/rootfs"
	for _, dir := range []string{"/dev", "/proc", "/sys"} {
		check(unix.Mount(dir, root+dir, "", unix.MS_BIND|unix.MS_REC, ""), "bind ", dir, " on ", root+dir, ":")
		check(unix.Mount("", root+dir, "", unix.MS_SLAVE|unix.MS_REC, ""), "make ", root+dir, " a slave:")
	}
	check(unix.Mount("tmpfs", root+"/tmp", "tmpfs", 0, "mode=1777"), "mount tmpfs on ", root, "/tmp:")
	write(root+"/etc/hosts", []byte("127.0.0.1 localhost localdomain\n"), 0o644)
	write("pid", []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
	write("pgid", []byte(strconv.Itoa(unix.Getpgrp())+"\n"), 0o644)
	mkdir(0o755, "stage1/rootfs/rkt/env")
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	write("stage1/rootfs/rkt/env/"+app, []byte(env[0]+"\n"), 0o644)
	check(unix.Chroot(root), "chroot ", root, ":")
	check(unix.Chdir("/"), "chdir /:")
	check(unix.Exec("/bin/true", []string{"/bin/true"}, env), "execute /bin/true in ", root, ":")
}

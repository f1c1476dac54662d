package build

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rktfly/rkt/internal/testbuild"
)

// testImage is what every test image must contain.
type testImage struct {
	file    string
	name    string
	exec    []string
	version string
}

func testImages(t *testing.T) []testImage {
	t.Helper()
	images := []testImage{
		{file: "busybox", name: "example.com/busybox", exec: []string{"/bin/sh"}, version: "1.0.0"},
		{file: "inspect", name: "example.com/inspect", exec: []string{"/inspect"}, version: "1.0.0"},
		{file: "example", name: "example.com/example", exec: []string{"/example"}, version: "1.0.0"},
		{file: "true", name: "example.com/true", exec: []string{"/true"}, version: "1.0.0"},
	}
	if _, err := os.Stat("/usr/bin/etcd"); err == nil {
		// The etcd image takes the version of the host's etcd.
		images = append(images, testImage{file: "etcd", name: "example.com/etcd", exec: []string{"/usr/bin/etcd"}})
	}
	return images
}

func TestTestImagesManifests(t *testing.T) {
	tool := actool(t)
	for _, image := range testImages(t) {
		t.Run(image.file, func(t *testing.T) {
			path := testbuild.Image(t, image.file)
			runCommand(t, "", nil, tool, "validate", path)

			entries, _ := readACI(t, path)
			im := imageManifest(t, entries)
			if got := im.Name.String(); got != image.name {
				t.Errorf("name = %q, want %q", got, image.name)
			}
			if got, _ := im.Labels.Get("os"); got != "linux" {
				t.Errorf("os label = %q, want linux", got)
			}
			if got, _ := im.Labels.Get("arch"); got != expectedAppcArch(t) {
				t.Errorf("arch label = %q, want %q", got, expectedAppcArch(t))
			}
			version, ok := im.Labels.Get("version")
			if !ok || (image.version != "" && version != image.version) {
				t.Errorf("version label = %q (present %v), want %q", version, ok, image.version)
			}
			if im.App == nil {
				t.Fatal("no app section")
			}
			if strings.Join(im.App.Exec, " ") != strings.Join(image.exec, " ") {
				t.Errorf("exec = %q, want %q", im.App.Exec, image.exec)
			}
			if entry := entries["rootfs"+image.exec[0]]; entry.header == nil || entry.header.Mode&0o111 == 0 {
				t.Errorf("rootfs%s is missing or not executable", image.exec[0])
			}
		})
	}
}

func TestBusyboxImageContents(t *testing.T) {
	entries, _ := readACI(t, testbuild.Image(t, "busybox"))

	for _, applet := range []string{"sh", "ls", "cat", "echo", "mount", "umount", "mkdir", "touch", "id",
		"sleep", "true", "false", "test", "stat", "grep", "env", "printf", "readlink", "ln", "rm", "wc"} {
		hdr := entries["rootfs/bin/"+applet].header
		if hdr == nil || hdr.Typeflag != tar.TypeSymlink || hdr.Linkname != "busybox" {
			t.Errorf("rootfs/bin/%s = %+v, want a symlink to busybox", applet, hdr)
		}
	}
	if entry := entries["rootfs/bin/busybox"]; entry.header == nil {
		t.Error("no rootfs/bin/busybox")
	} else {
		checkStaticELF(t, entry.data)
	}

	owned := entries["rootfs/owned-by-1000"].header
	if owned == nil || owned.Uid != 1000 || owned.Gid != 2000 {
		t.Errorf("rootfs/owned-by-1000 = %+v, want owner 1000:2000", owned)
	}
	if tmp := entries["rootfs/tmp"].header; tmp == nil || tmp.Typeflag != tar.TypeDir || tmp.Mode != 0o1777 {
		t.Errorf("rootfs/tmp = %+v, want a directory with mode 1777", tmp)
	}

	wantPasswd := []string{"root:x:0:0:", "user1:x:1000:1000:", "user2:x:1001:1001:"}
	checkLinePrefixes(t, string(entries["rootfs/etc/passwd"].data), wantPasswd)
	wantGroup := []string{"root:x:0:", "group1:x:1000:", "group2:x:1001:", "extra:x:2000:"}
	checkLinePrefixes(t, string(entries["rootfs/etc/group"].data), wantGroup)
}

// checkLinePrefixes fails unless each prefix starts a line of content.
func checkLinePrefixes(t *testing.T, content string, prefixes []string) {
	t.Helper()
	lines := strings.Split(content, "\n")
	for _, prefix := range prefixes {
		found := false
		for _, line := range lines {
			if strings.HasPrefix(line, prefix) {
				found = true
			}
		}
		if !found {
			t.Errorf("no line starting with %q in:\n%s", prefix, content)
		}
	}
}

// inspectReport holds the fields of tests/images/inspect's report that this
// test checks.
type inspectReport struct {
	UID        int               `json:"uid"`
	Args       []string          `json:"args"`
	Cwd        string            `json:"cwd"`
	Env        []string          `json:"env"`
	Namespaces map[string]string `json:"namespaces"`
	Mountinfo  []string          `json:"mountinfo"`
	Writes     []struct {
		Path  string `json:"path"`
		Error string `json:"error"`
		Errno string `json:"errno"`
	} `json:"writes"`
	Reads []struct {
		Path    string `json:"path"`
		Content string `json:"content"`
	} `json:"reads"`
}

func TestInspectImageReportsAndExits(t *testing.T) {
	entries, _ := readACI(t, testbuild.Image(t, "inspect"))
	dir := t.TempDir()
	binary := filepath.Join(dir, "inspect")
	if err := os.WriteFile(binary, entries["rootfs/inspect"].data, 0o755); err != nil {
		t.Fatal(err)
	}
	written := filepath.Join(dir, "written")
	missing := filepath.Join(dir, "no-such-dir", "file")

	cmd := exec.Command(binary, "-write", written+"=hello", "-write", missing+"=x",
		"-read", written, "-exit", "7", "arg1")
	cmd.Dir = dir
	cmd.Env = []string{"INSPECT_TEST=1"}
	out, err := cmd.Output()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 7 {
		t.Fatalf("exit = %v, want status 7 (output %s)", err, out)
	}

	var report inspectReport
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatalf("decode report: %v\n%s", err, out)
	}
	if report.UID != os.Getuid() {
		t.Errorf("uid = %d, want %d", report.UID, os.Getuid())
	}
	if report.Cwd != dir {
		t.Errorf("cwd = %q, want %q", report.Cwd, dir)
	}
	if len(report.Args) == 0 || report.Args[0] != binary || report.Args[len(report.Args)-1] != "arg1" {
		t.Errorf("args = %q, want the full argv from %s to arg1", report.Args, binary)
	}
	if len(report.Env) != 1 || report.Env[0] != "INSPECT_TEST=1" {
		t.Errorf("env = %q, want [INSPECT_TEST=1]", report.Env)
	}
	if !strings.HasPrefix(report.Namespaces["mnt"], "mnt:[") {
		t.Errorf("mnt namespace = %q, want mnt:[INODE]", report.Namespaces["mnt"])
	}
	if len(report.Mountinfo) == 0 {
		t.Error("no mountinfo lines")
	}
	if len(report.Writes) != 2 || report.Writes[0].Error != "" || report.Writes[1].Errno != "ENOENT" {
		t.Errorf("writes = %+v, want success then ENOENT", report.Writes)
	}
	if len(report.Reads) != 1 || report.Reads[0].Content != "hello" {
		t.Errorf("reads = %+v, want the content hello", report.Reads)
	}
}

package functional

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rktfly/rkt/internal/testbuild"
)

func TestRunWritesDNSFiles(t *testing.T) {
	e := newRktEnv(t)
	if e == nil {
		return
	}
	out := filepath.Join(e.scratch, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	e.mustRun("run", "--dns=192.0.2.53", "--dns-search=example.test", "--dns-opt=ndots:2",
		"--hosts-entry=192.0.2.10=db", "--hosts-entry", "192.0.2.10=db-alias",
		"--volume=out,kind=host,source="+out,
		testbuild.Image(t, "busybox"), "--mount=volume=out,target=/out",
		"--exec=/bin/sh", "--", "-c", "cat /etc/resolv.conf > /out/resolv; cat /etc/hosts > /out/hosts")

	resolv := readFile(t, filepath.Join(out, "resolv"))
	for _, want := range []string{"search example.test\n", "nameserver 192.0.2.53\n", "options ndots:2\n"} {
		if !strings.Contains(resolv, want) {
			t.Errorf("resolv.conf lacks %q:\n%s", want, resolv)
		}
	}
	hosts := readFile(t, filepath.Join(out, "hosts"))
	if !strings.Contains(hosts, "192.0.2.10 db db-alias\n") {
		t.Errorf("hosts lacks the --hosts-entry line:\n%s", hosts)
	}
}

func TestRunPodManifestFile(t *testing.T) {
	e := newRktEnv(t)
	if e == nil {
		return
	}
	uuidFile := filepath.Join(e.scratch, "uuid")
	if res := e.run("run", "--uuid-file-save="+uuidFile, testbuild.Image(t, "busybox"), "--exec=/bin/sh", "--", "-c", "exit 5"); res.code != 5 {
		t.Fatalf("first run exit status = %d, want 5; stderr: %s", res.code, res.stderr)
	}
	manifest := filepath.Join(e.dataDir, "pods", "run", readFile(t, uuidFile), "pod")

	res := e.run("run", "--uuid-file-save="+uuidFile, "--pod-manifest="+manifest)
	if res.code != 5 {
		t.Fatalf("run --pod-manifest exit status = %d, want 5; stderr: %s", res.code, res.stderr)
	}
	second := filepath.Join(e.dataDir, "pods", "run", readFile(t, uuidFile), "pod")
	if readFile(t, second) != readFile(t, manifest) {
		t.Error("the pod manifest was not written as given")
	}

	conflict := e.run("run", "--pod-manifest="+manifest, testbuild.Image(t, "busybox"))
	if conflict.code != 254 || !strings.Contains(conflict.stderr, "conflicting flags set with --pod-manifest") {
		t.Errorf("--pod-manifest with an image: exit %d, stderr %q", conflict.code, conflict.stderr)
	}
}

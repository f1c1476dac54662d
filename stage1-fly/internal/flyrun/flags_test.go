package flyrun

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/rktfly/rkt/common/abi"
)

const uuid = "6c2f4d4a-7d36-4a1b-9b45-5d3b0a5e7c11"

func TestParseFlagsAcceptsEveryVersion(t *testing.T) {
	args := []string{"--debug", "--net=default", "--interactive", "--private-users=0:65536",
		"--mds-token=tok", "--local-config=/etc/rkt", "--hostname=h", "--dns-conf-mode=resolv=host,hosts=stage0",
		"--disable-capabilities-restriction", "--disable-paths", "--disable-seccomp", "--mutable", "--ipc=auto", uuid}
	var stdout bytes.Buffer
	f, err := ParseFlags(args, &stdout)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Debug || !f.Mutable || f.IPC != "auto" || f.PrivateUsers != "0:65536" {
		t.Errorf("flags = %+v", f)
	}
	if f.DNS != (abi.DNSConfMode{Resolv: abi.ResolvHost, Hosts: abi.HostsStage0}) {
		t.Errorf("dns = %v", f.DNS)
	}
	want := "Warning: -mds-token not supported; ignoring\nWarning: -hostname not supported; ignoring\n"
	if stdout.String() != want {
		t.Errorf("stdout = %q, want %q", stdout.String(), want)
	}
}

func TestParseFlagsForms(t *testing.T) {
	cases := []struct {
		name string
		args []string
	}{
		{name: "single dash", args: []string{"-net=default", "-debug", uuid}},
		{name: "separate value", args: []string{"--net", "default", uuid}},
		{name: "stops at first positional", args: []string{uuid, "--unknown"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseFlags(tc.args, &bytes.Buffer{}); err != nil {
				t.Errorf("ParseFlags(%q): %v", tc.args, err)
			}
		})
	}
}

func TestParseFlagsUUID(t *testing.T) {
	want := [16]byte{0x6c, 0x2f, 0x4d, 0x4a, 0x7d, 0x36, 0x4a, 0x1b, 0x9b, 0x45, 0x5d, 0x3b, 0x0a, 0x5e, 0x7c, 0x11}
	for _, arg := range []string{uuid, strings.ReplaceAll(uuid, "-", ""), strings.ToUpper(uuid)} {
		f, err := ParseFlags([]string{arg}, &bytes.Buffer{})
		if err != nil {
			t.Errorf("ParseFlags(%q): %v", arg, err)
			continue
		}
		if f.UUID != want {
			t.Errorf("ParseFlags(%q).UUID = %x, want %x", arg, f.UUID, want)
		}
	}
}

func TestParseFlagsErrors(t *testing.T) {
	cases := []struct {
		name, want string
		args       []string
	}{
		{name: "missing uuid", args: []string{"--net=default"}, want: "UUID is missing or malformed"},
		{name: "malformed uuid", args: []string{"xyz"}, want: "UUID is missing or malformed"},
		{name: "uuid with non-hex digit", args: []string{"6c2f4d4a-7d36-4a1b-9b45-5d3b0a5e7c1g"}, want: "invalid byte"},
		{name: "unknown flag", args: []string{"--bogus", uuid}, want: "flag provided but not defined"},
		{name: "bad dns mode", args: []string{"--dns-conf-mode=resolv=x", uuid}, want: "resolv mode"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFlags(tc.args, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestFindExecutable(t *testing.T) {
	root := t.TempDir()
	for _, dir := range []string{"/bin", "/usr/bin", "/opt/app", "/bin/dirprog"} {
		if err := os.MkdirAll(root+dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]os.FileMode{"/usr/bin/tool": 0o755, "/bin/noexec": 0o644, "/opt/app/local": 0o755}
	for name, mode := range files {
		if err := os.WriteFile(root+name, nil, mode); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name, bin, workDir, pathEnv string
		hasPath                     bool
		want                        string
	}{
		{name: "absolute", bin: "/x/y", want: "/x/y"},
		{name: "relative with slash", bin: "./local", workDir: "/opt/app", want: "/opt/app/local"},
		{name: "default search", bin: "tool", want: "/usr/bin/tool"},
		{name: "working dir first", bin: "local", workDir: "/opt/app", want: "/opt/app/local"},
		{name: "app PATH", bin: "local", pathEnv: "/usr/bin:/opt/app", hasPath: true, want: "/opt/app/local"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := findExecutable(root, tc.bin, tc.workDir, tc.pathEnv, tc.hasPath)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("findExecutable(%q) = %q, want %q", tc.bin, got, tc.want)
			}
		})
	}
	for _, bin := range []string{"noexec", "dirprog", "missing"} {
		if got, err := findExecutable(root, bin, "", "", false); err == nil {
			t.Errorf("findExecutable(%q) = %q, want an error", bin, got)
		}
	}
}

func TestLogIgnoredGivesEachFlagsReason(t *testing.T) {
	flags := Flags{LocalConfig: "/etc/rkt", DisablePaths: true, IPC: "parent"}
	var lines []string
	flags.LogIgnored(func(format string, args ...any) {
		lines = append(lines, fmt.Sprintf(format, args...))
	})
	want := []string{
		"ignoring --ipc=parent: fly runs the app in the host's namespaces",
		"ignoring --local-config=/etc/rkt: fly reads no configuration",
		"ignoring --disable-paths: fly applies no capability, path or seccomp restrictions",
	}
	if len(lines) != len(want) {
		t.Fatalf("LogIgnored wrote %q, want %q", lines, want)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d = %q, want %q", i, lines[i], want[i])
		}
	}
}

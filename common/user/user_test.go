package user

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const samplePasswd = `root:x:0:0:root:/root:/bin/sh

daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
user:x:1000:1000:,,,:/home/user:/bin/sh
1234:x:77:77::/:/bin/sh
extra:x:2000:2000::/:/bin/sh:more
`

const sampleGroup = `root:x:0:
daemon:x:1:
users:x:100:user,daemon
1234:x:88:
`

func newRoot(t *testing.T, passwd, group string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(root+"/etc", 0o755); err != nil {
		t.Fatal(err)
	}
	if passwd != "" {
		writeFile(t, root+"/etc/passwd", passwd)
	}
	if group != "" {
		writeFile(t, root+"/etc/group", group)
	}
	return root
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLookupUser(t *testing.T) {
	root := newRoot(t, samplePasswd, sampleGroup)
	cases := []struct {
		name, user string
		want       int
	}{
		{name: "root keyword", user: "root", want: 0},
		{name: "numeric", user: "4242", want: 4242},
		{name: "numeric wins over name", user: "1234", want: 1234},
		{name: "name", user: "user", want: 1000},
		{name: "name on first line", user: "daemon", want: 1},
		{name: "line with extra fields", user: "extra", want: 2000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LookupUser(root, tc.user)
			if err != nil {
				t.Fatalf("LookupUser(%q): %v", tc.user, err)
			}
			if got != tc.want {
				t.Errorf("LookupUser(%q) = %d, want %d", tc.user, got, tc.want)
			}
		})
	}
}

func TestLookupGroup(t *testing.T) {
	root := newRoot(t, samplePasswd, sampleGroup)
	cases := []struct {
		name, group string
		want        int
	}{
		{name: "root keyword", group: "root", want: 0},
		{name: "numeric", group: "99", want: 99},
		{name: "numeric wins over name", group: "1234", want: 1234},
		{name: "name", group: "users", want: 100},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LookupGroup(root, tc.group)
			if err != nil {
				t.Fatalf("LookupGroup(%q): %v", tc.group, err)
			}
			if got != tc.want {
				t.Errorf("LookupGroup(%q) = %d, want %d", tc.group, got, tc.want)
			}
		})
	}
}

func TestLookupNotFound(t *testing.T) {
	root := newRoot(t, samplePasswd, sampleGroup)
	_, err := LookupUser(root, "nobody")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("LookupUser(nobody) error = %v, want ErrNotFound", err)
	}
	_, err = LookupGroup(root, "nogroup")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("LookupGroup(nogroup) error = %v, want ErrNotFound", err)
	}
}

// TestNotFoundInnermostMessage checks the innermost error of the chain,
// which is the part stage1 prints without --debug: it must name the value
// and the file.
func TestNotFoundInnermostMessage(t *testing.T) {
	root := newRoot(t, samplePasswd, sampleGroup)
	cases := []struct {
		name string
		run  func() error
		want string
	}{
		{
			name: "user name",
			run:  func() error { _, err := LookupUser(root, "nosuch"); return err },
			want: `user "nosuch" not found in the image's /etc/passwd`,
		},
		{
			name: "group name",
			run:  func() error { _, err := LookupGroup(root, "nosuchgroup"); return err },
			want: `group "nosuchgroup" not found in the image's /etc/group`,
		},
		{
			name: "negative user id",
			run:  func() error { _, err := LookupUser(root, "-5"); return err },
			want: `user "-5" not found in the image's /etc/passwd, and it is not a valid id (0 to 4294967294)`,
		},
		{
			name: "reserved group id",
			run:  func() error { _, err := LookupGroup(root, "4294967295"); return err },
			want: `group "4294967295" not found in the image's /etc/group, and it is not a valid id (0 to 4294967294)`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if err == nil {
				t.Fatal("lookup succeeded, want an error")
			}
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("error %v does not match ErrNotFound", err)
			}
			var notFound *NotFoundError
			if !errors.As(err, &notFound) {
				t.Fatalf("error %v is not a *NotFoundError", err)
			}
			if errors.Unwrap(notFound) != nil {
				t.Errorf("NotFoundError wraps %v, want it to be the innermost error", errors.Unwrap(notFound))
			}
			if got := notFound.Error(); got != tc.want {
				t.Errorf("innermost message = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLookupMalformedLineFails(t *testing.T) {
	cases := map[string]string{
		"comment":         "# users\nuser:x:1000:1000::/:/bin/sh\n",
		"too few fields":  "short:x:1:1\nuser:x:1000:1000::/:/bin/sh\n",
		"non-numeric uid": "bad:x:abc:1::/:/bin/sh\nuser:x:1000:1000::/:/bin/sh\n",
		"bad line after":  "user:x:1000:1000::/:/bin/sh\nbad\n",
	}
	for name, passwd := range cases {
		t.Run(name, func(t *testing.T) {
			root := newRoot(t, passwd, "")
			uid, err := LookupUser(root, "user")
			if err == nil {
				t.Fatalf("LookupUser(user) = %d, want an error", uid)
			}
			if errors.Is(err, ErrNotFound) {
				t.Errorf("malformed file reported as not found: %v", err)
			}
		})
	}
}

func TestLookupGroupMalformedLineFails(t *testing.T) {
	root := newRoot(t, "", "users:x:100\n")
	if _, err := LookupGroup(root, "users"); err == nil || !strings.Contains(err.Error(), "at least 4") {
		t.Errorf("LookupGroup with 3 fields: error = %v", err)
	}
}

func TestLookupMissingFile(t *testing.T) {
	root := newRoot(t, "", "")
	_, err := LookupUser(root, "user")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LookupUser without passwd: error = %v, want not exist", err)
	}
}

func TestLookupReadsImageNotHost(t *testing.T) {
	// etc/passwd -> /etc/real-passwd must resolve to root/etc/real-passwd,
	// never to a host file.
	root := newRoot(t, "", "")
	writeFile(t, root+"/etc/real-passwd", "imageuser:x:3000:3000::/:/bin/sh\n")
	if err := os.Symlink("/etc/real-passwd", root+"/etc/passwd"); err != nil {
		t.Fatal(err)
	}
	got, err := LookupUser(root, "imageuser")
	if err != nil {
		t.Fatal(err)
	}
	if got != 3000 {
		t.Errorf("uid = %d, want 3000", got)
	}
	// The host's root entry is not visible: "daemon" is not in the image.
	if _, err := LookupUser(root, "daemon"); !errors.Is(err, ErrNotFound) {
		t.Errorf("LookupUser(daemon) error = %v, want ErrNotFound", err)
	}
}

func TestLookupEtcEscapeLink(t *testing.T) {
	// An image whose /etc is a symlink to ../../../etc still reads its own.
	root := t.TempDir()
	if err := os.MkdirAll(root+"/real", 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, root+"/real/passwd", "imageuser:x:3001:3001::/:/bin/sh\n")
	if err := os.Symlink("../../../real", root+"/etc"); err != nil {
		t.Fatal(err)
	}
	got, err := LookupUser(root, "imageuser")
	if err != nil {
		t.Fatal(err)
	}
	if got != 3001 {
		t.Errorf("uid = %d, want 3001", got)
	}
}

func TestLookupPathOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	root := newRoot(t, samplePasswd, sampleGroup)
	file := filepath.Join(root, "owned")
	writeFile(t, file, "")
	if err := os.Chown(file, 4001, 4002); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(root, "link")
	if err := os.Symlink("owned", link); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(link, 5001, 5002); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path string
		uid, gid   int
	}{
		{name: "file", path: "/owned", uid: 4001, gid: 4002},
		{name: "symlink itself", path: "/link", uid: 5001, gid: 5002},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			uid, err := LookupUser(root, tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if uid != tc.uid {
				t.Errorf("uid = %d, want %d", uid, tc.uid)
			}
			gid, err := LookupGroup(root, tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if gid != tc.gid {
				t.Errorf("gid = %d, want %d", gid, tc.gid)
			}
		})
	}
}

func TestLookupPathMissing(t *testing.T) {
	root := newRoot(t, samplePasswd, sampleGroup)
	if _, err := LookupUser(root, "/missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LookupUser(/missing) error = %v, want not exist", err)
	}
}

func TestLookupEmpty(t *testing.T) {
	root := newRoot(t, samplePasswd, sampleGroup)
	if _, err := LookupUser(root, ""); err == nil {
		t.Errorf("LookupUser(\"\") succeeded")
	}
}
func TestCheckID(t *testing.T) {
	for _, id := range []int{0, 1000, 4294967294} {
		if err := CheckID(id); err != nil {
			t.Errorf("CheckID(%d) = %v, want nil", id, err)
		}
	}
	for _, id := range []int{-1, 4294967295, 4294967296} {
		if err := CheckID(id); err == nil {
			t.Errorf("CheckID(%d) = nil, want an error", id)
		}
	}
}

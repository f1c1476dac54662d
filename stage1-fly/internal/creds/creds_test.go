package creds

import (
	"os"
	"reflect"
	"runtime"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/internal/testns"
	"github.com/rktfly/rkt/stage1-fly/internal/manifest"
)

func newRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.Mkdir(root+"/etc", 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"/etc/passwd": "root:x:0:0::/root:/bin/sh\nweb:x:33:33::/var/www:/bin/sh\n",
		"/etc/group":  "root:x:0:\nwww:x:34:\n",
	}
	for name, content := range files {
		if err := os.WriteFile(root+name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func dockerImage(user, group string) *manifest.ImageManifest {
	im := &manifest.ImageManifest{App: &manifest.App{User: user, Group: group}}
	im.Annotations = manifest.Annotations{{Name: dockerRepositoryAnnotation, Value: "library/nginx"}}
	return im
}

func TestResolveNamesAndSupplementary(t *testing.T) {
	root := newRoot(t)
	app := &manifest.App{User: "web", Group: "www", SupplementaryGIDs: []int{5, 6}}
	got, err := Resolve(root, app, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Credentials{UID: 33, GID: 34, Groups: []int{34, 5, 6}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Resolve = %+v, want %+v", got, want)
	}
}

func TestResolveDockerGroupFallback(t *testing.T) {
	root := newRoot(t)
	cases := []struct {
		name    string
		app     *manifest.App
		image   *manifest.ImageManifest
		wantGID int
		wantErr bool
	}{
		{name: "docker user equals group", app: &manifest.App{User: "web", Group: "web"}, image: dockerImage("web", "web"), wantGID: 33},
		{name: "not docker", app: &manifest.App{User: "web", Group: "web"}, image: &manifest.ImageManifest{App: &manifest.App{User: "web", Group: "web"}}, wantErr: true},
		{name: "runtime group differs from image", app: &manifest.App{User: "web", Group: "web"}, image: dockerImage("web", "other"), wantErr: true},
		{name: "no image", app: &manifest.App{User: "web", Group: "web"}, image: nil, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Resolve(root, tc.app, tc.image)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("Resolve = %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.GID != tc.wantGID {
				t.Errorf("gid = %d, want %d", got.GID, tc.wantGID)
			}
		})
	}
}

func TestResolveUnknownUser(t *testing.T) {
	root := newRoot(t)
	if _, err := Resolve(root, &manifest.App{User: "nobody", Group: "0"}, nil); err == nil {
		t.Error("Resolve of an unknown user succeeded")
	}
}

// Credentials the process already has need no privilege to apply: every
// call is skipped, so this passes as any user.
func TestApplyCurrentCredentials(t *testing.T) {
	groups, err := unix.Getgroups()
	if err != nil {
		t.Fatal(err)
	}
	uid, euid, suid := unix.Getresuid()
	gid, egid, sgid := unix.Getresgid()
	if uid != euid || uid != suid || gid != egid || gid != sgid {
		t.Skipf("real, effective and saved ids differ (uid %d %d %d, gid %d %d %d)", uid, euid, suid, gid, egid, sgid)
	}
	slices.Reverse(groups)
	c := Credentials{UID: uid, GID: gid, Groups: groups}
	if err := onOwnThread(c.ApplyForExec); err != nil {
		t.Errorf("ApplyForExec(%+v) = %v, want nil", c, err)
	}
	if !hasGroups(groups) {
		t.Errorf("hasGroups(%v) = false for the current groups in reverse order", groups)
	}
	if hasGroups(append(groups, 65534)) {
		t.Errorf("hasGroups(%v) = true with an extra group", append(groups, 65534))
	}
}

// threadCredentials are the ids of one thread, as it reads them itself.
type threadCredentials struct {
	uid, euid, suid int
	gid, egid, sgid int
	groups          []int
}

func readThreadCredentials() (threadCredentials, error) {
	var c threadCredentials
	c.uid, c.euid, c.suid = unix.Getresuid()
	c.gid, c.egid, c.sgid = unix.Getresgid()
	groups, err := unix.Getgroups()
	c.groups = groups
	return c, err
}

// onOwnThread runs apply on a goroutine locked to its own OS thread, which
// the runtime ends when the goroutine returns still locked, so that changed
// credentials never reach another goroutine.
func onOwnThread(apply func() error) error {
	result := make(chan error)
	go func() {
		runtime.LockOSThread()
		result <- apply()
	}()
	return <-result
}

func TestApplyForExecChangesOnlyItsThread(t *testing.T) {
	testns.RequireRoot(t)
	before, err := readThreadCredentials()
	if err != nil {
		t.Fatal(err)
	}

	want := Credentials{UID: 65534, GID: 65533, Groups: []int{65533, 5, 6}}
	var got threadCredentials
	err = onOwnThread(func() error {
		if err := want.ApplyForExec(); err != nil {
			return err
		}
		var readErr error
		got, readErr = readThreadCredentials()
		return readErr
	})
	if err != nil {
		t.Fatalf("ApplyForExec(%+v): %v", want, err)
	}
	if got.uid != 65534 || got.euid != 65534 || got.suid != 65534 {
		t.Errorf("uids after ApplyForExec = %d %d %d, want 65534 for all", got.uid, got.euid, got.suid)
	}
	if got.gid != 65533 || got.egid != 65533 || got.sgid != 65533 {
		t.Errorf("gids after ApplyForExec = %d %d %d, want 65533 for all", got.gid, got.egid, got.sgid)
	}
	slices.Sort(got.groups)
	if !slices.Equal(got.groups, []int{5, 6, 65533}) {
		t.Errorf("groups after ApplyForExec = %v, want [5 6 65533]", got.groups)
	}

	after, err := readThreadCredentials()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(after, before) {
		t.Errorf("credentials of the test's thread changed from %+v to %+v", before, after)
	}
}

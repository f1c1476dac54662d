package creds

import (
	"os"
	"reflect"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

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
	if err := c.Apply(); err != nil {
		t.Errorf("Apply(%+v) = %v, want nil", c, err)
	}
	if !hasGroups(groups) {
		t.Errorf("hasGroups(%v) = false for the current groups in reverse order", groups)
	}
	if hasGroups(append(groups, 65534)) {
		t.Errorf("hasGroups(%v) = true with an extra group", append(groups, 65534))
	}
}

package podstate

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rktfly/rkt/common/poddir"
	"github.com/rktfly/rkt/internal/aciwriter"
)

func TestReadPrivateUsers(t *testing.T) {
	tests := []struct {
		name    string
		content *string
		want    idShift
		wantErr bool
	}{
		{name: "missing file", content: nil, want: idShift{}},
		{name: "shift and count", content: ptr("100000:65536\n"), want: idShift{base: 100000, count: 65536}},
		{name: "no colon", content: ptr("100000"), wantErr: true},
		{name: "not a number", content: ptr("x:65536"), wantErr: true},
		{name: "negative count", content: ptr("100000:-1"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.content != nil {
				if err := os.WriteFile(poddir.PrivateUsersPreparedPath(dir), []byte(*tt.content), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			got, err := readPrivateUsers(dir)
			if (err != nil) != tt.wantErr {
				t.Fatalf("readPrivateUsers: err = %v, want error %t", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("readPrivateUsers = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestUnshiftedOwners(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to shifted IDs needs root")
	}
	rootfs := t.TempDir()
	shifted := filepath.Join(rootfs, "shifted")
	outside := filepath.Join(rootfs, ".outside")
	for _, path := range []string{shifted, outside} {
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(rootfs, 100000, 100000); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(shifted, 100005, 100007); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(outside, 3, 4); err != nil {
		t.Fatal(err)
	}

	owners, err := unshiftedOwners(rootfs, idShift{base: 100000, count: 65536})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]aciwriter.Owner{
		"/":         {UID: 0, GID: 0},
		"/shifted":  {UID: 5, GID: 7},
		"/.outside": {UID: 3, GID: 4},
	}
	if len(owners) != len(want) {
		t.Errorf("owners = %v, want %v", owners, want)
	}
	for path, owner := range want {
		if owners[path] != owner {
			t.Errorf("owner of %s = %+v, want %+v", path, owners[path], owner)
		}
	}

	none, err := unshiftedOwners(rootfs, idShift{})
	if err != nil || none != nil {
		t.Errorf("unshiftedOwners without a shift = %v, %v; want nil, nil", none, err)
	}
}

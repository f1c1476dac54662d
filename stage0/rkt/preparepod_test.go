package main

import (
	"testing"

	"github.com/appc/spec/schema/types"
)

func TestCheckOSArch(t *testing.T) {
	cases := []struct {
		name    string
		labels  types.Labels
		wantErr string
	}{
		{name: "linux amd64", labels: types.Labels{{Name: "os", Value: "linux"}, {Name: "arch", Value: "amd64"}}},
		{name: "linux aarch64", labels: types.Labels{{Name: "os", Value: "linux"}, {Name: "arch", Value: "aarch64"}}},
		{
			name:    "no labels",
			wantErr: `missing "os" and "arch" labels: an app image needs os=linux and arch set to one of amd64, i386, aarch64, aarch64_be, armv6l, armv7l, armv7b, ppc64le`,
		},
		{
			name:    "no arch",
			labels:  types.Labels{{Name: "os", Value: "linux"}},
			wantErr: `missing "arch" label: an app image needs os=linux and arch set to one of amd64, i386, aarch64, aarch64_be, armv6l, armv7l, armv7b, ppc64le`,
		},
		{
			name:    "unsupported os",
			labels:  types.Labels{{Name: "os", Value: "freebsd"}, {Name: "arch", Value: "amd64"}},
			wantErr: `unsupported os/arch labels: bad os "freebsd" (must be one of: [linux])`,
		},
		{
			name:    "unsupported arch",
			labels:  types.Labels{{Name: "os", Value: "linux"}, {Name: "arch", Value: "s390x"}},
			wantErr: `unsupported os/arch labels: bad arch "s390x" for linux (must be one of: [amd64 i386 aarch64 aarch64_be armv6l armv7l armv7b ppc64le])`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkOSArch(tc.labels)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("checkOSArch: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("checkOSArch succeeded, want %q", tc.wantErr)
			}
			if err.Error() != tc.wantErr {
				t.Errorf("error = %q, want %q", err, tc.wantErr)
			}
		})
	}
}

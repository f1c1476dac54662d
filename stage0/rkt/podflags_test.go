package main

import (
	"errors"
	"testing"
)

func TestVolumeFlagOptionValues(t *testing.T) {
	cases := []struct {
		name  string
		value string
		want  string
	}{
		{name: "readOnly yes", value: "v,kind=host,source=/tmp,readOnly=yes", want: `--volume v: invalid readOnly value "yes": use true or false`},
		{name: "recursive empty", value: "v,kind=host,source=/tmp,recursive=", want: `--volume v: invalid recursive value "": use true or false`},
		{name: "uid name", value: "e,kind=empty,uid=root", want: `--volume e: invalid uid value "root": use a decimal number`},
		{name: "gid name", value: "e,kind=empty,gid=wheel", want: `--volume e: invalid gid value "wheel": use a decimal number`},
		{name: "uid above the id range", value: "e,kind=empty,uid=4294968296", want: `--volume e: invalid uid value "4294968296": 4294968296 is not a valid id (0 to 4294967294)`},
		{name: "negative uid", value: "e,kind=empty,uid=-1", want: `--volume e: invalid uid value "-1": -1 is not a valid id (0 to 4294967294)`},
		{name: "gid beyond int64", value: "e,kind=empty,gid=18446744073709551616", want: `--volume e: invalid gid value "18446744073709551616": use an id from 0 to 4294967294`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var l volumeList
			err := l.Set(tc.value)
			if err == nil {
				t.Fatalf("Set(%q) succeeded, want error %q", tc.value, tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("Set(%q) error = %q, want %q", tc.value, err, tc.want)
			}
			var valueErr *flagValueError
			if !errors.As(err, &valueErr) {
				t.Errorf("Set(%q) error %T is not a *flagValueError", tc.value, err)
			}
			if len(l) != 0 {
				t.Errorf("volume list = %v after a failed Set, want empty", l)
			}
		})
	}
}

func TestVolumeFlagValidOptions(t *testing.T) {
	var l volumeList
	if err := l.Set("v,kind=host,source=/nonexistent-source,readOnly=true,recursive=false"); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if err := l.Set("e,kind=empty,mode=0700,uid=5,gid=6"); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if len(l) != 2 {
		t.Fatalf("volume list has %d entries, want 2", len(l))
	}
	host := l[0]
	if host.Source != "/nonexistent-source" {
		t.Errorf("source = %q, want /nonexistent-source (a missing source is accepted)", host.Source)
	}
	if host.ReadOnly == nil || !*host.ReadOnly {
		t.Errorf("readOnly = %v, want true", host.ReadOnly)
	}
	if host.Recursive == nil || *host.Recursive {
		t.Errorf("recursive = %v, want false", host.Recursive)
	}
	empty := l[1]
	if empty.UID == nil || *empty.UID != 5 {
		t.Errorf("uid = %v, want 5", empty.UID)
	}
	if empty.GID == nil || *empty.GID != 6 {
		t.Errorf("gid = %v, want 6", empty.GID)
	}
}

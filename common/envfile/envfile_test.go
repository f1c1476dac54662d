package envfile

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestWriteReadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app")
	vars := []Var{
		{Name: "PATH", Value: "/usr/bin:/bin"},
		{Name: "EQUALS", Value: "a=b=c"},
		{Name: "EMPTY", Value: ""},
		{Name: "SPACES", Value: " x y "},
	}
	if err := Write(path, vars); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	wantRaw := "PATH=/usr/bin:/bin\nEQUALS=a=b=c\nEMPTY=\nSPACES= x y \n"
	if string(raw) != wantRaw {
		t.Errorf("file = %q, want %q", raw, wantRaw)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o644&^currentUmask() {
		t.Errorf("mode = %v, want 0644 minus umask", info.Mode().Perm())
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, vars) {
		t.Errorf("Read = %q, want %q", got, vars)
	}
}

func currentUmask() os.FileMode {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0o022
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if value, ok := strings.CutPrefix(line, "Umask:\t"); ok {
			var mask os.FileMode
			for _, c := range value {
				mask = mask*8 + os.FileMode(c-'0')
			}
			return mask
		}
	}
	return 0o022
}

func TestWriteRejects(t *testing.T) {
	cases := []struct {
		name string
		v    Var
	}{
		{name: "empty name", v: Var{Name: "", Value: "x"}},
		{name: "equals in name", v: Var{Name: "A=B", Value: "x"}},
		{name: "newline in value", v: Var{Name: "A", Value: "x\ny"}},
		{name: "NUL in value", v: Var{Name: "A", Value: "x\x00"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app")
			if err := Write(path, []Var{tc.v}); err == nil {
				t.Errorf("Write(%q) succeeded", tc.v)
			}
		})
	}
}

func TestReadRejectsLineWithoutEquals(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app")
	if err := os.WriteFile(path, []byte("A=1\n\nNOEQUALS\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Read(path)
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("Read error = %v, want one naming line 3", err)
	}
}

func TestEnviron(t *testing.T) {
	got := Environ([]Var{{Name: "A", Value: "1"}, {Name: "B", Value: ""}})
	want := []string{"A=1", "B="}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Environ = %q, want %q", got, want)
	}
}

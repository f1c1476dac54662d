package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, dir, sub, name, body string) {
	t.Helper()
	d := filepath.Join(dir, sub)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadMergesDirectoriesInOrder(t *testing.T) {
	system := t.TempDir()
	local := t.TempDir()
	writeConfig(t, system, "paths.d", "p.json", `{"rktKind":"paths","rktVersion":"v1","data":"/sys-data","stage1-images":"/sys-images"}`)
	writeConfig(t, local, "paths.d", "p.json", `{"rktKind":"paths","rktVersion":"v1","data":"/local-data"}`)
	writeConfig(t, system, "stage1.d", "s.json", `{"rktKind":"stage1","rktVersion":"v1","name":"example.com/s1","version":"1","location":"/s1.aci"}`)
	writeConfig(t, local, "stage1.d", "s.json", `{"rktKind":"stage1","rktVersion":"v1","location":"/local-s1.aci"}`)
	writeConfig(t, local, "auth.d", "a.json", `{"rktKind":"auth","rktVersion":"v1"}`)

	cfg, err := Load(system, local, "", filepath.Join(local, "missing"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Paths.Data != "/local-data" {
		t.Errorf("data = %q, want /local-data", cfg.Paths.Data)
	}
	if cfg.Paths.Stage1Images != "/sys-images" {
		t.Errorf("stage1-images = %q, want /sys-images", cfg.Paths.Stage1Images)
	}
	if cfg.Stage1.Name != "example.com/s1" || cfg.Stage1.Version != "1" {
		t.Errorf("stage1 name:version = %q:%q, want example.com/s1:1", cfg.Stage1.Name, cfg.Stage1.Version)
	}
	if cfg.Stage1.Location != "/local-s1.aci" {
		t.Errorf("stage1 location = %q, want /local-s1.aci", cfg.Stage1.Location)
	}
}

func TestLoadRejectsInvalidFiles(t *testing.T) {
	cases := []struct {
		name    string
		sub     string
		files   []string
		wantErr string
	}{
		{name: "relative data path", sub: "paths.d", files: []string{`{"rktKind":"paths","rktVersion":"v1","data":"rel"}`}, wantErr: "must be absolute"},
		{name: "wrong kind", sub: "paths.d", files: []string{`{"rktKind":"stage1","rktVersion":"v1"}`}, wantErr: "rktKind"},
		{name: "wrong version", sub: "stage1.d", files: []string{`{"rktKind":"stage1","rktVersion":"v2"}`}, wantErr: "rktVersion"},
		{name: "name without version", sub: "stage1.d", files: []string{`{"rktKind":"stage1","rktVersion":"v1","name":"a"}`}, wantErr: "set together"},
		{name: "data twice in one directory", sub: "paths.d", files: []string{
			`{"rktKind":"paths","rktVersion":"v1","data":"/a"}`,
			`{"rktKind":"paths","rktVersion":"v1","data":"/b"}`,
		}, wantErr: "already set"},
		{name: "invalid json", sub: "stage1.d", files: []string{`{`}, wantErr: "parse config file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for i, body := range tc.files {
				writeConfig(t, dir, tc.sub, string(rune('a'+i))+".json", body)
			}
			_, err := Load(dir)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not contain %q", err, tc.wantErr)
			}
		})
	}
}

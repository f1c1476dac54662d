package config

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoadAuthMergesAndRedacts(t *testing.T) {
	system := t.TempDir()
	local := t.TempDir()
	writeConfig(t, system, "auth.d", "a.json", `{"rktKind":"auth","rktVersion":"v1","domains":["a.example.com","b.example.com"],"type":"basic","credentials":{"user":"sys","password":"sys-secret"}}`)
	writeConfig(t, local, "auth.d", "b.json", `{"rktKind":"auth","rktVersion":"v1","domains":["b.example.com"],"type":"oauth","credentials":{"token":"local-secret"}}`)
	writeConfig(t, local, "auth.d", "d.json", `{"rktKind":"dockerAuth","rktVersion":"v1","registries":["index.docker.io"],"credentials":{"user":"u","password":"docker-secret"}}`)

	auth, err := LoadAuth(system, local, "", filepath.Join(local, "missing"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := &Config{Paths: Paths{Data: "/data"}, Stage1: Stage1{Name: "example.com/s1", Version: "1"}}
	data, err := json.Marshal(map[string]any{"stage0": Entries(cfg, auth)})
	if err != nil {
		t.Fatal(err)
	}
	out := string(data)
	for _, secret := range []string{"sys-secret", "local-secret", "docker-secret", `"sys"`} {
		if strings.Contains(out, secret) {
			t.Errorf("output contains credential value %s: %s", secret, out)
		}
	}

	var decoded struct {
		Stage0 []map[string]any `json:"stage0"`
	}
	if err := json.Unmarshal(data, &decoded); err != nil {
		t.Fatal(err)
	}
	var kinds, domains []string
	for _, e := range decoded.Stage0 {
		kinds = append(kinds, e["rktKind"].(string))
		if d, ok := e["domains"].([]any); ok {
			domains = append(domains, d[0].(string)+"="+e["type"].(string))
		}
	}
	if want := []string{"auth", "auth", "dockerAuth", "paths", "stage1"}; !reflect.DeepEqual(kinds, want) {
		t.Errorf("kinds = %v, want %v", kinds, want)
	}
	// The local directory replaces b.example.com, field names included.
	if want := []string{"a.example.com=basic", "b.example.com=oauth"}; !reflect.DeepEqual(domains, want) {
		t.Errorf("domains = %v, want %v", domains, want)
	}
	wantCreds := map[string]any{"token": Redacted}
	if got := decoded.Stage0[1]["credentials"]; !reflect.DeepEqual(got, wantCreds) {
		t.Errorf("b.example.com credentials = %v, want %v", got, wantCreds)
	}
	if got := decoded.Stage0[3]["data"]; got != "/data" {
		t.Errorf("paths data = %v, want /data", got)
	}
}

func TestLoadAuthErrors(t *testing.T) {
	cases := []struct {
		name    string
		files   map[string]string
		wantErr string
	}{
		{name: "domain twice in one directory", wantErr: `domain "a.example.com" is already defined`, files: map[string]string{
			"a.json": `{"rktKind":"auth","rktVersion":"v1","domains":["a.example.com"],"type":"basic","credentials":{}}`,
			"b.json": `{"rktKind":"auth","rktVersion":"v1","domains":["a.example.com"],"type":"oauth","credentials":{}}`,
		}},
		{name: "no domains", wantErr: "no domains listed", files: map[string]string{
			"a.json": `{"rktKind":"auth","rktVersion":"v1","type":"basic"}`,
		}},
		{name: "wrong kind", wantErr: `rktKind "paths" is invalid in auth.d, expected "auth" or "dockerAuth"`, files: map[string]string{
			"a.json": `{"rktKind":"paths","rktVersion":"v1"}`,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tc.files {
				writeConfig(t, dir, "auth.d", name, body)
			}
			_, err := LoadAuth(dir)
			if err == nil {
				t.Fatal("LoadAuth succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not contain %q", err, tc.wantErr)
			}
		})
	}
}

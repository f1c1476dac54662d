package fetch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeAuth(t *testing.T, dir, file, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "auth.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "auth.d", file), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadAuthKindsAndOverride(t *testing.T) {
	system, local, user := t.TempDir(), t.TempDir(), t.TempDir()
	writeAuth(t, system, "a.json", `{"rktKind":"auth","rktVersion":"v1","domains":["example.com","coreos.com"],"type":"basic","credentials":{"user":"bob","password":"pw"}}`)
	writeAuth(t, local, "b.json", `{"rktKind":"auth","rktVersion":"v1","domains":["coreos.com"],"type":"oauth","credentials":{"token":"tok"}}`)
	writeAuth(t, user, "docker.json", `{"rktKind":"dockerAuth","rktVersion":"v1","registries":["quay.io"],"credentials":{"user":"u","password":"p"}}`)
	writeAuth(t, user, "notes.txt", `not json`)
	a, err := LoadAuth(system, local, "", user, filepath.Join(t.TempDir(), "missing"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ host, want string }{
		{host: "example.com", want: "Basic Ym9iOnB3"},
		{host: "example.com:8443", want: "Basic Ym9iOnB3"},
		{host: "coreos.com", want: "Bearer tok"},
		{host: "quay.io", want: ""},
	}
	for _, tc := range cases {
		t.Run(tc.host, func(t *testing.T) {
			got, _ := a.Header(tc.host)
			if got != tc.want {
				t.Errorf("Header(%q) = %q, want %q", tc.host, got, tc.want)
			}
		})
	}
}

func TestLoadAuthErrors(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{
			name: "domain twice in one directory",
			files: map[string]string{
				"a.json": `{"rktKind":"auth","rktVersion":"v1","domains":["example.com"],"type":"oauth","credentials":{"token":"hidden1"}}`,
				"b.json": `{"rktKind":"auth","rktVersion":"v1","domains":["example.com"],"type":"oauth","credentials":{"token":"hidden2"}}`,
			},
			want: `domain "example.com" is already defined`,
		},
		{
			name:  "aws",
			files: map[string]string{"a.json": `{"rktKind":"auth","rktVersion":"v1","domains":["example.com"],"type":"aws","credentials":{"accessKeyID":"hidden1","secretAccessKey":"hidden2"}}`},
			want:  `type "aws" is not supported`,
		},
		{
			name:  "basic without password",
			files: map[string]string{"a.json": `{"rktKind":"auth","rktVersion":"v1","domains":["example.com"],"type":"basic","credentials":{"user":"hidden1"}}`},
			want:  "need both user and password",
		},
		{
			name:  "wrong version",
			files: map[string]string{"a.json": `{"rktKind":"auth","rktVersion":"v2","domains":["example.com"],"type":"oauth","credentials":{"token":"hidden1"}}`},
			want:  `unsupported rktVersion "v2"`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tc.files {
				writeAuth(t, dir, name, content)
			}
			_, err := LoadAuth(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hidden") {
				t.Errorf("error %q contains a secret", err)
			}
		})
	}
}

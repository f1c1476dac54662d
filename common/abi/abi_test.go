package abi

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/rktfly/rkt/common/poddir"
)

func TestPodStateTable(t *testing.T) {
	tests := []struct {
		dir          string
		locked       string
		unlocked     string
		lockDecisive bool
	}{
		{dir: poddir.StateDirEmbryo, locked: "embryo", unlocked: "embryo"},
		{dir: poddir.StateDirPrepare, locked: "preparing", unlocked: "aborted prepare", lockDecisive: true},
		{dir: poddir.StateDirPrepared, locked: "prepared", unlocked: "prepared"},
		{dir: poddir.StateDirRun, locked: "running", unlocked: "exited", lockDecisive: true},
		{dir: poddir.StateDirExitedGarbage, locked: "exited deleting", unlocked: "exited garbage", lockDecisive: true},
		{dir: poddir.StateDirGarbage, locked: "deleting", unlocked: "garbage", lockDecisive: true},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			if got := LockDecidesState(tt.dir); got != tt.lockDecisive {
				t.Errorf("LockDecidesState = %v, want %v", got, tt.lockDecisive)
			}
			got, err := PodState(tt.dir, true)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.locked {
				t.Errorf("locked: PodState = %q, want %q", got, tt.locked)
			}
			got, err = PodState(tt.dir, false)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.unlocked {
				t.Errorf("unlocked: PodState = %q, want %q", got, tt.unlocked)
			}
		})
	}
}

func TestPodStateUnknownDir(t *testing.T) {
	if got, err := PodState("exited", false); err == nil {
		t.Errorf("PodState(\"exited\") = %q, want error", got)
	}
}

func TestParseDNSConfMode(t *testing.T) {
	tests := []struct {
		input   string
		want    DNSConfMode
		wantErr bool
	}{
		{input: "resolv=host,hosts=stage0", want: DNSConfMode{Resolv: ResolvHost, Hosts: HostsStage0}},
		{input: "hosts=host,resolv=none", want: DNSConfMode{Resolv: ResolvNone, Hosts: HostsHost}},
		{input: "resolv=stage0", want: DNSConfMode{Resolv: ResolvStage0, Hosts: HostsDefault}},
		{input: "hosts=default", want: DefaultDNSConfMode()},
		{input: "resolv=host,resolv=stage0", want: DNSConfMode{Resolv: ResolvStage0, Hosts: HostsDefault}},
		{input: "", wantErr: true},
		{input: "resolv", wantErr: true},
		{input: "hosts=none", wantErr: true},
		{input: "resolv=HOST", wantErr: true},
		{input: "dns=host", wantErr: true},
		{input: "resolv=host,", wantErr: true},
	}
	for _, tt := range tests {
		name := tt.input
		if name == "" {
			name = "empty"
		}
		t.Run(name, func(t *testing.T) {
			got, err := ParseDNSConfMode(tt.input)
			if tt.wantErr {
				if err == nil {
					t.Errorf("ParseDNSConfMode(%q) = %+v, want error", tt.input, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDNSConfMode(%q): %v", tt.input, err)
			}
			if got != tt.want {
				t.Errorf("ParseDNSConfMode(%q) = %+v, want %+v", tt.input, got, tt.want)
			}
		})
	}
}

func TestDNSConfModeFormatRoundTrip(t *testing.T) {
	mode := DNSConfMode{Resolv: ResolvStage0, Hosts: HostsHost}
	if got, want := mode.String(), "resolv=stage0,hosts=host"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	parsed, err := ParseDNSConfMode(mode.String())
	if err != nil {
		t.Fatal(err)
	}
	if parsed != mode {
		t.Errorf("round trip = %+v, want %+v", parsed, mode)
	}
	if mode.IsDefault() {
		t.Error("IsDefault of a non-default mode = true")
	}
	if !DefaultDNSConfMode().IsDefault() {
		t.Error("IsDefault of DefaultDNSConfMode = false")
	}
}

func TestRuntimeConfigJSONKeys(t *testing.T) {
	data, err := json.Marshal(RuntimeConfig{Debug: true, ResolvConfMode: "host", EtcHostsMode: "default"})
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Debug", "EtcHostsMode", "Hostname", "IPCMode", "InsecureOptions", "Interactive",
		"MDSToken", "MetadataServiceURL", "Mutable", "NetList", "PrivateUsers", "ResolvConfMode",
	}
	var got []string
	for key := range fields {
		got = append(got, key)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("keys = %q, want %q", got, want)
	}

	var insecure map[string]bool
	if err := json.Unmarshal(fields["InsecureOptions"], &insecure); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"DisablePaths", "DisableCapabilities", "DisableSeccomp"} {
		if _, ok := insecure[key]; !ok {
			t.Errorf("InsecureOptions lacks key %q", key)
		}
	}
}

// jsonTestStrings are strings that need every kind of JSON escape.
var jsonTestStrings = []string{
	"", "default", "host", "a\"b\\c/d", "\b\f\n\r\t\x00\x1f\x7f", "<script>&</script>",
	"é世😀", "\u2028\u2029", "\xff\xfe", "a\xc3", "\xed\xa0\x80",
}

func TestRuntimeConfigEncodingMatchesJSON(t *testing.T) {
	configs := []RuntimeConfig{{}, {NetList: []string{}}}
	// Every field set, so that a field that appendJSON misses shows up.
	full := RuntimeConfig{}
	value := reflect.ValueOf(&full).Elem()
	for i := range value.NumField() {
		switch field := value.Field(i); field.Kind() {
		case reflect.String:
			field.SetString(value.Type().Field(i).Name + " <&>")
		case reflect.Bool:
			field.SetBool(true)
		case reflect.Slice:
			field.Set(reflect.ValueOf([]string{"default", "net1:IP=10.1.0.2"}))
		case reflect.Struct:
			for j := range field.NumField() {
				field.Field(j).SetBool(true)
			}
		default:
			t.Fatalf("field %s has kind %s, which the test does not fill", value.Type().Field(i).Name, field.Kind())
		}
	}
	configs = append(configs, full)
	for _, s := range jsonTestStrings {
		configs = append(configs, RuntimeConfig{Hostname: s, NetList: []string{s, s}})
	}

	for _, cfg := range configs {
		want, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		got := cfg.appendJSON(nil)
		var gotConfig, wantConfig RuntimeConfig
		if err := json.Unmarshal(got, &gotConfig); err != nil {
			t.Fatalf("appendJSON(%+v) = %s, which is not JSON: %v", cfg, got, err)
		}
		if err := json.Unmarshal(want, &wantConfig); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(gotConfig, wantConfig) {
			t.Errorf("appendJSON(%+v) =\n%s\ndecodes to %+v, want %+v (json.Marshal)", cfg, got, gotConfig, wantConfig)
		}
	}
}

func FuzzJSONString(f *testing.F) {
	for _, s := range jsonTestStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		got := appendJSONString(nil, s)
		var gotString, wantString string
		if err := json.Unmarshal(got, &gotString); err != nil {
			t.Fatalf("appendJSONString(%q) = %s, which is not a JSON string: %v", s, got, err)
		}
		if err := json.Unmarshal(want, &wantString); err != nil {
			t.Fatal(err)
		}
		if gotString != wantString {
			t.Errorf("appendJSONString(%q) = %s decodes to %q, want %q (json.Marshal)", s, got, gotString, wantString)
		}
	})
}

func TestRuntimeConfigWriteRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), poddir.RuntimeConfigFile)
	cfg := RuntimeConfig{
		Debug:           true,
		ResolvConfMode:  string(ResolvStage0),
		EtcHostsMode:    string(HostsHost),
		NetList:         []string{"default"},
		InsecureOptions: InsecureOptions{DisableSeccomp: true},
	}
	if err := WriteRuntimeConfig(path, cfg); err != nil {
		t.Fatalf("WriteRuntimeConfig: %v", err)
	}
	got, err := ReadRuntimeConfig(path)
	if err != nil {
		t.Fatalf("ReadRuntimeConfig: %v", err)
	}
	if got.Debug != cfg.Debug || got.ResolvConfMode != cfg.ResolvConfMode ||
		got.EtcHostsMode != cfg.EtcHostsMode || got.InsecureOptions != cfg.InsecureOptions ||
		!slices.Equal(got.NetList, cfg.NetList) {
		t.Errorf("read %+v, want %+v", got, cfg)
	}

	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o644 {
		t.Errorf("mode = %o, want 644", perm)
	}
}

func TestParseRuntimeConfigInvalid(t *testing.T) {
	path := filepath.Join(t.TempDir(), poddir.RuntimeConfigFile)
	if err := os.WriteFile(path, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadRuntimeConfig(path); err == nil {
		t.Error("ReadRuntimeConfig of invalid JSON succeeded, want error")
	}
}

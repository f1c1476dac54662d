package stage1image

import (
	"testing"

	"github.com/appc/spec/schema"
	"github.com/appc/spec/schema/types"

	"github.com/rktfly/rkt/common/abi"
)

func manifestWith(t *testing.T, annotations map[string]string) *schema.ImageManifest {
	t.Helper()
	im := schema.BlankImageManifest()
	im.Name = types.ACIdentifier(abi.Stage1FlyName)
	for name, value := range annotations {
		im.Annotations.Set(types.ACIdentifier(name), value)
	}
	return im
}

func TestInterfaceVersionAnnotation(t *testing.T) {
	tests := []struct {
		name        string
		annotations map[string]string
		want        int
		wantErr     bool
	}{
		{name: "absent means 1", annotations: nil, want: 1},
		{name: "fly declares 5", annotations: map[string]string{abi.AnnotationInterfaceVersion: "5"}, want: 5},
		{name: "version 6", annotations: map[string]string{abi.AnnotationInterfaceVersion: "6"}, want: 6},
		{name: "not a number", annotations: map[string]string{abi.AnnotationInterfaceVersion: "five"}, wantErr: true},
		{name: "empty value", annotations: map[string]string{abi.AnnotationInterfaceVersion: ""}, wantErr: true},
		{name: "decimal fraction", annotations: map[string]string{abi.AnnotationInterfaceVersion: "4.5"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := InterfaceVersion(manifestWith(t, tt.annotations))
			if tt.wantErr {
				if err == nil {
					t.Errorf("InterfaceVersion = %d, want error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("InterfaceVersion: %v", err)
			}
			if got != tt.want {
				t.Errorf("InterfaceVersion = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestInterfaceVersionNilManifest(t *testing.T) {
	if _, err := InterfaceVersion(nil); err == nil {
		t.Error("InterfaceVersion(nil) succeeded, want error")
	}
}

func TestEntrypointAndMutableSupport(t *testing.T) {
	fly := manifestWith(t, map[string]string{
		abi.AnnotationRun:   "/run",
		abi.AnnotationEnter: "/enter",
		abi.AnnotationGC:    "/gc",
		abi.AnnotationStop:  "/stop",
	})
	if got, ok := Entrypoint(fly, abi.AnnotationRun); !ok || got != "/run" {
		t.Errorf("Entrypoint(run) = (%q, %v), want (\"/run\", true)", got, ok)
	}
	if got, ok := Entrypoint(fly, abi.AnnotationAttach); ok {
		t.Errorf("Entrypoint(attach) = (%q, true), want absent", got)
	}
	if SupportsMutable(fly) {
		t.Error("SupportsMutable(fly) = true, want false")
	}

	twoOfThree := manifestWith(t, map[string]string{abi.AnnotationAppRm: "/rm", abi.AnnotationAppStart: "/start"})
	if SupportsMutable(twoOfThree) {
		t.Error("SupportsMutable without app/stop = true, want false")
	}

	all := manifestWith(t, map[string]string{
		abi.AnnotationAppRm: "/rm", abi.AnnotationAppStart: "/start", abi.AnnotationAppStop: "/stop",
	})
	if !SupportsMutable(all) {
		t.Error("SupportsMutable with app/rm, app/start and app/stop = false, want true")
	}
}

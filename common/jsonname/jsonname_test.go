package jsonname

import (
	"errors"
	"strings"
	"testing"
)

func TestFoldMatchesEqualFold(t *testing.T) {
	names := []string{"apps", "Apps", "APPS", "aPpS", "app", "appsx", "kelvin", "\u212aelvin", "Kelvin", "s", "\u017f", "S", "é", "É", ""}
	for _, a := range names {
		for _, b := range names {
			if got, want := Fold(a) == Fold(b), strings.EqualFold(a, b); got != want {
				t.Errorf("Fold(%q) == Fold(%q) is %v, strings.EqualFold is %v", a, b, got, want)
			}
		}
	}
}

func TestCheck(t *testing.T) {
	cases := []struct {
		name     string
		data     string
		repeated bool
		invalid  bool
	}{
		{name: "distinct names", data: `{"apps":[{"name":"a"},{"name":"b"}],"volumes":[]}`},
		{name: "same name in sibling objects", data: `{"apps":[{"name":"a","app":{}},{"name":"b","app":{}}]}`},
		{name: "name equal to a value", data: `{"a":"b","b":"a"}`},
		{name: "repeated name", data: `{"apps":[],"apps":[]}`, repeated: true},
		{name: "names differing in case", data: `{"apps":[],"Apps":[]}`, repeated: true},
		{name: "Kelvin sign", data: `{"kind":"host","\u212aind":"empty"}`, repeated: true},
		{name: "repeated in a nested object", data: `{"apps":[{"app":{"user":"0","USER":"1"}}]}`, repeated: true},
		{name: "repeated unknown name", data: `{"x":1,"x":2}`, repeated: true},
		{name: "not JSON", data: `{"apps":`, invalid: true},
		{name: "two values", data: `{} {}`, invalid: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Check([]byte(tc.data))
			if got := errors.Is(err, ErrRepeated); got != tc.repeated {
				t.Errorf("Check(%s) = %v: wraps ErrRepeated %v, want %v", tc.data, err, got, tc.repeated)
			}
			if tc.invalid && err == nil {
				t.Errorf("Check(%s) = nil, want a syntax error", tc.data)
			}
			if !tc.repeated && !tc.invalid && err != nil {
				t.Errorf("Check(%s) = %v, want nil", tc.data, err)
			}
		})
	}
}

func TestRepeatedError(t *testing.T) {
	err := Check([]byte(`{"apps":[{"app":{"environment":[],"Environment":[]}}]}`))
	var repeated *RepeatedError
	if !errors.As(err, &repeated) {
		t.Fatalf("Check = %v, want a *RepeatedError", err)
	}
	if repeated.Name != "Environment" || repeated.Where != "/apps/0/app/Environment" {
		t.Errorf("RepeatedError = %+v, want name Environment at /apps/0/app/Environment", repeated)
	}
	if errors.Unwrap(err) != nil {
		t.Errorf("the error wraps %v, so a message cut down to the innermost error would not name the member", errors.Unwrap(err))
	}

	deep := strings.Repeat(`{"a":`, 1000) + `{"b":1,"B":2}` + strings.Repeat(`}`, 1000)
	err = Check([]byte(deep))
	if !errors.As(err, &repeated) {
		t.Fatalf("Check of a deep object = %v, want a *RepeatedError", err)
	}
	if len(repeated.Where) > maxPointer+len("…") || !strings.HasSuffix(repeated.Where, "/a/B") {
		t.Errorf("pointer of a deep member = %q (%d bytes), want at most %d bytes ending in /a/B", repeated.Where, len(repeated.Where), maxPointer)
	}
}

package main

import (
	"os"
	"testing"
)

func TestTakeHandedOverFrom(t *testing.T) {
	cases := []struct {
		name  string
		value string
		want  string
	}{
		{name: "absolute path", value: "/usr/bin/rkt", want: "/usr/bin/rkt"},
		{name: "relative path", value: "bin/rkt", want: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(handedOverFromEnv, tc.value)
			t.Cleanup(func() { handedOverFrom = "" })
			takeHandedOverFrom()
			want := tc.want
			if !readsHandedOverFrom {
				// rkt ignores the variable: only rkt-full reads it.
				want = ""
			}
			if handedOverFrom != want {
				t.Errorf("handedOverFrom = %q, want %q", handedOverFrom, want)
			}
			if _, ok := os.LookupEnv(handedOverFromEnv); ok {
				t.Errorf("%s is still in the environment, so the stage1 and the app would inherit it", handedOverFromEnv)
			}
			got, err := rktBinary()
			if err != nil {
				t.Fatal(err)
			}
			if want != "" && got != want {
				t.Errorf("rktBinary() = %q, want %q", got, want)
			}
		})
	}
}

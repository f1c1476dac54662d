package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"testing"
)

func TestSummary(t *testing.T) {
	pathErr := &os.PathError{Op: "open", Path: "/x", Err: syscall.ENOENT}
	cases := []struct {
		name string
		err  error
		want string
	}{
		{name: "single", err: errors.New("fly only supports 1 application per Pod for now"), want: "fly only supports 1 application per Pod for now"},
		{name: "keeps path error", err: fmt.Errorf("set up app %q: %w", "a", fmt.Errorf("open mount target: %w", pathErr)), want: `set up app "a": open /x: no such file or directory`},
		{name: "one level", err: fmt.Errorf("load: %w", fs.ErrNotExist), want: "load: file does not exist"},
		{name: "errno kept in parent", err: fmt.Errorf("a: %w", fmt.Errorf("b: %w", syscall.EPERM)), want: "a: b: operation not permitted"},
		{name: "outer without suffix", err: fmt.Errorf("%w (while x)", fs.ErrNotExist), want: "file does not exist (while x)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Summary(tc.err); got != tc.want {
				t.Errorf("Summary = %q, want %q", got, tc.want)
			}
		})
	}
}

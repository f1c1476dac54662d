package store

import (
	"os"
	"syscall"
	"testing"
)

func statOf(t *testing.T, info os.FileInfo) *syscall.Stat_t {
	t.Helper()
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		t.Fatalf("no stat for %s", info.Name())
	}
	return st
}

package main

import (
	"strings"
	"testing"
)

func TestNamesOtherSubcommand(t *testing.T) {
	cases := []struct {
		args []string
		want bool
	}{
		{args: []string{"version"}, want: true},
		{args: []string{"--dir=/var/tmp/x", "--insecure-options=image", "run", "example.com/app"}, want: true},
		{args: []string{"--debug", "image", "list"}, want: true},
		{args: nil, want: false},
		{args: []string{"help"}, want: false},
		{args: []string{"completion", "bash"}, want: false},
		{args: []string{"--help"}, want: false},
		{args: []string{"comp"}, want: false},
		{args: []string{"verison"}, want: false},
		{args: []string{"--dir", "/var/tmp/x", "run"}, want: false},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			if got := namesOtherSubcommand(tc.args); got != tc.want {
				t.Errorf("namesOtherSubcommand(%q) = %v, want %v", tc.args, got, tc.want)
			}
		})
	}
}

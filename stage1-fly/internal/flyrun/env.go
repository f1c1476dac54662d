package flyrun

import (
	"github.com/rktfly/rkt/common/envfile"
	"github.com/rktfly/rkt/stage1-fly/internal/manifest"
)

// defaultEnv are the variables fly adds when the app's environment lacks
// the name, even for an app that does not run as root.
var defaultEnv = []envfile.Var{
	{Name: "PATH", Value: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
	{Name: "SHELL", Value: "/bin/sh"},
	{Name: "USER", Value: "root"},
	{Name: "LOGNAME", Value: "root"},
	{Name: "HOME", Value: "/root"},
}

// appEnv returns the app's environment: the defaults it lacks, then its
// own variables in manifest order. rkt's own environment is not inherited.
func appEnv(env manifest.Environment) []envfile.Var {
	var vars []envfile.Var
	for _, v := range defaultEnv {
		if _, ok := env.Get(v.Name); !ok {
			vars = append(vars, v)
		}
	}
	for _, v := range env {
		vars = append(vars, envfile.Var{Name: v.Name, Value: v.Value})
	}
	return vars
}

package flyrun

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/fsroot"
)

// findExecutable returns the in-root path to exec for bin (exec[0]) as
// rkt's fly does. An absolute bin is used as it is; one with
// a "/" is taken relative to workDir; a bare name is searched in pathEnv
// (the app's PATH, when it sets one) or in workDir, /bin and /usr/bin.
// Each candidate is resolved inside root, and the first that is not a
// directory and has an execute bit wins. The result is the unresolved
// candidate, so that the app sees the argv[0] it would see under a shell.
func findExecutable(root, bin, workDir, pathEnv string, hasPath bool) (string, error) {
	if path.IsAbs(bin) {
		return bin, nil
	}
	if strings.Contains(bin, "/") {
		// With no working directory the result is relative, and resolves
		// against "/" after the chdir, as in rkt.
		return path.Join(workDir, bin), nil
	}

	dirs := []string{workDir, "/bin", "/usr/bin"}
	if hasPath {
		dirs = strings.Split(pathEnv, ":")
	}
	for _, dir := range dirs {
		if !path.IsAbs(dir) {
			dir = path.Join("/", workDir, dir)
		}
		candidate := path.Join(dir, bin)
		ok, err := isExecutableInRoot(root, candidate)
		if err != nil {
			return "", err
		}
		if ok {
			return candidate, nil
		}
	}
	return "", fmt.Errorf("can't find the absolute executable for %q in %q", bin, dirs)
}

func isExecutableInRoot(root, p string) (bool, error) {
	f, err := fsroot.OpenInRoot(root, p, unix.O_PATH, 0)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return false, err
	}
	return !info.IsDir() && info.Mode().Perm()&0o111 != 0, nil
}

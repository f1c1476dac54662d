// Package flyenter is fly's enter entrypoint: it runs a
// command in the root of a running app, with the app's credentials and the
// environment that run wrote. fly has no namespaces, so none are joined.
package flyenter

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strconv"
	"time"

	"github.com/appc/spec/schema/types"
	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/envfile"
	"github.com/rktfly/rkt/common/poddir"
	"github.com/rktfly/rkt/stage1-fly/internal/creds"
	"github.com/rktfly/rkt/stage1-fly/internal/manifest"
)

// Flags are the words of the enter argv:
// --pid=PID --appname=APP [--debug] -- CMD [ARGS...].
type Flags struct {
	PID     int
	AppName string
	Debug   bool
	// Command is the command and its arguments, after "--".
	Command []string
}

// ParseFlags parses args (without argv[0]).
func ParseFlags(args []string) (Flags, error) {
	var f Flags
	set := flag.NewFlagSet("enter", flag.ContinueOnError)
	set.SetOutput(io.Discard)
	set.IntVar(&f.PID, "pid", 0, "pid of the app process")
	set.StringVar(&f.AppName, "appname", "", "name of the app")
	set.BoolVar(&f.Debug, "debug", false, "print debug messages to stderr")
	if err := set.Parse(args); err != nil {
		return Flags{}, fmt.Errorf("parse flags: %w", err)
	}
	f.Command = set.Args()
	if f.PID <= 0 {
		return Flags{}, fmt.Errorf("--pid=%d is not a process id", f.PID)
	}
	if _, err := types.NewACName(f.AppName); err != nil {
		return Flags{}, fmt.Errorf("--appname=%q: %w", f.AppName, err)
	}
	if len(f.Command) == 0 {
		return Flags{}, errors.New("no command given after --")
	}
	return f, nil
}

// Enter runs f.Command in the root of process f.PID, in the pod whose
// directory is the working directory. It returns only on failure.
func Enter(f Flags, logger *log.Logger) error {
	// The magic link names the app's root even where no host path does.
	root := "/proc/" + strconv.Itoa(f.PID) + "/root"
	if target, err := os.Readlink(root); err == nil {
		logger.Printf("root of pid %d is %q", f.PID, target)
	} else {
		return fmt.Errorf("read root of pid %d: %w", f.PID, err)
	}

	if err := waitForAppRoot(f.PID, root, appRootTimeout); err != nil {
		return err
	}

	app, image, err := loadApp()
	if err != nil {
		return err
	}
	// rkt's enter looked names up below a path that does not exist; the
	// app's own root is where run looked them up.
	credentials, err := creds.Resolve(root, app.App, image)
	if err != nil {
		return fmt.Errorf("failed to lookup process credentials: %w", err)
	}
	vars, err := envfile.Read(poddir.EnvFilePath(".", f.AppName))
	if err != nil {
		return err
	}

	if err := unix.Chdir(root); err != nil {
		return fmt.Errorf("chdir %s: %w", root, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot %s: %w", root, err)
	}
	// The credentials are set on this thread only, which stays locked to
	// the goroutine for the exec below: the exec ends every other thread.
	if err := credentials.ApplyForExec(); err != nil {
		return fmt.Errorf("set credentials: %w", err)
	}
	logger.Printf("exec %q", f.Command)
	// No PATH search, as in rkt: the command must be a path.
	if err := unix.Exec(f.Command[0], f.Command, envfile.Environ(vars)); err != nil {
		return fmt.Errorf("exec failed: %q: %w", f.Command[0], err)
	}
	return nil
}

// loadApp reads the pod manifest in the working directory and returns its
// one app, with the App section taken from the image manifest when the pod
// manifest has none.
func loadApp() (manifest.RuntimeApp, *manifest.ImageManifest, error) {
	data, err := os.ReadFile(poddir.PodManifestPath("."))
	if err != nil {
		return manifest.RuntimeApp{}, nil, fmt.Errorf("load pod manifest: %w", err)
	}
	podManifest, err := manifest.DecodePod(data)
	if err != nil {
		return manifest.RuntimeApp{}, nil, fmt.Errorf("parse pod manifest: %w", err)
	}
	if len(podManifest.Apps) != 1 {
		return manifest.RuntimeApp{}, nil, errors.New("fly only supports 1 application per Pod for now")
	}
	app := podManifest.Apps[0]

	var image *manifest.ImageManifest
	imageData, err := os.ReadFile(poddir.AppImageManifestPath(".", app.Name))
	if err == nil {
		image, err = manifest.DecodeImage(imageData)
		if err != nil {
			return manifest.RuntimeApp{}, nil, fmt.Errorf("parse image manifest of app %q: %w", app.Name, err)
		}
	}
	if app.App == nil && image != nil {
		app.App = image.App
	}
	if app.App == nil {
		return manifest.RuntimeApp{}, nil, fmt.Errorf("app %q has no app section", app.Name)
	}
	return app, image, nil
}

// appRootTimeout bounds how long enter waits for the app to leave the host
// root. run chroots a few file operations after it writes the pid file, so
// the wait is normally milliseconds.
const appRootTimeout = 5 * time.Second

// waitForAppRoot waits until the root of process pid differs from enter's
// own root. run writes the pid file before it changes root, so an enter
// that reads the pid file at once could otherwise chroot into the host's
// root and run the command there.
func waitForAppRoot(pid int, root string, timeout time.Duration) error {
	var own unix.Stat_t
	if err := unix.Stat("/", &own); err != nil {
		return fmt.Errorf("stat own root: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		var st unix.Stat_t
		if err := unix.Stat(root, &st); err != nil {
			return fmt.Errorf("stat root of pid %d: %w", pid, err)
		}
		if st.Dev != own.Dev || st.Ino != own.Ino {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pid %d still has the host's root after %v: it is not a running app", pid, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

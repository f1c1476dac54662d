package pod

import "os"

// getuid and getgid are variables so that tests can fix the ids that an
// image without an app section runs as.
var (
	getuid = defaultGetuid
	getgid = defaultGetgid
)

func defaultGetuid() int { return os.Getuid() }
func defaultGetgid() int { return os.Getgid() }

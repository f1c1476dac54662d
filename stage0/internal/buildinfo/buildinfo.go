package buildinfo

// defaultVersion is the version in configure.ac's AC_INIT, without the short
// git hash that configure appends to a version ending in "+git".
const defaultVersion = "1.31.0+git"

// Version is the rkt version string, for example "1.31.0+git1a2b3c4" or
// "1.31.0+git1a2b3c4-dirty" for a build from a modified tree.
var Version = defaultVersion

// Stage1DefaultName is the image name of the stage1 used when no --stage1-*
// flag and no stage1 configuration name it (configure's
// --with-stage1-default-name, or coreos.com/rkt/stage1-FLAVOR).
var Stage1DefaultName = "coreos.com/rkt/stage1-fly"

// Stage1DefaultVersion is the version label of the default stage1
// (configure's --with-stage1-default-version, else the rkt version). A value
// ending in "-dirty" makes stage0 skip the store lookup by name and
// version and fetch the image from its location instead.
var Stage1DefaultVersion = defaultVersion

// Stage1DefaultLocation is a URL (file://, http://, https://, docker://) or
// an absolute path of the default stage1 image. Empty means that stage0
// looks for Stage1DefaultFilename next to the rkt binary.
var Stage1DefaultLocation = ""

// Stage1DefaultFilename is the file name of the default stage1 image, looked
// up in the directory of the rkt binary when the location is empty or cannot
// be fetched. Empty means there is no such fallback.
var Stage1DefaultFilename = "stage1-fly.aci"

// Stage1DefaultImagesDir is the absolute directory searched by
// --stage1-from-dir when the configuration sets no paths.stage1-images. Images
// inside it are trusted without a signature check.
var Stage1DefaultImagesDir = "/usr/local/lib/rkt/stage1-images"

// Features lists the optional features compiled into rkt, each with a "+"
// (present) or "-" (absent) prefix, as `rkt version` prints them.
var Features = "-TPM -SDJOURNAL"

// AppcVersion is the version of the appc spec that rkt implements. It is
// printed by `rkt version` and equals the github.com/appc/spec module version.
var AppcVersion = "0.8.11"

// Package fetch resolves image arguments of rkt commands to image store keys.
//
// An argument is a store hash, a file path or file:// URL, an http(s) URL of an
// ACI, or an appc image name that is resolved through appc discovery. The
// fetcher applies the pull policy (never, new, update), keeps HTTP cache
// records (URL, ETag, Cache-Control max-age) in the store, sends per-host
// Authorization headers from auth.d only over https, fetches the image's
// dependencies and checks signatures through a Verifier hook.
//
// Nothing here prints except the download progress written to
// Fetcher.Progress; the caller owns stdout and the exit code.
package fetch

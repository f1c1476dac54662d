// Package fetch resolves image arguments of rkt commands to image store keys,
// downloads included.
//
// Its Fetcher wraps the localfetch.Fetcher, which serves store hashes, local
// files, stored images and HTTP cache records, and adds what needs the
// network: appc discovery of image names and their keys, and downloads of
// http(s) URLs with resuming, conditional requests, per-host Authorization
// headers from auth.d (only over https) and signature checks through a
// Verifier hook.
//
// Nothing here prints except the download progress written to
// Fetcher.Stderr and the notices of Fetcher.Warn; the caller owns stdout and
// the exit code.
package fetch

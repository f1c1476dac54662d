// Package localfetch resolves image arguments of rkt commands to image store
// keys with the store and local ACI files only.
//
// An argument is a store hash, a file path or file:// URL, an http(s) URL of an
// ACI, or an appc image name. The Fetcher applies the pull policy (never, new,
// update) to the store and to the HTTP cache records in it, imports local
// files, walks image dependencies in the store and reuses recorded signature
// checks of file images. Downloads and discovery go to a Remote and
// signature checks to a Verifier, which package fetch provides. Without
// them, Fetch returns a *NeedsError before it writes anything, so that the rkt
// binary without network and OpenPGP code can hand the command to rkt-full.
//
// Nothing here prints except warnings and notices to Fetcher.Warn; the
// caller owns stdout and the exit code.
package localfetch

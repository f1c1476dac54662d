// Package aci extracts an App Container Image in one streaming pass: it
// detects the compression by magic bytes, hashes the uncompressed tar with
// SHA-512 and writes the entries into a directory, resolving every entry
// inside that directory without following symlinks.
package aci

// Package imageref parses the image arguments of rkt commands. It classifies
// an argument as an image ID, a file, a URL or an image name, parses image
// names with their labels, and parses --pull-policy values.
//
// It links no network or OpenPGP code, so that the rkt binary that serves
// warm runs can use it without those packages.
package imageref

// Package user resolves the user and group of an app to numeric ids from
// inside the app's root, never from the host: /etc/passwd, /etc/group and
// owner lookups are all resolved inside the root with package fsroot, so a
// symlink in the image cannot make the lookup read a host file.
//
// The rules are those of rkt's stage1, in this order:
//
//  1. "root" is 0, and a decimal integer is that id. A number wins over a
//     passwd or group entry that has the number as its name.
//  2. A value that starts with "/" is the owner (or owning group) of that
//     path inside the root, from lstat: a symlink at the path itself is not
//     followed.
//  3. Otherwise the value is a name looked up in the root's /etc/passwd
//     (lines of 7 or more colon-separated fields) or /etc/group (4 or more).
//     Empty lines are skipped; any other line that does not parse, a
//     comment included, fails the whole lookup.
package user

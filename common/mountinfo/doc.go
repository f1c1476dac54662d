// Package mountinfo parses /proc/<pid>/mountinfo (proc(5)) and answers the
// questions that stage0 and stage1 ask about it: is a path a mount point,
// which mounts lie below a directory, and in which order to unmount them.
//
// Paths in the returned mounts are unescaped: the kernel writes a space, tab,
// newline or backslash in a path as the octal escapes \040, \011, \012 and \134.
package mountinfo

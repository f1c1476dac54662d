package aciwriter

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/appc/spec/schema"
	"golang.org/x/sys/unix"
)

// Compression selects how Write compresses the tar stream.
type Compression int

const (
	// Gzip compresses with gzip at the default level. It is the zero value.
	Gzip Compression = iota
	// None writes a plain tar archive.
	None
)

// String returns the name that ParseCompression accepts.
func (c Compression) String() string {
	switch c {
	case Gzip:
		return "gzip"
	case None:
		return "none"
	default:
		return fmt.Sprintf("Compression(%d)", int(c))
	}
}

// ParseCompression returns the Compression named "gzip" or "none".
func ParseCompression(name string) (Compression, error) {
	switch name {
	case "gzip":
		return Gzip, nil
	case "none":
		return None, nil
	default:
		return 0, fmt.Errorf("unknown compression %q, expected \"gzip\" or \"none\"", name)
	}
}

// Owner is a numeric user and group ID.
type Owner struct {
	UID int
	GID int
}

// Options control how Write stores the rootfs. The zero value gives a
// gzip-compressed archive with every entry owned by root:root and dated at the
// Unix epoch.
type Options struct {
	// Compression selects the compression of the archive. Zero means Gzip.
	Compression Compression

	// KeepOwners stores the owner of each file as found on disk. When false,
	// every entry is owned by 0:0, as `actool build --owner-root` does.
	KeepOwners bool

	// Owners sets the owner of single paths, overriding KeepOwners. A key is
	// a path inside the rootfs, with or without a leading "/" ("etc/shadow" or
	// "/etc/shadow"), and "/" names the rootfs directory itself. Write
	// rejects a key that names no entry, so a typo cannot go unnoticed.
	Owners map[string]Owner

	// KeepModTimes stores the modification time of each file as found on
	// disk, in whole seconds. When false, every entry gets ModTime.
	KeepModTimes bool

	// ModTime is the modification time of every entry when KeepModTimes is
	// false. The zero value means the Unix epoch.
	ModTime time.Time

	// HardLinks stores regular files that share an inode once, and their
	// later paths as hard-link entries. When false, each path gets its own
	// copy of the data.
	HardLinks bool

	// Logger receives a line for each entry skipped. Nil discards them.
	Logger *log.Logger
}

// Top-level names of an ACI (appc spec, "Image Layout").
const (
	manifestName = "manifest"
	rootfsName   = "rootfs"
)

// inode identifies a file for hard-link detection.
type inode struct {
	dev uint64
	ino uint64
}

// writer holds the state of one Write call.
type writer struct {
	tw      *tar.Writer
	rootfs  string
	opts    Options
	modTime time.Time
	logger  *log.Logger
	// usedOwners records the keys of opts.Owners that matched an entry.
	usedOwners map[string]bool
	// owners is opts.Owners keyed by cleaned relative path ("" for the rootfs).
	owners map[string]Owner
	// links maps an inode seen before to its archive name.
	links map[inode]string
}

// Write writes an ACI made of manifest and the contents of the directory
// rootfs to w. The manifest must be a valid appc image manifest, and it is
// stored byte for byte. Write does not close w.
func Write(w io.Writer, manifest []byte, rootfs string, opts Options) error {
	var im schema.ImageManifest
	if err := im.UnmarshalJSON(manifest); err != nil {
		return fmt.Errorf("check image manifest: %w", err)
	}
	owners, err := cleanOwners(opts.Owners)
	if err != nil {
		return err
	}

	logger := opts.Logger
	if logger == nil {
		logger = log.New(io.Discard, "", 0)
	}
	modTime := time.Unix(0, 0)
	if !opts.ModTime.IsZero() {
		modTime = opts.ModTime.Truncate(time.Second)
	}

	out, closeCompressor, err := compress(w, opts.Compression)
	if err != nil {
		return err
	}
	aw := &writer{
		tw:         tar.NewWriter(out),
		rootfs:     rootfs,
		opts:       opts,
		modTime:    modTime,
		logger:     logger,
		usedOwners: map[string]bool{},
		owners:     owners,
		links:      map[inode]string{},
	}
	if err := aw.writeManifest(manifest); err != nil {
		return err
	}
	if err := aw.writeRootfs(); err != nil {
		return err
	}
	for rel := range owners {
		if !aw.usedOwners[rel] {
			return fmt.Errorf("owner override for %q: no such path in rootfs %q", "/"+rel, rootfs)
		}
	}
	if err := aw.tw.Close(); err != nil {
		return fmt.Errorf("finish tar stream: %w", err)
	}
	if err := closeCompressor(); err != nil {
		return fmt.Errorf("finish %s stream: %w", opts.Compression, err)
	}
	return nil
}

// cleanOwners returns owners keyed by paths relative to the rootfs, without
// a leading slash, so that "/etc/shadow" and "etc/shadow" match one entry.
func cleanOwners(owners map[string]Owner) (map[string]Owner, error) {
	cleaned := make(map[string]Owner, len(owners))
	for key, owner := range owners {
		if owner.UID < 0 || owner.GID < 0 {
			return nil, fmt.Errorf("owner override for %q: negative id %d:%d", key, owner.UID, owner.GID)
		}
		rel := strings.TrimPrefix(path.Clean("/"+key), "/")
		if _, dup := cleaned[rel]; dup {
			return nil, fmt.Errorf("owner override for %q: path given twice", key)
		}
		cleaned[rel] = owner
	}
	return cleaned, nil
}

// compress wraps w in the requested compressor. The returned function
// flushes the compressor without closing w.
func compress(w io.Writer, c Compression) (io.Writer, func() error, error) {
	switch c {
	case Gzip:
		// A fresh gzip.Writer has an empty Header: no name, no comment and a
		// zero MTIME, which keeps the compressed bytes reproducible too.
		gz := gzip.NewWriter(w)
		return gz, gz.Close, nil
	case None:
		return w, func() error { return nil }, nil
	default:
		return nil, nil, fmt.Errorf("unknown compression %d", int(c))
	}
}

// writeManifest writes the "manifest" entry.
func (aw *writer) writeManifest(manifest []byte) error {
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     manifestName,
		Mode:     0o644,
		Size:     int64(len(manifest)),
		ModTime:  aw.modTime,
	}
	if err := aw.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write %s header: %w", manifestName, err)
	}
	if _, err := aw.tw.Write(manifest); err != nil {
		return fmt.Errorf("write %s: %w", manifestName, err)
	}
	return nil
}

// writeRootfs walks the rootfs directory in lexical order and writes an
// entry for each file, starting with "rootfs/" itself.
func (aw *writer) writeRootfs() error {
	info, err := os.Lstat(aw.rootfs)
	if err != nil {
		return fmt.Errorf("read rootfs: %w", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("rootfs %q is not a directory", aw.rootfs)
	}
	return filepath.WalkDir(aw.rootfs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("walk rootfs: %w", err)
		}
		rel, err := filepath.Rel(aw.rootfs, p)
		if err != nil {
			return fmt.Errorf("walk rootfs: %w", err)
		}
		if rel == "." {
			rel = ""
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		return aw.writeEntry(p, filepath.ToSlash(rel), info)
	})
}

// writeEntry writes the entry for the file at host path p, whose path inside
// the rootfs is rel ("" for the rootfs directory).
func (aw *writer) writeEntry(p, rel string, info fs.FileInfo) error {
	name := rootfsName
	if rel != "" {
		name = rootfsName + "/" + rel
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("read %s: no stat data", p)
	}

	hdr := &tar.Header{
		Name:    name,
		Mode:    tarMode(info.Mode()),
		ModTime: aw.modTime,
	}
	if aw.opts.KeepModTimes {
		hdr.ModTime = info.ModTime().Truncate(time.Second)
	}
	if aw.opts.KeepOwners {
		hdr.Uid = int(st.Uid)
		hdr.Gid = int(st.Gid)
	}
	if owner, ok := aw.owners[rel]; ok {
		hdr.Uid = owner.UID
		hdr.Gid = owner.GID
		aw.usedOwners[rel] = true
	}

	mode := info.Mode()
	switch {
	case mode.IsRegular():
		return aw.writeRegular(p, hdr, info, st)
	case mode.IsDir():
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/"
	case mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return fmt.Errorf("read symlink %s: %w", p, err)
		}
		hdr.Typeflag = tar.TypeSymlink
		hdr.Linkname = target
	case mode&fs.ModeNamedPipe != 0:
		hdr.Typeflag = tar.TypeFifo
	case mode&fs.ModeDevice != 0:
		hdr.Typeflag = tar.TypeBlock
		if mode&fs.ModeCharDevice != 0 {
			hdr.Typeflag = tar.TypeChar
		}
		hdr.Devmajor = int64(unix.Major(uint64(st.Rdev)))
		hdr.Devminor = int64(unix.Minor(uint64(st.Rdev)))
	case mode&fs.ModeSocket != 0:
		aw.logger.Printf("skip socket %s: a tar archive cannot hold sockets", p)
		return nil
	default:
		return fmt.Errorf("write %s: unsupported file type %s", p, mode.Type())
	}
	if err := aw.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write header of %s: %w", name, err)
	}
	return nil
}

// writeRegular writes a regular file, or a hard-link entry when
// Options.HardLinks is set and the inode was written before.
func (aw *writer) writeRegular(p string, hdr *tar.Header, info fs.FileInfo, st *syscall.Stat_t) error {
	if aw.opts.HardLinks && st.Nlink > 1 {
		id := inode{dev: uint64(st.Dev), ino: st.Ino}
		if first, seen := aw.links[id]; seen {
			hdr.Typeflag = tar.TypeLink
			hdr.Linkname = first
			if err := aw.tw.WriteHeader(hdr); err != nil {
				return fmt.Errorf("write header of %s: %w", hdr.Name, err)
			}
			return nil
		}
		aw.links[id] = hdr.Name
	}

	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("write %s: %w", hdr.Name, err)
	}
	defer f.Close()

	hdr.Typeflag = tar.TypeReg
	hdr.Size = info.Size()
	if err := aw.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write header of %s: %w", hdr.Name, err)
	}
	n, err := io.Copy(aw.tw, f)
	if err != nil {
		return fmt.Errorf("write %s from %s: %w", hdr.Name, p, err)
	}
	if n != hdr.Size {
		return fmt.Errorf("write %s from %s: file shrank from %d to %d bytes while being archived", hdr.Name, p, hdr.Size, n)
	}
	return nil
}

// tarMode returns the permission bits of m with setuid, setgid and sticky in
// their tar (and chmod) positions.
func tarMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= unix.S_ISUID
	}
	if m&fs.ModeSetgid != 0 {
		mode |= unix.S_ISGID
	}
	if m&fs.ModeSticky != 0 {
		mode |= unix.S_ISVTX
	}
	return mode
}

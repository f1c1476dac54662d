package trustedkeys

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// State returns a digest of the key files that apply to the image name.
// It covers every directory of KeyDirs with each file's device, inode, size,
// mtime and ctime. Adding, removing, masking or replacing such a key file
// changes the digest. It reads no key file, only directories and stats.
func (c Config) State(name string) (string, error) {
	if err := ValidateIdentifier(name); err != nil {
		return "", fmt.Errorf("read trusted keys for image name %q: %w", name, err)
	}
	h := sha256.New()
	for _, dir := range c.KeyDirs(name) {
		if err := hashKeyDir(h, dir); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashKeyDir writes the directory's path and the identity of each entry to
// h. A missing directory is written as such.
func hashKeyDir(h io.Writer, dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(h, "%s missing\n", dir)
		return nil
	}
	if err != nil {
		return fmt.Errorf("read trusted key directory: %w", err)
	}
	fmt.Fprintf(h, "%s\n", dir)
	for _, entry := range entries {
		// Subdirectories hold the keys of longer prefixes, which are not
		// loaded for this directory either.
		if entry.IsDir() {
			continue
		}
		path := filepath.Join(dir, entry.Name())
		var st unix.Stat_t
		if err := unix.Stat(path, &st); err != nil {
			if errors.Is(err, unix.ENOENT) {
				// The file was removed after the listing, and a later call
				// includes that change.
				fmt.Fprintf(h, "%q gone\n", entry.Name())
				continue
			}
			return fmt.Errorf("read trusted key: %w", &os.PathError{Op: "stat", Path: path, Err: err})
		}
		fmt.Fprintf(h, "%q mode=%o dev=%d ino=%d size=%d mtime=%d ctime=%d\n",
			entry.Name(), st.Mode, st.Dev, st.Ino, st.Size, st.Mtim.Nano(), st.Ctim.Nano())
	}
	return nil
}

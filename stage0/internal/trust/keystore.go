package trust

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/rktfly/rkt/stage0/internal/trustedkeys"
)

// Keystore is the trusted-key store of one rkt configuration: the keys under
// SystemConfig/trustedkeys and LocalConfig/trustedkeys.
type Keystore struct {
	// SystemConfig is the vendor configuration directory (rkt's
	// --system-config, default /usr/lib/rkt). Empty means none.
	SystemConfig string
	// LocalConfig is the administrator's configuration directory (rkt's
	// --local-config, default /etc/rkt). Keys are stored here. Empty means
	// none, and storing a key then fails.
	LocalConfig string
}

// keyring is an ordered set of entities keyed by fingerprint, so that a later
// directory can mask a key that an earlier one loaded.
type keyring struct {
	order    []string
	entities map[string]*openpgp.Entity
}

func newKeyring() *keyring {
	return &keyring{entities: map[string]*openpgp.Entity{}}
}

func (k *keyring) add(fingerprint string, e *openpgp.Entity) {
	if _, ok := k.entities[fingerprint]; !ok {
		k.order = append(k.order, fingerprint)
	}
	k.entities[fingerprint] = e
}

func (k *keyring) remove(fingerprint string) {
	if _, ok := k.entities[fingerprint]; !ok {
		return
	}
	delete(k.entities, fingerprint)
	for i, f := range k.order {
		if f == fingerprint {
			k.order = append(k.order[:i], k.order[i+1:]...)
			break
		}
	}
}

func (k *keyring) list() openpgp.EntityList {
	list := make(openpgp.EntityList, 0, len(k.order))
	for _, f := range k.order {
		list = append(list, k.entities[f])
	}
	return list
}

// config returns the configuration directories of the store.
func (ks *Keystore) config() trustedkeys.Config {
	return trustedkeys.Config{SystemConfig: ks.SystemConfig, LocalConfig: ks.LocalConfig}
}

// Keyring loads the keys trusted for the image name: every root key, then the
// keys of each prefix of the name, system configuration before local, with
// empty files masking what was loaded before them.
//
// A prefix matches by whole path components: keys stored for
// "example.com/app" are trusted for "example.com/app" and
// "example.com/app/sub" but not for "example.com/application". rkt's own
// keystore compared plain strings and so matched the latter too. The
// component rule keeps "valid for every name under the prefix and for no
// other".
func (ks *Keystore) Keyring(name string) (openpgp.EntityList, error) {
	if err := trustedkeys.ValidateIdentifier(name); err != nil {
		return nil, fmt.Errorf("load keyring for image name %q: %w", name, err)
	}

	kr := newKeyring()
	for _, dir := range ks.config().Dirs() {
		if err := loadKeyDir(kr, filepath.Join(dir, trustedkeys.RootDir)); err != nil {
			return nil, err
		}
	}
	for _, dir := range ks.config().Dirs() {
		for _, prefix := range trustedkeys.Prefixes(name) {
			if err := loadKeyDir(kr, trustedkeys.PrefixPath(dir, prefix)); err != nil {
				return nil, err
			}
		}
	}
	return kr.list(), nil
}

// loadKeyDir adds the key files directly inside dir to kr. A missing
// directory adds nothing. Subdirectories belong to longer prefixes and are
// skipped.
func loadKeyDir(kr *keyring, dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read trusted key directory: %w", err)
	}

	// os.ReadDir sorts by name, so the load order does not depend on the
	// file system.
	for _, entry := range entries {
		if entry.IsDir() {
			continue
		}
		path := filepath.Join(dir, entry.Name())
		info, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("read trusted key: %w", err)
		}
		if !info.Mode().IsRegular() {
			continue
		}
		if info.Size() == 0 {
			kr.remove(entry.Name())
			continue
		}

		entity, err := readKeyFile(path)
		if err != nil {
			return err
		}
		kr.add(entry.Name(), entity)
	}
	return nil
}

// readKeyFile reads an armored public key whose file name must be the
// fingerprint of its first primary key, as rkt requires.
func readKeyFile(path string) (*openpgp.Entity, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read trusted key: %w", err)
	}
	entities, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("read trusted key %s: %w", path, err)
	}
	if len(entities) == 0 {
		return nil, fmt.Errorf("read trusted key %s: no key in file", path)
	}
	fingerprint := Fingerprint(entities[0])
	if fingerprint != filepath.Base(path) {
		return nil, fmt.Errorf("read trusted key %s: file name does not match the key fingerprint %s: rename or remove the file", path, fingerprint)
	}
	return entities[0], nil
}

// Fingerprint returns the 40 lower-case hex digits of the fingerprint of the
// entity's primary key, the file name the store uses for it.
func Fingerprint(e *openpgp.Entity) string {
	return fmt.Sprintf("%x", e.PrimaryKey.Fingerprint)
}

// HasPrefixKeys reports whether a non-empty key file is stored for the name
// or for one of its prefixes, in either configuration. Root keys do not
// count. rkt fetches keys through discovery only when this is false.
func (ks *Keystore) HasPrefixKeys(name string) (bool, error) {
	if err := trustedkeys.ValidateIdentifier(name); err != nil {
		return false, fmt.Errorf("look up trusted keys for image name %q: %w", name, err)
	}
	for _, dir := range ks.config().Dirs() {
		for _, prefix := range trustedkeys.Prefixes(name) {
			found, err := hasKeyFile(trustedkeys.PrefixPath(dir, prefix))
			if err != nil || found {
				return found, err
			}
		}
	}
	return false, nil
}

func hasKeyFile(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read trusted key directory: %w", err)
	}
	for _, entry := range entries {
		if !entry.Type().IsRegular() {
			continue
		}
		info, err := entry.Info()
		if err != nil {
			return false, fmt.Errorf("read trusted key: %w", err)
		}
		if info.Size() > 0 {
			return true, nil
		}
	}
	return false, nil
}

// findIssuer looks for the key with the ID (a primary key or a subkey) in
// every root.d and prefix.d directory of both configurations. It returns the
// primary key's fingerprint, the prefixes the key is trusted for, with ""
// standing for root.d, and the empty files that mask it. A key stored in the
// system configuration and masked by an empty file of the same name in the
// same directory of the local configuration counts as not trusted there.
// Unreadable files are skipped, because the result only improves an error
// message.
func (ks *Keystore) findIssuer(keyID uint64) (fingerprint string, prefixes, maskedBy []string) {
	type keyFile struct {
		location string // "" for root.d, else the prefix
		path     string
		empty    bool
	}
	var files []keyFile
	for _, dir := range ks.config().Dirs() {
		_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			location, ok := keyLocation(dir, path)
			if !ok {
				return nil
			}
			info, err := os.Stat(path)
			if err != nil || !info.Mode().IsRegular() {
				return nil
			}
			files = append(files, keyFile{location: location, path: path, empty: info.Size() == 0})
			if info.Size() == 0 || fingerprint != "" {
				return nil
			}
			entity, err := readKeyFile(path)
			if err == nil && len(openpgp.EntityList{entity}.KeysById(keyID)) > 0 {
				fingerprint = Fingerprint(entity)
			}
			return nil
		})
	}
	if fingerprint == "" {
		return "", nil, nil
	}

	// Files are in load order, so the last file of a location decides.
	trusted := map[string]bool{}
	for _, file := range files {
		if filepath.Base(file.path) != fingerprint {
			continue
		}
		trusted[file.location] = !file.empty
		if file.empty {
			maskedBy = append(maskedBy, file.path)
		}
	}
	for location, ok := range trusted {
		if ok {
			prefixes = append(prefixes, location)
		}
	}
	sort.Strings(prefixes)
	return fingerprint, prefixes, maskedBy
}

// keyLocation returns the prefix that the key file at path below the
// trustedkeys directory dir is stored for, "" for root.d.
func keyLocation(dir, path string) (string, bool) {
	rel, err := filepath.Rel(dir, filepath.Dir(path))
	if err != nil {
		return "", false
	}
	rel = filepath.ToSlash(rel)
	switch {
	case rel == trustedkeys.RootDir:
		return "", true
	case strings.HasPrefix(rel, trustedkeys.PrefixDir+"/"):
		return strings.TrimPrefix(rel, trustedkeys.PrefixDir+"/"), true
	}
	return "", false
}

// StorePrefixKey stores the public key in the local configuration as trusted
// for the prefix and returns the path of the new file. The prefix must be an
// AC identifier. A file for the same fingerprint is replaced.
func (ks *Keystore) StorePrefixKey(prefix string, key *openpgp.Entity) (string, error) {
	if err := trustedkeys.ValidateIdentifier(prefix); err != nil {
		return "", fmt.Errorf("store key for prefix %q: %w", prefix, err)
	}
	if ks.LocalConfig == "" {
		return "", errors.New("store key: no local configuration directory is set")
	}
	dir := trustedkeys.PrefixPath(filepath.Join(ks.LocalConfig, trustedkeys.Dir), prefix)
	return storeKey(dir, key)
}

// StoreRootKey stores the public key in the local configuration as trusted
// for every image name and returns the path of the new file.
func (ks *Keystore) StoreRootKey(key *openpgp.Entity) (string, error) {
	if ks.LocalConfig == "" {
		return "", errors.New("store root key: no local configuration directory is set")
	}
	dir := filepath.Join(ks.LocalConfig, trustedkeys.Dir, trustedkeys.RootDir)
	return storeKey(dir, key)
}

// storeKey writes the entity's public part, armored, to dir/<fingerprint>
// with mode 0644. It writes a temporary file first and renames it, so that a
// concurrent reader never sees a partial key.
func storeKey(dir string, key *openpgp.Entity) (string, error) {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		return "", fmt.Errorf("armor key %s: %w", Fingerprint(key), err)
	}
	if err := key.Serialize(w); err != nil {
		return "", fmt.Errorf("serialize key %s: %w", Fingerprint(key), err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("armor key %s: %w", Fingerprint(key), err)
	}
	buf.WriteString("\n")

	if err := mkdirAll(dir); err != nil {
		return "", err
	}
	path := filepath.Join(dir, Fingerprint(key))
	tmp, err := os.CreateTemp(dir, ".tmp-key-")
	if err != nil {
		return "", fmt.Errorf("store key: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename

	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return "", fmt.Errorf("store key %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return "", fmt.Errorf("store key %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("store key %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("store key: %w", err)
	}
	return path, nil
}

// mkdirAll creates dir and its missing parents with mode 0755 whatever the
// umask, as rkt's store layout expects. Existing directories keep their mode.
func mkdirAll(dir string) error {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		_, err := os.Stat(d)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) || d == filepath.Dir(d) {
			return fmt.Errorf("create trusted key directory: %w", err)
		}
		missing = append(missing, d)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		err := os.Mkdir(missing[i], 0o755)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create trusted key directory: %w", err)
		}
		if err := os.Chmod(missing[i], 0o755); err != nil {
			return fmt.Errorf("create trusted key directory: %w", err)
		}
	}
	return nil
}

// TrustState returns a digest of the key files that apply to the image name:
// adding, removing, masking or replacing such a key file changes it. It
// reads no key file, only directories and stats.
func (ks *Keystore) TrustState(name string) (string, error) {
	return ks.config().State(name)
}

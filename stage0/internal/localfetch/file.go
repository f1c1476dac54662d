package localfetch

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/appc/spec/schema"
	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/stage0/internal/imageref"
	"github.com/rktfly/rkt/stage0/internal/store"
	"github.com/rktfly/rkt/stage0/internal/store/aci"
)

// ReadManifest reads the image manifest out of an ACI, compressed or not.
// It stops at the manifest entry, so it reads little of a typical ACI.
func ReadManifest(r io.Reader) (*schema.ImageManifest, error) {
	rc, _, err := aci.Decompress(r)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil, errors.New("no manifest entry in the image")
		}
		if err != nil {
			return nil, fmt.Errorf("read image archive: %w", err)
		}
		if strings.TrimPrefix(hdr.Name, "./") != "manifest" {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, 16<<20))
		if err != nil {
			return nil, fmt.Errorf("read image manifest: %w", err)
		}
		var m schema.ImageManifest
		if err := m.UnmarshalJSON(data); err != nil {
			return nil, fmt.Errorf("invalid image manifest: %w", err)
		}
		return &m, nil
	}
}

// Verify checks sig against the ACI for the manifest's name, prints the
// signers and returns them. Both files are read from the start. check, when
// not nil, validates the manifest first.
func (f *Fetcher) Verify(label string, aciFile, sig io.ReadSeeker, check func(*schema.ImageManifest) error) ([]string, error) {
	verifier := f.verifier()
	if verifier == nil {
		return nil, &NeedsError{Image: label, Work: "a signature check"}
	}
	if _, err := aciFile.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("verify signature of %s: %w", label, err)
	}
	m, err := ReadManifest(aciFile)
	if err != nil {
		return nil, fmt.Errorf("verify signature of %s: %w", label, err)
	}
	if check != nil {
		if err := check(m); err != nil {
			return nil, err
		}
	}
	for _, s := range []io.Seeker{aciFile, sig} {
		if _, err := s.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("verify signature of %s: %w", label, err)
		}
	}
	signers, err := verifier.Verify(m.Name.String(), aciFile, sig)
	if err != nil {
		return nil, fmt.Errorf("verify signature of %s: %w", label, err)
	}
	f.printSigners(signers)
	return signers, nil
}

func (f *Fetcher) printSigners(signers []string) {
	f.Warnf("signature verified:")
	for _, s := range signers {
		f.Warnf("  %s", s)
	}
}

// RecordSignature records a successful check of a downloaded image. Such a
// record has no file identities, so it never replaces the check of a file
// image. A failure to record is logged, because nothing depends on it.
func (f *Fetcher) RecordSignature(key string, signers []string) {
	rec := store.SignatureRecord{Signers: signers, Time: f.now()}
	if err := f.Store.RecordSignature(key, rec); err != nil {
		f.Logf("%v", err)
	}
}

// WarnInsecureImage prints that the signature of the image at label is not
// checked, unless the Fetcher skips that warning.
func (f *Fetcher) WarnInsecureImage(label string) {
	if f.skipWarning || f.SkipInsecureWarning {
		return
	}
	f.Warnf("warning: signature verification has been disabled for %s (--insecure-options=image)", label)
}

// fetchFile imports a local ACI. A file is imported whatever the pull
// policy, and the store's stat cache makes an unchanged file cheap: it is
// not read. Its signature is checked against the blob the store keeps, after
// the import, so a file replaced meanwhile cannot slip in unverified. A
// recorded check replaces that read only while the image file, the
// signature file and the trusted keys for the name are all unchanged. An
// image that this call added and that fails the check is removed again.
// Without a Verifier the file is imported only when a recorded check
// applies to it.
func (f *Fetcher) fetchFile(ctx context.Context, req Request) (string, error) {
	path, err := imageref.FilePath(req.Image)
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", path, err)
	}
	// Opening a FIFO or a device could block or read forever, so only a
	// regular file is opened.
	var st unix.Stat_t
	if err := unix.Stat(abs, &st); err != nil {
		return "", fmt.Errorf("image %s: %w (check the path of the image file)", abs, &os.PathError{Op: "stat", Path: abs, Err: err})
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return "", fmt.Errorf("image %s is not a regular file (%s): give the path of an ACI file", abs, fileTypeOf(&st))
	}
	if !req.NoDeps {
		if err := f.fetchFileDependencies(ctx, abs, req.Policy); err != nil {
			return "", err
		}
	}

	if f.Insecure {
		f.WarnInsecureImage(abs)
	} else if err := checkSignatureFileExists(abs, req.Signature); err != nil {
		return "", err
	}
	// The identity is taken before the import, so a file changed during the
	// import gets a new identity and is checked again next time.
	imageFile := store.FileIdentity(abs, &st)
	if !f.Insecure && f.verifier() == nil {
		if err := f.checkRecordedBeforeImport(abs, imageFile, req.Signature); err != nil {
			return "", err
		}
	}
	if f.DryRun {
		key, _ := f.Store.CachedFileKey(abs)
		return key, nil
	}
	imported, err := f.Store.ImportFileAndReport(abs, store.ImportOptions{})
	if err != nil {
		return "", err
	}
	if f.Insecure {
		return imported.Key, nil
	}

	if err := f.checkStoredSignature(imported.Key, abs, imageFile, req.Signature); err != nil {
		f.RemoveNewImage(imported)
		return "", err
	}
	return imported.Key, nil
}

// fileTypeOf names the file type of st for error messages.
func fileTypeOf(st *unix.Stat_t) fs.FileMode {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFLNK:
		return fs.ModeSymlink
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	}
	return fs.ModeIrregular
}

// RemoveNewImage removes the image of a failed check when the import that
// returned imported added it to the store and no pod uses it. A removal
// failure is logged, because the check already failed.
//
// NOTE: another process that fetches the same image after this import added
// it gets its key, and the image is removed under it unless ImageInUse
// reports a pod. It only has to be fetched again.
func (f *Fetcher) RemoveNewImage(imported store.ImportResult) {
	if !imported.Created {
		return
	}
	key := imported.Key
	if f.ImageInUse != nil {
		inUse, err := f.ImageInUse(key)
		if err != nil {
			f.Logf("keep image %s: check whether pods use it: %v", key, err)
			return
		}
		if inUse {
			f.Logf("keep image %s: pods use it", key)
			return
		}
	}
	if err := f.Store.RemoveImage(key); err != nil {
		f.Logf("remove rejected image %s: %v", key, err)
	}
}

// fetchFileDependencies fetches the dependencies that the manifest of the
// ACI file at path lists, before the file is imported, because the store
// renders the tree of a file image as it imports it. An unchanged file that
// was imported before is not read: its stored manifest is used.
func (f *Fetcher) fetchFileDependencies(ctx context.Context, path string, policy imageref.PullPolicy) error {
	var m *schema.ImageManifest
	if key, ok := f.Store.CachedFileKey(path); ok {
		stored, err := f.Store.ImageManifest(key)
		if err != nil {
			return fmt.Errorf("read image %s: %w", path, err)
		}
		m = stored
	} else {
		aciFile, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("open image: %w (check the path of the image file)", err)
		}
		defer aciFile.Close()
		if m, err = ReadManifest(aciFile); err != nil {
			return fmt.Errorf("read image %s: %w", path, err)
		}
	}
	if err := f.fetchDependencyList(ctx, m, policy, map[string]bool{}); err != nil {
		return fmt.Errorf("fetch dependencies of %s: %w", path, err)
	}
	return nil
}

// checkSignatureFileExists fails early, before anything is imported, when
// the signature file of the image at path is missing.
func checkSignatureFileExists(path, sigPath string) error {
	sigPath = signaturePath(path, sigPath)
	if _, err := os.Stat(sigPath); errors.Is(err, fs.ErrNotExist) {
		return noSignatureError(path, sigPath)
	}
	return nil
}

// signaturePath returns the --signature file, or else the file next to the
// image: IMAGE.aci.asc.
func signaturePath(path, sigPath string) string {
	if sigPath != "" {
		return sigPath
	}
	return strings.TrimSuffix(path, ".aci") + ".aci.asc"
}

func noSignatureError(path, sigPath string) error {
	return fmt.Errorf("image %s has no signature file %s: sign the image, give the signature with --signature, or use --insecure-options=image to skip verification", path, sigPath)
}

// BlobChecks counts signature checks read from a stored blob, so that tests
// can tell a reused check from a real one.
var BlobChecks atomic.Int64

// TrustStater is implemented by a Verifier that can summarise the trust
// decision for an image name without checking a signature, so that a
// recorded check can be reused while the summary is unchanged. A Verifier
// without it has every file image checked on every import.
type TrustStater interface {
	// TrustState returns a digest of the key files that apply to name.
	TrustState(name string) (string, error)
}

// checkRecordedBeforeImport returns a *NeedsError unless the store holds
// the file image at path, unchanged since its import, with a recorded
// signature check that still applies. It writes nothing.
func (f *Fetcher) checkRecordedBeforeImport(path, imageFile, sigPath string) error {
	key, ok := f.Store.CachedFileKey(path)
	if !ok {
		return &NeedsError{Image: path, Work: "a signature check"}
	}
	rec, _, sig, err := f.recordedCheck(key, path, imageFile, sigPath)
	if err != nil {
		return err
	}
	sig.Close()
	if rec == nil {
		return &NeedsError{Image: path, Work: "a signature check"}
	}
	return nil
}

// recordedCheck opens the detached signature of the file image path and
// returns the recorded check of key, or nil when the record does not apply.
// A record applies when it covered the same image file identity, the same
// signature file identity and the same trust state for the image name. want
// is the record that a check made now would store. The caller closes sig.
func (f *Fetcher) recordedCheck(key, path, imageFile, sigPath string) (rec *store.SignatureRecord, want store.SignatureRecord, sig *os.File, err error) {
	sigPath, err = filepath.Abs(signaturePath(path, sigPath))
	if err != nil {
		return nil, want, nil, fmt.Errorf("verify signature of %s: %w", path, err)
	}
	sig, err = os.Open(sigPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, want, nil, noSignatureError(path, sigPath)
	}
	if err != nil {
		return nil, want, nil, fmt.Errorf("open signature: %w", err)
	}
	// The identity comes from the open file, so a signature replaced after
	// this point is checked again next time.
	var st unix.Stat_t
	if err := unix.Fstat(int(sig.Fd()), &st); err != nil {
		sig.Close()
		return nil, want, nil, fmt.Errorf("verify signature of %s: stat %s: %w", path, sigPath, err)
	}
	want = store.SignatureRecord{
		ImageFile:     imageFile,
		SignatureFile: store.FileIdentity(sigPath, &st),
		TrustState:    f.trustState(key),
	}

	rec, err = f.Store.Signature(key)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		sig.Close()
		return nil, want, nil, err
	}
	if rec != nil && want.TrustState != "" && rec.ImageFile == want.ImageFile &&
		rec.SignatureFile == want.SignatureFile && rec.TrustState == want.TrustState {
		return rec, want, sig, nil
	}
	return nil, want, sig, nil
}

// checkStoredSignature checks the detached signature of the file image path
// against the stored blob of key. A recorded check of key is reused, without
// reading the blob, only when recordedCheck returns it.
func (f *Fetcher) checkStoredSignature(key, path, imageFile, sigPath string) error {
	rec, want, sig, err := f.recordedCheck(key, path, imageFile, sigPath)
	if err != nil {
		return err
	}
	defer sig.Close()
	if rec != nil {
		f.Logf("signature of image %s was verified at %s, and the image, signature and trusted keys are unchanged", key, rec.Time.Format(time.RFC3339))
		f.printSigners(rec.Signers)
		return nil
	}
	if f.verifier() == nil {
		return &NeedsError{Image: path, Work: "a signature check"}
	}

	blob, err := f.Store.OpenBlob(key)
	if err != nil {
		return fmt.Errorf("verify signature of %s: %w", path, err)
	}
	defer blob.Close()
	BlobChecks.Add(1)
	signers, err := f.Verify(path, blob, sig, nil)
	if err != nil {
		return err
	}
	want.Signers = signers
	want.Time = f.now()
	if err := f.Store.RecordSignature(key, want); err != nil {
		f.Logf("%v", err)
	}
	return nil
}

// trustState returns the trust state for the name of image key, from the
// TrustState field or else from a Verifier that implements TrustStater, or
// "" when there is none, which disables reuse of a recorded check.
func (f *Fetcher) trustState(key string) string {
	state := f.TrustState
	if state == nil {
		stater, ok := f.Verifier.(TrustStater)
		if !ok {
			return ""
		}
		state = stater.TrustState
	}
	m, err := f.Store.ImageManifest(key)
	if err != nil {
		f.Logf("read manifest of image %s: %v", key, err)
		return ""
	}
	digest, err := state(m.Name.String())
	if err != nil {
		f.Logf("read trusted keys for %s: %v", m.Name, err)
		return ""
	}
	return digest
}

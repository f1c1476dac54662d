package fetch

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
	"time"

	"github.com/appc/spec/schema"

	"github.com/rktfly/rkt/stage0/internal/store"
	"github.com/rktfly/rkt/stage0/internal/store/aci"
)

// readManifest reads the image manifest out of an ACI, compressed or not.
// It stops at the manifest entry, so it reads little of a typical ACI.
func readManifest(r io.Reader) (*schema.ImageManifest, error) {
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

// verify checks sig against the ACI for the manifest's name, prints the
// signers and returns them. Both files are read from the start.
func (f *Fetcher) verify(label string, aciFile, sig io.ReadSeeker, check func(*schema.ImageManifest) error) ([]string, error) {
	if f.Verifier == nil {
		return nil, fmt.Errorf("verify signature of %s: no keystore configured: add keys with rkt trust or use --insecure-options=image", label)
	}
	if _, err := aciFile.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("verify signature of %s: %w", label, err)
	}
	m, err := readManifest(aciFile)
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
	signers, err := f.Verifier.Verify(m.Name.String(), aciFile, sig)
	if err != nil {
		return nil, fmt.Errorf("verify signature of %s: %w", label, err)
	}
	f.printSigners(signers)
	return signers, nil
}

func (f *Fetcher) printSigners(signers []string) {
	f.warnf("signature verified:")
	for _, s := range signers {
		f.warnf("  %s", s)
	}
}

// recordSignature stores a successful check of image key, so that a later
// import of the same content skips the check. A failure to record only costs
// a check next time, so it is logged.
func (f *Fetcher) recordSignature(key string, signers []string) {
	rec := store.SignatureRecord{Signers: signers, Time: f.now()}
	if err := f.Store.RecordSignature(key, rec); err != nil {
		f.logf("%v", err)
	}
}

func (f *Fetcher) warnInsecureImage(label string) {
	if f.skipWarning || f.SkipInsecureWarning {
		return
	}
	f.warnf("warning: signature verification has been disabled for %s (--insecure-options=image)", label)
}

// fetchFile imports a local ACI. A file is imported whatever the pull
// policy, and the store's stat cache makes an unchanged file cheap: it is
// not read, and its signature is not checked again once a check of the same
// content has been recorded. The signature is checked against the blob the
// store keeps, after the import, so a file replaced meanwhile cannot slip in
// unverified. An image that this call added and that fails the check is
// removed again.
func (f *Fetcher) fetchFile(ctx context.Context, req Request) (string, error) {
	path, err := filePath(req.Image)
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", path, err)
	}
	// Opening a FIFO or a device could block or read forever, so only a
	// regular file is opened.
	fi, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("image %s: %w (check the path of the image file)", abs, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("image %s is not a regular file (%s): give the path of an ACI file", abs, fi.Mode().Type())
	}
	if !req.NoDeps {
		if err := f.fetchFileDependencies(ctx, abs, req.Policy); err != nil {
			return "", err
		}
	}

	if f.Insecure.Image {
		f.warnInsecureImage(abs)
	} else if err := f.checkSignatureFileExists(abs, req.Signature); err != nil {
		return "", err
	}
	// Import times come from the wall clock, so step back a little to be
	// sure an image imported by the call below counts as new.
	start := time.Now().Add(-time.Second)
	key, err := f.Store.ImportFile(abs, store.ImportOptions{})
	if err != nil {
		return "", err
	}
	if f.Insecure.Image {
		return key, nil
	}

	if err := f.checkStoredSignature(key, abs, req.Signature); err != nil {
		// NOTE: an image that another process imported within the same
		// second is removed as well. It only has to be imported again.
		if imported, timeErr := f.Store.ImportTime(key); timeErr == nil && imported.After(start) {
			if rmErr := f.Store.RemoveImage(key); rmErr != nil {
				f.logf("remove unverified image %s: %v", key, rmErr)
			}
		}
		return "", err
	}
	return key, nil
}

// fetchFileDependencies fetches the dependencies that the manifest of the
// ACI file at path lists, before the file is imported, because the store
// renders the tree of a file image as it imports it. An unchanged file that
// was imported before is not read: its stored manifest is used.
func (f *Fetcher) fetchFileDependencies(ctx context.Context, path string, policy PullPolicy) error {
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
		if m, err = readManifest(aciFile); err != nil {
			return fmt.Errorf("read image %s: %w", path, err)
		}
	}
	if err := f.fetchDependencyList(ctx, m, policy, map[string]bool{}); err != nil {
		return fmt.Errorf("fetch dependencies of %s: %w", path, err)
	}
	return nil
}

// checkSignatureFileExists fails early, before anything is imported, when
// the signature file of an image that has no recorded check is missing.
func (f *Fetcher) checkSignatureFileExists(path, sigPath string) error {
	sigPath = signaturePath(path, sigPath)
	if _, err := os.Stat(sigPath); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if key, ok := f.Store.CachedFileKey(path); ok {
		if _, err := f.Store.Signature(key); err == nil {
			return nil
		}
	}
	return noSignatureError(path, sigPath)
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

// checkStoredSignature checks the detached signature of the file image path
// against the stored blob of key, unless a check of key is recorded already.
//
// NOTE: a recorded check is trusted as it is, so a key removed from the
// trusted keys afterwards, or a different --signature file, does not change
// the outcome for content verified before.
func (f *Fetcher) checkStoredSignature(key, path, sigPath string) error {
	rec, err := f.Store.Signature(key)
	if err == nil {
		f.logf("signature of image %s was verified at %s", key, rec.Time.Format(time.RFC3339))
		f.printSigners(rec.Signers)
		return nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}

	sigPath = signaturePath(path, sigPath)
	sig, err := os.Open(sigPath)
	if errors.Is(err, fs.ErrNotExist) {
		return noSignatureError(path, sigPath)
	}
	if err != nil {
		return fmt.Errorf("open signature: %w", err)
	}
	defer sig.Close()

	blob, err := f.Store.OpenBlob(key)
	if err != nil {
		return fmt.Errorf("verify signature of %s: %w", path, err)
	}
	defer blob.Close()
	signers, err := f.verify(path, blob, sig, nil)
	if err != nil {
		return err
	}
	f.recordSignature(key, signers)
	return nil
}

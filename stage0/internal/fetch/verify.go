package fetch

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

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

// verify checks sig against the ACI for the manifest's name and prints the
// signers. Both files are read from the start.
func (f *Fetcher) verify(label string, aciFile, sig io.ReadSeeker, check func(*schema.ImageManifest) error) error {
	if f.Verifier == nil {
		return fmt.Errorf("verify signature of %s: no keystore configured: add keys with rkt trust or use --insecure-options=image", label)
	}
	if _, err := aciFile.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("verify signature of %s: %w", label, err)
	}
	m, err := readManifest(aciFile)
	if err != nil {
		return fmt.Errorf("verify signature of %s: %w", label, err)
	}
	if check != nil {
		if err := check(m); err != nil {
			return err
		}
	}
	for _, s := range []io.Seeker{aciFile, sig} {
		if _, err := s.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("verify signature of %s: %w", label, err)
		}
	}
	signers, err := f.Verifier.Verify(m.Name.String(), aciFile, sig)
	if err != nil {
		return fmt.Errorf("verify signature of %s: %w", label, err)
	}
	f.warnf("signature verified:")
	for _, s := range signers {
		f.warnf("  %s", s)
	}
	return nil
}

func (f *Fetcher) warnInsecureImage(label string) {
	if f.skipWarning {
		return
	}
	f.warnf("warning: signature verification has been disabled for %s (--insecure-options=image)", label)
}

// fetchFile imports a local ACI. A file is imported whatever the pull
// policy, and the store's stat cache makes an unchanged file cheap. The
// dependencies are fetched first because the store renders the tree of a
// file image as it imports it.
func (f *Fetcher) fetchFile(ctx context.Context, req Request) (string, error) {
	path, err := filePath(req.Image)
	if err != nil {
		return "", err
	}
	aciFile, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("open image: %w (check the path of the image file)", err)
	}
	defer aciFile.Close()

	if f.Insecure.Image {
		f.warnInsecureImage(path)
	} else if err := f.verifyFile(path, aciFile, req.Signature); err != nil {
		return "", err
	}
	if !req.NoDeps {
		if _, err := aciFile.Seek(0, io.SeekStart); err != nil {
			return "", fmt.Errorf("read image %s: %w", path, err)
		}
		m, err := readManifest(aciFile)
		if err != nil {
			return "", fmt.Errorf("read image %s: %w", path, err)
		}
		if err := f.fetchDependencyList(ctx, m, req.Policy, map[string]bool{}); err != nil {
			return "", fmt.Errorf("fetch dependencies of %s: %w", path, err)
		}
	}
	// NOTE: the store opens the file again, so a file replaced between
	// verification and import is imported unverified. Importing from the
	// verified descriptor would bypass the store's stat cache.
	key, err := f.Store.ImportFile(path, store.ImportOptions{})
	if err != nil {
		return "", err
	}
	return key, nil
}

func (f *Fetcher) verifyFile(path string, aciFile *os.File, sigPath string) error {
	if sigPath == "" {
		sigPath = strings.TrimSuffix(path, ".aci") + ".aci.asc"
	}
	sig, err := os.Open(sigPath)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("image %s has no signature file %s: sign it, give one with --signature, or use --insecure-options=image", path, sigPath)
	}
	if err != nil {
		return fmt.Errorf("open signature: %w", err)
	}
	defer sig.Close()
	return f.verify(path, aciFile, sig, nil)
}

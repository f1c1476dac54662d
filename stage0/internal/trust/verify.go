package trust

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Reasons a signature check fails. A *VerifyError wraps one of them, so
// callers can test with errors.Is.
var (
	ErrMissingSignature = errors.New("image is not signed")
	ErrUntrustedKey     = errors.New("signing key is not trusted")
	ErrInvalidSignature = errors.New("signature does not match the image")
	ErrKeyExpired       = errors.New("signing key or signature has expired")
	ErrKeyRevoked       = errors.New("signing key is revoked")
)

// Signer describes the key that made a valid signature.
type Signer struct {
	// Fingerprint is the primary key's fingerprint in 40 lower-case hex digits.
	Fingerprint string
	// Identities are the key's user IDs ("Name (comment) <email>"), sorted.
	Identities []string
}

// VerifyError is a failed signature check of one image. Its message names the
// image, the signing key where the signature names one, and the fix.
type VerifyError struct {
	// Image is the image name whose keyring was used.
	Image string
	// Fingerprint is the signing key's fingerprint when the signature or the
	// keyring gives it, else empty.
	Fingerprint string
	// KeyID is the 16 hex digits of the issuer key ID, when known.
	KeyID string
	// TrustedFor lists the prefixes the signing key is trusted for instead
	// ("" stands for a root key). It is set only for ErrUntrustedKey.
	TrustedFor []string
	// MaskedBy lists the empty key files that mask the signing key. It is
	// set only for ErrUntrustedKey.
	MaskedBy []string
	// Reason is one of the Err* values of this package.
	Reason error
	// Err is the underlying library or I/O error, if any.
	Err error

	keyID *uint64
	// notSignature is set with ErrInvalidSignature when the signature file
	// holds no armored OpenPGP signature packet at all.
	notSignature bool
}

func (e *VerifyError) Error() string {
	var b strings.Builder
	if e.notSignature {
		// The library's error, such as a bare EOF, adds nothing to this.
		fmt.Fprintf(&b, "verify image %q: the signature file is not an armored OpenPGP signature: "+
			"sign the image with gpg --armor --detach-sign, or use --insecure-options=image to skip signature verification",
			e.Image)
		return b.String()
	}
	fmt.Fprintf(&b, "verify image %q: %v", e.Image, e.Reason)
	if key := e.keyLabel(); key != "" {
		fmt.Fprintf(&b, " (key %s)", key)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if len(e.TrustedFor) > 0 {
		fmt.Fprintf(&b, ", which is trusted only for %s", describePrefixes(e.TrustedFor))
	}
	if len(e.MaskedBy) > 0 {
		fmt.Fprintf(&b, ", which is masked by the empty key file %s", strings.Join(e.MaskedBy, ", "))
	}
	if hint := e.hint(); hint != "" {
		b.WriteString(": ")
		b.WriteString(hint)
	}
	return b.String()
}

func (e *VerifyError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Reason}
	}
	return []error{e.Reason, e.Err}
}

func (e *VerifyError) keyLabel() string {
	if e.Fingerprint != "" {
		return e.Fingerprint
	}
	if e.KeyID != "" {
		return "ID " + e.KeyID
	}
	return ""
}

// hint returns the next step for the user.
func (e *VerifyError) hint() string {
	skip := "or use --insecure-options=image to skip signature verification"
	switch e.Reason {
	case ErrUntrustedKey:
		return fmt.Sprintf("run `rkt trust --prefix=%s` (with the key file or URL, or none to discover the key) to trust the signer, %s", e.Image, skip)
	case ErrMissingSignature:
		return fmt.Sprintf("provide the signature (IMAGE.aci.asc next to the image, or --signature=FILE), %s", skip)
	case ErrKeyExpired, ErrKeyRevoked:
		return fmt.Sprintf("get the image signed by a valid key, or trust the publisher's new key with `rkt trust --prefix=%s`, %s", e.Image, skip)
	case ErrInvalidSignature:
		return "the image or its signature was modified or corrupted: fetch both again from a trusted source"
	}
	return ""
}

func describePrefixes(prefixes []string) string {
	quoted := make([]string, 0, len(prefixes))
	for _, p := range prefixes {
		if p == "" {
			quoted = append(quoted, "all images (root key)")
			continue
		}
		quoted = append(quoted, fmt.Sprintf("prefix %q", p))
	}
	return strings.Join(quoted, ", ")
}

// MissingSignatureError returns the error for an image whose signature could
// not be found. Location is the path or URL where the signature was expected
// and may be empty. Cause may be nil.
func MissingSignatureError(image, location string, cause error) error {
	err := cause
	if location != "" {
		if cause != nil {
			err = fmt.Errorf("%s: %w", location, cause)
		} else {
			err = fmt.Errorf("no signature at %s", location)
		}
	}
	return &VerifyError{Image: image, Reason: ErrMissingSignature, Err: err}
}

// Verify checks the armored detached signature sig of the image bytes aci
// against the keys trusted for the image name (the name in the image
// manifest) and returns the signing key's identities. Both readers are
// rewound first, and a nil sig gives ErrMissingSignature. This is the
// verifier that fetching calls.
func (ks *Keystore) Verify(name string, aci, sig io.ReadSeeker) (signers []string, err error) {
	signer, err := ks.CheckSignature(name, aci, sig)
	if err != nil {
		return nil, err
	}
	return signer.Identities, nil
}

// CheckSignature is Verify returning the signing key's fingerprint too.
func (ks *Keystore) CheckSignature(name string, aci, sig io.ReadSeeker) (*Signer, error) {
	if sig == nil {
		return nil, &VerifyError{Image: name, Reason: ErrMissingSignature}
	}
	keyring, err := ks.Keyring(name)
	if err != nil {
		return nil, err
	}
	if _, err := aci.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("verify image %q: rewind image: %w", name, err)
	}
	if _, err := sig.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("verify image %q: rewind signature: %w", name, err)
	}

	config := &packet.Config{Time: time.Now}
	entity, checkErr := openpgp.CheckArmoredDetachedSignature(keyring, aci, sig, config)
	if checkErr == nil {
		return signerOf(entity), nil
	}

	verr := &VerifyError{Image: name, Reason: classify(checkErr), Err: checkErr}
	if entity != nil {
		verr.Fingerprint = Fingerprint(entity)
	} else if !ks.describeIssuer(verr, sig) && verr.Reason == ErrInvalidSignature {
		verr.notSignature = true
	}
	if verr.Reason == ErrUntrustedKey {
		// The library's "signature made by unknown entity" adds nothing to
		// the reason.
		verr.Err = nil
		if verr.keyID != nil {
			fingerprint, prefixes, maskedBy := ks.findIssuer(*verr.keyID)
			if fingerprint != "" {
				verr.Fingerprint = fingerprint
			}
			verr.TrustedFor = prefixes
			verr.MaskedBy = maskedBy
		}
	}
	return nil, verr
}

// classify maps a go-crypto verification error to a reason of this package.
func classify(err error) error {
	switch {
	case errors.Is(err, pgperrors.ErrUnknownIssuer):
		return ErrUntrustedKey
	case errors.Is(err, pgperrors.ErrKeyExpired), errors.Is(err, pgperrors.ErrSignatureExpired):
		return ErrKeyExpired
	case errors.Is(err, pgperrors.ErrKeyRevoked):
		return ErrKeyRevoked
	}
	// Everything else (a bad signature value, a damaged or non-signature
	// packet, broken armor) means the signature does not vouch for these
	// bytes.
	return ErrInvalidSignature
}

// describeIssuer fills in the issuer of the signature, read again from sig
// with the library's packet reader, and reports whether sig starts with an
// armored signature packet. It finds nothing in a damaged signature.
func (ks *Keystore) describeIssuer(verr *VerifyError, sig io.ReadSeeker) bool {
	if _, err := sig.Seek(0, io.SeekStart); err != nil {
		return false
	}
	block, err := armor.Decode(sig)
	if err != nil {
		return false
	}
	p, err := packet.NewReader(block.Body).Next()
	if err != nil {
		return false
	}
	s, ok := p.(*packet.Signature)
	if !ok {
		return false
	}
	if len(s.IssuerFingerprint) > 0 {
		verr.Fingerprint = fmt.Sprintf("%x", s.IssuerFingerprint)
	}
	if s.IssuerKeyId != nil {
		verr.KeyID = fmt.Sprintf("%016x", *s.IssuerKeyId)
		verr.keyID = s.IssuerKeyId
	}
	return true
}

func signerOf(e *openpgp.Entity) *Signer {
	identities := make([]string, 0, len(e.Identities))
	for name := range e.Identities {
		identities = append(identities, name)
	}
	sort.Strings(identities)
	return &Signer{Fingerprint: Fingerprint(e), Identities: identities}
}

// FormatSigners returns the lines rkt prints after a successful check:
// "signature verified:" and then one indented line per signer identity.
func FormatSigners(signers []string) string {
	var b strings.Builder
	b.WriteString("signature verified:\n")
	for _, s := range signers {
		fmt.Fprintf(&b, "  %s\n", s)
	}
	return b.String()
}

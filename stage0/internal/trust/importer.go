package trust

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/stage0/internal/trustedkeys"
)

// ErrKeyRejected is returned when the user rejects a key in the review.
var ErrKeyRejected = errors.New("key not trusted by the user")

// ReviewFunc prompts the user to accept or reject a key. The importer prints
// the prefix, location, fingerprint and identities before the call. It
// returns true when the user trusts the key.
type ReviewFunc func(prefix, location string, key *openpgp.Entity) (bool, error)

// Importer adds keys to a Keystore the way `rkt trust` does: it reads or
// discovers them, prints each key's fingerprint and identities, runs the
// review unless SkipReview or TrustHTTPS applies, and stores the accepted
// keys.
type Importer struct {
	Keystore *Keystore
	Fetcher  *KeyFetcher
	// DiscoverOverHTTP retries a failed https discovery request with plain
	// http (--insecure-options=http at fetch time). It does not permit
	// http:// key URLs, which Fetcher.AllowHTTP governs.
	DiscoverOverHTTP bool
	// SkipReview trusts every key without asking (--skip-fingerprint-review).
	SkipReview bool
	// TrustHTTPS trusts keys read from https:// URLs without asking
	// (--trust-keys-from-https).
	TrustHTTPS bool
	// Review prompts the user about one key. A nil Review makes every key
	// that needs a review fail.
	Review ReviewFunc
	// Out receives the key descriptions and the "Added key" lines.
	Out io.Writer
}

// Result is one stored key.
type Result struct {
	Location    string
	Fingerprint string
	Path        string
}

// AddPrefixKeys trusts keys for the prefix, an AC identifier. With no
// locations the keys are found through ac-discovery-pubkeys discovery on the
// prefix, over plain http too when DiscoverOverHTTP is set.
func (im *Importer) AddPrefixKeys(ctx context.Context, prefix string, locations []string) ([]Result, error) {
	if err := trustedkeys.ValidateIdentifier(prefix); err != nil {
		return nil, fmt.Errorf("invalid prefix %q: %w", prefix, err)
	}
	if len(locations) == 0 {
		discovered, err := DiscoverPublicKeys(ctx, im.Fetcher, prefix, im.DiscoverOverHTTP)
		if err != nil {
			return nil, err
		}
		locations = discovered
	}
	return im.add(ctx, prefix, locations)
}

// AddRootKeys trusts the keys at the locations for every image name.
func (im *Importer) AddRootKeys(ctx context.Context, locations []string) ([]Result, error) {
	if len(locations) == 0 {
		return nil, errors.New("a root key needs a key file or URL: discovery works only for a prefix")
	}
	return im.add(ctx, "", locations)
}

// add stores the keys for prefix, or as root keys when prefix is empty. It
// stops at the first error, keeping the keys stored before it.
func (im *Importer) add(ctx context.Context, prefix string, locations []string) ([]Result, error) {
	var results []Result
	for _, location := range locations {
		entities, err := im.Fetcher.Fetch(ctx, location)
		if err != nil {
			return results, err
		}
		for _, entity := range entities {
			result, err := im.addOne(prefix, location, entity)
			if err != nil {
				return results, err
			}
			results = append(results, result)
		}
	}
	return results, nil
}

func (im *Importer) addOne(prefix, location string, entity *openpgp.Entity) (Result, error) {
	fingerprint := Fingerprint(entity)
	im.describe(prefix, location, entity)

	switch {
	case im.SkipReview:
	case im.TrustHTTPS && isHTTPS(location):
		im.printf("Trusting %q for %s without fingerprint review.\n", location, scopeOf(prefix))
	default:
		if im.Review == nil {
			return Result{}, fmt.Errorf("key %s needs a review but none is possible: use --skip-fingerprint-review", fingerprint)
		}
		ok, err := im.Review(prefix, location, entity)
		if err != nil {
			return Result{}, err
		}
		if !ok {
			return Result{}, fmt.Errorf("key %s from %s: %w", fingerprint, location, ErrKeyRejected)
		}
		im.printf("Trusting %q for %s.\n", location, scopeOf(prefix))
	}

	var path string
	var err error
	if prefix == "" {
		path, err = im.Keystore.StoreRootKey(entity)
	} else {
		path, err = im.Keystore.StorePrefixKey(prefix, entity)
	}
	if err != nil {
		return Result{}, err
	}

	if prefix == "" {
		im.printf("Added root key at %q\n", path)
	} else {
		im.printf("Added key for prefix %q at %q\n", prefix, path)
	}
	return Result{Location: location, Fingerprint: fingerprint, Path: path}, nil
}

// describe prints what rkt prints before its review question.
func (im *Importer) describe(prefix, location string, entity *openpgp.Entity) {
	if prefix == "" {
		im.printf("Root key\n")
	} else {
		im.printf("Prefix: %q\n", prefix)
	}
	im.printf("Key: %q\n", location)
	im.printf("GPG key fingerprint is: %s\n", FormatFingerprint(Fingerprint(entity)))
	for _, identity := range signerOf(entity).Identities {
		im.printf("\t%s\n", identity)
	}
}

func (im *Importer) printf(format string, args ...any) {
	if im.Out != nil {
		fmt.Fprintf(im.Out, format, args...)
	}
}

func scopeOf(prefix string) string {
	if prefix == "" {
		return "all images (root key)"
	}
	return fmt.Sprintf("prefix %q", prefix)
}

func isHTTPS(location string) bool {
	u, err := url.Parse(location)
	return err == nil && u.Scheme == "https"
}

// IsTerminal reports whether the file is a terminal.
func IsTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// TerminalReview returns a ReviewFunc that prints the question on out and
// reads the answer from in. In must be a terminal, because rkt takes no trust
// decision from a pipe or a file.
func TerminalReview(in *os.File, out io.Writer) ReviewFunc {
	return func(prefix, location string, key *openpgp.Entity) (bool, error) {
		if !IsTerminal(in) {
			return false, fmt.Errorf("key %s needs a review, but standard input is not a terminal: run rkt trust on a terminal, or pass --skip-fingerprint-review after checking the fingerprint", Fingerprint(key))
		}
		return AskYesNo(in, out)
	}
}

// AskYesNo prints "Are you sure you want to trust this key (yes/no)?" until
// the answer is "yes" or "no" (any case). End of input is an error.
func AskYesNo(in io.Reader, out io.Writer) (bool, error) {
	reader := bufio.NewReader(in)
	for {
		fmt.Fprint(out, "Are you sure you want to trust this key (yes/no)?\n")
		line, err := reader.ReadString('\n')
		answer := strings.ToLower(strings.TrimSpace(line))
		switch answer {
		case "yes":
			return true, nil
		case "no":
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("read answer to key review: %w", err)
		}
		fmt.Fprint(out, "Please enter 'yes' or 'no'\n")
	}
}

// ErrKeysExist is returned by DiscoverImageKeys when keys are already stored
// for the image name or one of its prefixes.
var ErrKeysExist = errors.New("keys already exist for prefix")

// DiscoverImageKeys adds the keys of an image fetched by name. When no key is
// stored for the name or one of its prefixes, it discovers the keys through
// ac-discovery-pubkeys and adds them for the full image name, with the
// importer's review rules. rkt prints a failure of this step and goes on with
// the fetch, so that the signature check decides.
func (im *Importer) DiscoverImageKeys(ctx context.Context, name string) ([]Result, error) {
	exist, err := im.Keystore.HasPrefixKeys(name)
	if err != nil {
		return nil, err
	}
	if exist {
		return nil, fmt.Errorf("%w %q", ErrKeysExist, name)
	}
	results, err := im.AddPrefixKeys(ctx, name, nil)
	if err != nil {
		return results, fmt.Errorf("add discovered keys for %q: %w", name, err)
	}
	return results, nil
}

// DiscoverKeys is DiscoverImageKeys without the results, in the form of the
// fetch.Fetcher.DiscoverKeys hook.
func (im *Importer) DiscoverKeys(ctx context.Context, name string) error {
	_, err := im.DiscoverImageKeys(ctx, name)
	return err
}

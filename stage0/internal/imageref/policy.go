package imageref

import "fmt"

// PullPolicy decides when an image is downloaded instead of taken from the store.
type PullPolicy int

const (
	// PullNew uses a stored image when one matches, else downloads it.
	// It is the default of rkt run and rkt prepare.
	PullNew PullPolicy = iota
	// PullUpdate downloads the image unless the HTTP cache record shows it unchanged.
	// It is the default of rkt fetch.
	PullUpdate
	// PullNever uses the store only.
	PullNever
)

// ParsePullPolicy parses the value of --pull-policy.
func ParsePullPolicy(s string) (PullPolicy, error) {
	switch s {
	case "new":
		return PullNew, nil
	case "update":
		return PullUpdate, nil
	case "never":
		return PullNever, nil
	}
	return 0, fmt.Errorf("invalid pull policy %q: use new, update or never", s)
}

// String returns the --pull-policy spelling of p.
func (p PullPolicy) String() string {
	switch p {
	case PullNew:
		return "new"
	case PullUpdate:
		return "update"
	case PullNever:
		return "never"
	}
	return fmt.Sprintf("PullPolicy(%d)", int(p))
}

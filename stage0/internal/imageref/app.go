package imageref

import (
	"fmt"
	"net/url"
	"runtime"
	"slices"
	"sort"
	"strings"

	"github.com/appc/spec/schema/common"
	"github.com/appc/spec/schema/types"
)

// App is an image name with labels, such as "example.com/app:1.0,os=linux".
// It has the fields of App in github.com/appc/spec/discovery v0.8.11.
type App struct {
	Name   types.ACIdentifier
	Labels map[types.ACIdentifier]string
}

// NewApp returns the App of an image name and its labels. A nil labels map
// is replaced by an empty one.
func NewApp(name string, labels map[types.ACIdentifier]string) (*App, error) {
	if labels == nil {
		labels = map[types.ACIdentifier]string{}
	}
	id, err := types.NewACIdentifier(name)
	if err != nil {
		return nil, err
	}
	return &App{Name: *id, Labels: labels}, nil
}

// ParseApp parses an image argument "name[:version][,label=value…]". The
// version after the colon becomes the "version" label. It accepts and rejects
// what NewAppFromString of github.com/appc/spec/discovery v0.8.11 does, with
// the same messages.
func ParseApp(s string) (*App, error) {
	if err := checkColon(s); err != nil {
		return nil, err
	}
	query, err := common.MakeQueryString("name=" + strings.Replace(s, ":", ",version=", 1))
	if err != nil {
		return nil, err
	}
	values, err := url.ParseQuery(query)
	if err != nil {
		return nil, err
	}
	var name string
	labels := make(map[types.ACIdentifier]string, len(values))
	for key, val := range values {
		if len(val) > 1 {
			return nil, fmt.Errorf("label %s with multiple values %q", key, val)
		}
		if key == "name" {
			name = val[0]
			continue
		}
		labelName, err := types.NewACIdentifier(key)
		if err != nil {
			return nil, err
		}
		labels[*labelName] = val[0]
	}
	return NewApp(name, labels)
}

// checkColon allows one colon, directly after the name.
func checkColon(s string) error {
	firstComma := strings.IndexRune(s, ',')
	firstColon := strings.IndexRune(s, ':')
	if firstColon > firstComma && firstComma > -1 {
		return fmt.Errorf("malformed app string - colon may appear only right after the app name")
	}
	if strings.Count(s, ":") > 1 {
		return fmt.Errorf("malformed app string - colon may appear at most once")
	}
	return nil
}

// LabelList returns the labels sorted by name.
func (a *App) LabelList() types.Labels {
	labels := make(types.Labels, 0, len(a.Labels))
	for name, value := range a.Labels {
		labels = append(labels, types.Label{Name: name, Value: value})
	}
	sort.Slice(labels, func(i, j int) bool { return labels[i].Name < labels[j].Name })
	return labels
}

// String returns "name,version=…,os=…,arch=…,other=…" with the labels in a
// fixed order: version, os and arch first, then the rest by name.
func (a *App) String() string {
	first := []types.ACIdentifier{"version", "os", "arch"}
	var rest []types.ACIdentifier
	for name := range a.Labels {
		if !slices.Contains(first, name) {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	var b strings.Builder
	b.WriteString(a.Name.String())
	for _, name := range append(first, rest...) {
		if value, ok := a.Labels[name]; ok {
			fmt.Fprintf(&b, ",%s=%s", name, value)
		}
	}
	return b.String()
}

// HostArch returns the appc arch label of the host, GOARCH mapped to appc
// names.
func HostArch() string {
	switch runtime.GOARCH {
	case "386":
		return "i386"
	case "arm64":
		return "aarch64"
	case "arm":
		// NOTE: GOARM is not visible at run time, so arm maps to armv7l.
		return "armv7l"
	}
	return runtime.GOARCH
}

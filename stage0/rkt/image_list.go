package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rktfly/rkt/stage0/internal/store"
)

// imageTimeLayout is rkt's layout of absolute times.
const imageTimeLayout = "2006-01-02 15:04:05.999 -0700 MST"

// imageListOptions are the flags of `rkt image list`.
type imageListOptions struct {
	fields   []string
	sortBy   []string
	order    string
	full     bool
	noLegend bool
	format   string
}

// imageListField is one column of `rkt image list`.
type imageListField struct {
	name   string
	header string
}

var imageListFields = []imageListField{
	{name: "id", header: "ID"},
	{name: "name", header: "NAME"},
	{name: "size", header: "SIZE"},
	{name: "importtime", header: "IMPORT TIME"},
	{name: "lastused", header: "LAST USED"},
}

// imageJSON is one entry of `rkt image list --format=json`. Times are Unix
// nanoseconds.
type imageJSON struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	ImportTime   int64  `json:"import_time"`
	LastUsedTime int64  `json:"last_used_time"`
	Size         int64  `json:"size"`
}

var (
	imageListFlags imageListOptions

	cmdImageList = &cobra.Command{
		Use:   "list",
		Short: "List images in the local image store",
		Args:  cobra.NoArgs,
		RunE:  runWrapper(runImageList),
	}
)

func init() {
	flags := cmdImageList.Flags()
	flags.StringSliceVar(&imageListFlags.fields, "fields", []string{"id", "name", "size", "importtime", "lastused"},
		"comma-separated columns to print: id, name, size, importtime, lastused")
	flags.StringSliceVar(&imageListFlags.sortBy, "sort", []string{"importtime"}, "comma-separated columns to sort by: name, importtime, lastused, size")
	flags.StringVar(&imageListFlags.order, "order", "asc", "sort order: asc or desc")
	flags.BoolVar(&imageListFlags.full, "full", false, "print full image IDs, sizes in bytes and absolute times")
	flags.BoolVar(&imageListFlags.noLegend, "no-legend", false, "omit the header line")
	flags.StringVar(&imageListFlags.format, "format", "", `output format: "" (table), json or json-pretty`)
	cmdImage.AddCommand(cmdImageList)
}

func runImageList(cmd *cobra.Command, args []string) error {
	opts := imageListFlags
	if err := checkImageListOptions(opts); err != nil {
		return err
	}
	st, _, err := openImageStore(cmd)
	if err != nil {
		return err
	}
	defer st.Close()
	images, err := st.Images()
	if err != nil {
		return err
	}
	sortImages(images, opts.sortBy, opts.order == "desc")

	switch opts.format {
	case "json", "json-pretty":
		return printImagesJSON(images, opts.format == "json-pretty")
	}
	return printImagesTable(images, opts, time.Now())
}

func checkImageListOptions(opts imageListOptions) error {
	for _, f := range opts.fields {
		if !validImageField(f) {
			return fmt.Errorf("invalid field %q: use id, name, size, importtime or lastused", f)
		}
	}
	for _, s := range opts.sortBy {
		switch s {
		case "name", "importtime", "lastused", "size":
		default:
			return fmt.Errorf("invalid sort field %q: use name, importtime, lastused or size", s)
		}
	}
	switch opts.order {
	case "asc", "desc":
	default:
		return fmt.Errorf("invalid order %q: use asc or desc", opts.order)
	}
	switch opts.format {
	case "", "json", "json-pretty":
	default:
		return fmt.Errorf("invalid format %q: use json or json-pretty, or omit --format for a table", opts.format)
	}
	return nil
}

func validImageField(name string) bool {
	for _, f := range imageListFields {
		if f.name == name {
			return true
		}
	}
	return false
}

// imageDisplayName is "name:version" when the image has a version label.
func imageDisplayName(img store.ImageInfo) string {
	if v, ok := img.Labels.Get("version"); ok {
		return img.Name + ":" + v
	}
	return img.Name
}

func sortImages(images []store.ImageInfo, by []string, desc bool) {
	less := func(a, b store.ImageInfo) int {
		for _, field := range by {
			var c int
			switch field {
			case "name":
				c = strings.Compare(imageDisplayName(a), imageDisplayName(b))
			case "importtime":
				c = a.ImportTime.Compare(b.ImportTime)
			case "lastused":
				c = a.LastUsed.Compare(b.LastUsed)
			case "size":
				c = compareInt64(a.Size, b.Size)
			}
			if c != 0 {
				return c
			}
		}
		return 0
	}
	sort.SliceStable(images, func(i, j int) bool {
		c := less(images[i], images[j])
		if desc {
			return c > 0
		}
		return c < 0
	})
}

func compareInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func printImagesJSON(images []store.ImageInfo, pretty bool) error {
	out := make([]imageJSON, 0, len(images))
	for _, img := range images {
		out = append(out, imageJSON{
			ID:           img.Key,
			Name:         imageDisplayName(img),
			ImportTime:   img.ImportTime.UnixNano(),
			LastUsedTime: img.LastUsed.UnixNano(),
			Size:         img.Size,
		})
	}
	var data []byte
	var err error
	if pretty {
		data, err = json.MarshalIndent(out, "", "\t")
	} else {
		data, err = json.Marshal(out)
	}
	if err != nil {
		return fmt.Errorf("encode image list: %w", err)
	}
	stdout.Print(string(data))
	return nil
}

func printImagesTable(images []store.ImageInfo, opts imageListOptions, now time.Time) error {
	tw := tabwriter.NewWriter(os.Stdout, 0, 8, 1, '\t', 0)
	if !opts.noLegend {
		headers := make([]string, 0, len(opts.fields))
		for _, name := range opts.fields {
			for _, f := range imageListFields {
				if f.name == name {
					headers = append(headers, f.header)
				}
			}
		}
		fmt.Fprintln(tw, strings.Join(headers, "\t"))
	}
	for _, img := range images {
		cells := make([]string, 0, len(opts.fields))
		for _, name := range opts.fields {
			cells = append(cells, imageCell(img, name, opts.full, now))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

func imageCell(img store.ImageInfo, field string, full bool, now time.Time) string {
	switch field {
	case "id":
		return shortImageID(img.Key, full, 12)
	case "name":
		return imageDisplayName(img)
	case "size":
		if full {
			return fmt.Sprint(img.Size)
		}
		return humanBytes(img.Size)
	case "importtime":
		return humanTime(img.ImportTime, full, now)
	case "lastused":
		return humanTime(img.LastUsed, full, now)
	}
	return ""
}

// humanBytes formats n with IEC units: "512 B", "1.5 KiB", "23 MiB".
func humanBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v := float64(n) / 1024
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if v < 10 {
		return fmt.Sprintf("%.1f %s", v, units[i])
	}
	return fmt.Sprintf("%.0f %s", v, units[i])
}

// humanTime formats t relative to now ("3 minutes ago"), or with imageTimeLayout
// when full is set.
func humanTime(t time.Time, full bool, now time.Time) string {
	if full {
		return t.Format(imageTimeLayout)
	}
	d := now.Sub(t)
	suffix := "ago"
	if d < 0 {
		d, suffix = -d, "from now"
	}
	steps := []struct {
		unit string
		size time.Duration
	}{
		{unit: "year", size: 365 * 24 * time.Hour},
		{unit: "month", size: 30 * 24 * time.Hour},
		{unit: "week", size: 7 * 24 * time.Hour},
		{unit: "day", size: 24 * time.Hour},
		{unit: "hour", size: time.Hour},
		{unit: "minute", size: time.Minute},
		{unit: "second", size: time.Second},
	}
	for _, s := range steps {
		if n := int64(d / s.size); n >= 1 {
			if n == 1 {
				return fmt.Sprintf("1 %s %s", s.unit, suffix)
			}
			return fmt.Sprintf("%d %ss %s", n, s.unit, suffix)
		}
	}
	return "now"
}

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/rktfly/rkt/stage0/internal/podstate"
)

// podTimeLayout is the layout of every absolute time that rkt list and
// rkt status print: the layout of time.Time.String cut to milliseconds.
const podTimeLayout = "2006-01-02 15:04:05.999 -0700 MST"

// Values of --format.
const (
	formatTabbed     = ""
	formatJSON       = "json"
	formatJSONPretty = "json-pretty"
)

// exitUUIDFileUnreadable is the status of status and stop when --uuid-file
// cannot be read, as in rkt.
const exitUUIDFileUnreadable = 1

var (
	cmdList = &cobra.Command{
		Use:   "list",
		Short: "List pods",
		Args:  cobra.NoArgs,
		RunE:  runWrapper(runList),
	}
	flagListFull     bool
	flagListNoLegend bool
	flagListFormat   string
)

func init() {
	cmdRkt.AddCommand(cmdList)
	cmdList.Flags().BoolVar(&flagListFull, "full", false, "use long output format")
	cmdList.Flags().BoolVar(&flagListNoLegend, "no-legend", false, "suppress a legend with the list")
	cmdList.Flags().StringVar(&flagListFormat, "format", "", "choose the output format, allowed format includes 'json', 'json-pretty'. If empty, then the result is printed as key value pairs")
}

func runList(cmd *cobra.Command, args []string) error {
	if err := checkFormat(flagListFormat); err != nil {
		return err
	}
	dir, err := dataDir()
	if err != nil {
		return err
	}
	notices := warnLogger(cmd)
	pods, err := podstate.List(dir, podstate.ListOptions{
		Skipped: func(path, reason string) { notices.Printf("skipping %s: %s", path, reason) },
	})
	if err != nil {
		return err
	}

	var problems []error
	var summaries []*podstate.Summary
	for _, p := range pods {
		s, err := p.Summarize()
		if errors.Is(err, podstate.ErrPodGone) {
			continue
		}
		if err != nil {
			problems = append(problems, err)
			continue
		}
		problems = append(problems, s.Problems...)
		summaries = append(summaries, s)
	}

	if flagListFormat == formatTabbed {
		err = writePodTable(summaries, time.Now())
	} else {
		var jsonProblems []error
		jsonProblems, err = writePodsJSON(summaries, flagListFormat)
		problems = append(problems, jsonProblems...)
	}
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		for _, problem := range problems {
			notices.Print(problem)
		}
		return &exitCodeError{code: exitFailure}
	}
	return nil
}

func writePodTable(summaries []*podstate.Summary, now time.Time) error {
	tw := tabwriter.NewWriter(os.Stdout, 0, 8, 1, '\t', 0)
	if !flagListNoLegend {
		if flagListFull {
			fmt.Fprintln(tw, "UUID\tAPP\tIMAGE NAME\tIMAGE ID\tSTATE\tCREATED\tSTARTED\tNETWORKS")
		} else {
			fmt.Fprintln(tw, "UUID\tAPP\tIMAGE NAME\tSTATE\tCREATED\tSTARTED\tNETWORKS")
		}
	}
	for _, s := range summaries {
		id := s.Pod.UUID
		if !flagListFull {
			id = id[:8]
		}
		created, started := listTime(s.CreatedAt, now), listTime(s.StartedAt, now)
		networks := formatNetworks(s.Networks)
		apps := s.Apps
		if len(apps) == 0 {
			apps = []podstate.AppSummary{{Name: "-", ImageName: "-", ImageID: "-"}}
		}
		for i, app := range apps {
			podColumns := []string{id, s.Pod.State, created, started, networks}
			if i > 0 {
				podColumns = []string{"", "", "", "", ""}
			}
			columns := []string{podColumns[0], app.Name, app.ImageName}
			if flagListFull {
				columns = append(columns, listImageID(app.ImageID))
			}
			columns = append(columns, podColumns[1:]...)
			fmt.Fprintln(tw, strings.Join(columns, "\t"))
		}
	}
	return tw.Flush()
}

// listTime formats a time for the CREATED and STARTED columns: relative
// ("2 minutes ago"), or absolute with --full, and blank when zero.
func listTime(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	if flagListFull {
		return t.Format(podTimeLayout)
	}
	return humanize.RelTime(t, now, "ago", "from now")
}

// listImageID returns "sha512-" and the first 12 hex digits of an image ID.
func listImageID(id string) string {
	const length = len("sha512-") + 12
	if len(id) > length {
		return id[:length]
	}
	return id
}

// formatNetworks joins networks as "name:ip4=IP, …".
func formatNetworks(networks []podstate.NetInfo) string {
	var parts []string
	for _, n := range networks {
		ip := ""
		if n.IP != nil && !n.IP.Equal(net.IP{}) {
			ip = n.IP.String()
		}
		parts = append(parts, fmt.Sprintf("%s:ip4=%s", n.NetName, ip))
	}
	return strings.Join(parts, ", ")
}

// writePodsJSON prints the pods as a JSON array. Pods that cannot be
// converted are left out and returned as problems, unless they are in
// transition, because a pod that is being prepared has no pod-created yet.
func writePodsJSON(summaries []*podstate.Summary, format string) ([]error, error) {
	out := []*podstate.PodJSON{}
	var problems []error
	for _, s := range summaries {
		pod, err := s.JSON()
		if err != nil && s.Pod.InTransition() {
			continue
		}
		if err != nil {
			problems = append(problems, err)
			continue
		}
		out = append(out, pod)
	}
	return problems, printJSON(out, format)
}

func printJSON(value any, format string) error {
	var data []byte
	var err error
	if format == formatJSONPretty {
		data, err = json.MarshalIndent(value, "", "\t")
	} else {
		data, err = json.Marshal(value)
	}
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	stdout.Print(string(data))
	return nil
}

func checkFormat(format string) error {
	switch format {
	case formatTabbed, formatJSON, formatJSONPretty:
		return nil
	}
	return fmt.Errorf("unknown format %q, use %q or %q", format, formatJSON, formatJSONPretty)
}

// readUUIDFile returns the UUID saved in path by --uuid-file-save, with
// white space trimmed. Its errors carry exit status 1, as rkt's do.
func readUUIDFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", &exitCodeError{code: exitUUIDFileUnreadable, err: fmt.Errorf("read UUID file: %w", err)}
	}
	id := strings.TrimSpace(string(data))
	if id == "" {
		return "", &exitCodeError{code: exitUUIDFileUnreadable, err: fmt.Errorf("UUID file %s is empty", path)}
	}
	return id, nil
}

// podUUIDArgs returns the UUID prefixes of a command that takes UUID... or
// --uuid-file=FILE, exactly one of the two.
func podUUIDArgs(args []string, uuidFile string) ([]string, error) {
	if uuidFile != "" {
		if len(args) > 0 {
			return nil, errors.New("give pod UUIDs or --uuid-file, not both")
		}
		id, err := readUUIDFile(uuidFile)
		if err != nil {
			return nil, err
		}
		return []string{id}, nil
	}
	if len(args) == 0 {
		return nil, &exitCodeError{code: exitFailure, err: errors.New("missing pod UUID"), usage: true}
	}
	return args, nil
}

// actOnPods looks up each UUID prefix in the data directory dir and calls act
// on the pod found. It logs each failed lookup and each error of act to
// notices, goes on with the next prefix, and reports whether any failed.
func actOnPods(dir string, prefixes []string, notices *log.Logger, act func(*podstate.Pod) error) (failed bool) {
	for _, prefix := range prefixes {
		p, err := podstate.GetByPrefix(dir, prefix)
		if err != nil {
			notices.Printf("cannot get pod: %v", err)
			failed = true
			continue
		}
		if err := act(p); err != nil {
			notices.Print(err)
			failed = true
		}
	}
	return failed
}

// onePodUUIDArg is podUUIDArgs for commands that take a single pod.
func onePodUUIDArg(args []string, uuidFile string) (string, error) {
	ids, err := podUUIDArgs(args, uuidFile)
	if err != nil {
		return "", err
	}
	if len(ids) != 1 {
		return "", &exitCodeError{code: exitFailure, err: errors.New("give exactly one pod UUID"), usage: true}
	}
	return ids[0], nil
}

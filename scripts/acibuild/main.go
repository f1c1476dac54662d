// Command acibuild writes a deterministic ACI from an image manifest and a
// rootfs directory, using package internal/aciwriter. The build scripts call
// it for stage1-fly.aci and the test images.
//
// Usage:
//
//	acibuild -manifest FILE -rootfs DIR -output FILE.aci [-owner PATH=UID:GID]...
//	         [-compression gzip|none] [-keep-owners] [-hard-links] [-print-id]
//
// The output is written to a temporary file next to FILE.aci and renamed
// into place, so an interrupted build leaves no partial image behind.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rktfly/rkt/internal/aciwriter"
)

// ownerFlags collects repeated -owner PATH=UID:GID flags.
type ownerFlags map[string]aciwriter.Owner

func (o ownerFlags) String() string {
	var parts []string
	for p, owner := range o {
		parts = append(parts, fmt.Sprintf("%s=%d:%d", p, owner.UID, owner.GID))
	}
	return strings.Join(parts, ",")
}

func (o ownerFlags) Set(value string) error {
	p, ids, ok := strings.Cut(value, "=")
	if !ok || p == "" {
		return fmt.Errorf("owner %q: expected PATH=UID:GID", value)
	}
	uidText, gidText, ok := strings.Cut(ids, ":")
	if !ok {
		return fmt.Errorf("owner %q: expected PATH=UID:GID", value)
	}
	uid, err := strconv.Atoi(uidText)
	if err != nil {
		return fmt.Errorf("owner %q: uid: %w", value, err)
	}
	gid, err := strconv.Atoi(gidText)
	if err != nil {
		return fmt.Errorf("owner %q: gid: %w", value, err)
	}
	o[p] = aciwriter.Owner{UID: uid, GID: gid}
	return nil
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "acibuild: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	flags := flag.NewFlagSet("acibuild", flag.ContinueOnError)
	manifestPath := flags.String("manifest", "", "image manifest `file` (JSON)")
	rootfs := flags.String("rootfs", "", "rootfs `directory`")
	output := flags.String("output", "", "ACI `file` to write")
	compression := flags.String("compression", "gzip", "compression: gzip or none")
	keepOwners := flags.Bool("keep-owners", false, "store file owners as found on disk instead of root:root")
	hardLinks := flags.Bool("hard-links", false, "store files that share an inode as hard links")
	printID := flags.Bool("print-id", false, "print the image ID (sha512 of the uncompressed tar) on stdout")
	owners := ownerFlags{}
	flags.Var(owners, "owner", "set the owner of one rootfs `PATH=UID:GID` (repeatable)")
	if err := flags.Parse(args); err != nil {
		return err
	}

	if *manifestPath == "" || *rootfs == "" || *output == "" {
		return fmt.Errorf("missing flag: -manifest, -rootfs and -output are required")
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flags.Args())
	}
	comp, err := aciwriter.ParseCompression(*compression)
	if err != nil {
		return err
	}

	manifest, err := os.ReadFile(*manifestPath)
	if err != nil {
		return err
	}
	opts := aciwriter.Options{
		Compression: comp,
		KeepOwners:  *keepOwners,
		Owners:      owners,
		HardLinks:   *hardLinks,
	}
	if err := writeFile(*output, manifest, *rootfs, opts); err != nil {
		return err
	}
	if *printID {
		return printImageID(*output)
	}
	return nil
}

// writeFile writes the ACI to a temporary file in the directory of output
// and renames it to output once complete.
func writeFile(output string, manifest []byte, rootfs string, opts aciwriter.Options) error {
	tmp, err := os.CreateTemp(filepath.Dir(output), ".acibuild-*.aci")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := aciwriter.Write(tmp, manifest, rootfs, opts); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", output, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), output)
}

func printImageID(aciPath string) error {
	f, err := os.Open(aciPath)
	if err != nil {
		return err
	}
	defer f.Close()
	id, err := aciwriter.ImageID(f)
	if err != nil {
		return fmt.Errorf("image ID of %s: %w", aciPath, err)
	}
	fmt.Println(id)
	return nil
}

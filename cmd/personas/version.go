package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/personaregistry/personas/server"
)

func init() {
	extraCommands = append(extraCommands, newVersionCmd)
}

// readBuild describes this binary from the build information the Go
// toolchain embeds: the module version (v1.2.3 for `go install …@v1.2.3`,
// (devel) or a pseudo-version for a local build) and, when built inside a
// git checkout, the commit, its time and whether the tree was modified.
func readBuild() server.Build {
	b := server.Build{Version: "(devel)", GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if v := info.Main.Version; v != "" {
		b.Version = v
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.VCSTime = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// versionLine is the one-line text form, e.g.
// "personas v1.2.3 (rev 0123abcd…, 2026-12-01T10:00:00Z, modified) go1.26.8 linux/amd64".
func versionLine(b server.Build) string {
	vcs := "no VCS information"
	if b.Revision != "" {
		parts := []string{"rev " + b.Revision}
		if b.VCSTime != "" {
			parts = append(parts, b.VCSTime)
		}
		if b.Modified {
			parts = append(parts, "modified")
		}
		vcs = strings.Join(parts, ", ")
	}
	return fmt.Sprintf("personas %s (%s) %s %s", b.Version, vcs, b.GoVersion, b.Platform)
}

func newVersionCmd(*globalFlags) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "version [--format text|json]",
		Short: "Print the version, VCS revision and Go version of this binary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b := readBuild()
			switch format {
			case "text":
				fmt.Fprintln(cmd.OutOrStdout(), versionLine(b))
				return nil
			case "json":
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(b)
			}
			return usageError("--format %q: want text or json", format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// setVersionFlag makes `personas --version` print the text form.
func setVersionFlag(root *cobra.Command) {
	root.Version = versionLine(readBuild())
	root.SetVersionTemplate("{{.Version}}\n")
}

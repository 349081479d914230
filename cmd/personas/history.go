package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/personaregistry/personas/registry"
	"github.com/personaregistry/personas/server"
)

func init() {
	extraCommands = append(extraCommands, newExportCmd, newLogCmd, newShowCmd)
}

// openSnapshot reads the branch's history into a snapshot (using the cache),
// with a progress bar on stderr when it is a terminal.
func openSnapshot(cmd *cobra.Command, g *globalFlags) (*registry.Snapshot, error) {
	return openSnapshotTo(cmd.Context(), cmd.ErrOrStderr(), g)
}

// openSnapshotTo is openSnapshot with the history walk's progress shown on
// stderr when it is a terminal.
func openSnapshotTo(ctx context.Context, stderr io.Writer, g *globalFlags) (*registry.Snapshot, error) {
	bar := newProgressBar(stderr)
	defer paceWalk(ctx)()
	reg, err := registry.Open(registry.Options{Repo: g.repo, Branch: g.branch, Dir: g.dir, UnitTests: g.unitTests,
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Progress: bar.progressFunc(), OneShot: true})
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	defer reg.Close()
	snap, err := reg.Refresh(ctx)
	bar.finish()
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	return snap, nil
}

func newExportCmd(g *globalFlags) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "export [--format json]",
		Short: "Print every persona and version of the branch as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "json" {
				return usageError("--format %q: only json is supported", format)
			}
			snap, err := openSnapshot(cmd, g)
			if err != nil {
				return err
			}
			defer paceWalk(cmd.Context())() // encoding every version allocates much, too
			w := bufio.NewWriterSize(cmd.OutOrStdout(), 1<<20)
			if err := server.WriteExport(w, snap, g.org); err != nil {
				return err
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&format, "format", "json", "output format (json)")
	return cmd
}

// findPersona looks a persona up by id, else by live name.
func findPersona(snap *registry.Snapshot, idOrName string) (*registry.Persona, error) {
	if p, ok := snap.Persona(idOrName); ok {
		return p, nil
	}
	if p, ok := snap.PersonaByName(idOrName); ok {
		return p, nil
	}
	return nil, &exitError{code: exitFindings, err: fmt.Errorf("no persona with id or name %q on this branch", idOrName)}
}

// loadPersona indexes the branch and finds one persona by id or name.
func loadPersona(cmd *cobra.Command, g *globalFlags, idOrName string) (*registry.Persona, error) {
	snap, err := openSnapshot(cmd, g)
	if err != nil {
		return nil, err
	}
	return findPersona(snap, idOrName)
}

func newLogCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "log ID|NAME",
		Short: "List the versions of one persona: version, date, author, commit, subject",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := loadPersona(cmd, g, args[0])
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			state := "live"
			if p.IsDeleted {
				state = "deleted"
			}
			fmt.Fprintf(w, "%s %s (%s, %s)\n", p.ID, p.Name, state, p.Path)
			for i := len(p.Versions) - 1; i >= 0; i-- {
				v := p.Versions[i]
				fmt.Fprintf(w, "v%-4d %s  %-28s %s  %s\n", v.Number, v.CreatedAt.Format("2006-01-02 15:04:05Z"), v.Creator, v.Commit[:12], v.Subject)
			}
			return nil
		},
	}
}

func newShowCmd(g *globalFlags) *cobra.Command {
	var version string
	cmd := &cobra.Command{
		Use:   "show ID|NAME [--version N|latest]",
		Short: "Print one version of a persona as YAML, with its metadata",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := loadPersona(cmd, g, args[0])
			if err != nil {
				return err
			}
			v := p.Latest()
			if version != "latest" {
				n, err := strconv.Atoi(version)
				if err != nil || n < 1 {
					return usageError("--version %q: want a number ≥ 1 or latest", version)
				}
				if n > len(p.Versions) {
					return &exitError{code: exitFindings, err: fmt.Errorf("%s has %d versions; there is no version %d", p.Name, len(p.Versions), n)}
				}
				v = p.Versions[n-1]
			}
			doc := map[string]any{
				"persona":  server.NewPersonaInstance(p, g.org),
				"version":  server.NewPersonaVersion(p, v, g.org, false),
				"path":     p.Path,
				"versions": len(p.Versions),
			}
			raw, _ := json.Marshal(doc)
			var generic any
			_ = json.Unmarshal(raw, &generic)
			enc := yaml.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent(2)
			defer enc.Close()
			return enc.Encode(generic)
		},
	}
	cmd.Flags().StringVar(&version, "version", "latest", "version number or latest")
	return cmd
}

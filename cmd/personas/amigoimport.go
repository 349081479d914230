package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/personaregistry/personas/server/client"
)

func newAmigoImportCmd(g *globalFlags, a *amigoFlags) *cobra.Command {
	var progress string
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Write an Amigo org's personas and versions into git, as history",
		Long: `Read every persona of the Amigo org (deleted ones too) with every version
and write them into --branch of --repo (created when it does not exist) as
commits in the order things happened: each version a commit dated at its
created_at and authored by its creator, then the name/role/tags state and
deletions. The persona's Amigo id is the file's id. Run again, it adds only
what changed since, and refuses (naming the persona) when git and Amigo
disagree about a version both have.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var pw io.Writer
			if f, ok := cmd.ErrOrStderr().(*os.File); (ok && isTerminal(f) && progress == "auto") || progress == "always" {
				pw = cmd.ErrOrStderr()
			}
			return runAmigoImport(cmd.Context(), cmd.OutOrStdout(), pw, g, a)
		},
	}
	cmd.Flags().StringVar(&progress, "progress", "auto", "progress on stderr: auto (on a terminal), always, never")
	return cmd
}

func runAmigoImport(ctx context.Context, out, progress io.Writer, g *globalFlags, a *amigoFlags) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	created, err := ensureRepo(g.repo, g.branch)
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("repository %s: %w", g.repo, err)}
	}
	snap, err := openSnapshotTo(ctx, progress, g)
	if err != nil {
		return err
	}
	src, err := readSource(ctx, c, progress)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	commits, st, err := planImport(snap, src, g.dir)
	if err != nil {
		return &exitError{code: exitFindings, err: err}
	}
	if len(commits) == 0 {
		fmt.Fprintf(out, "Nothing to import: %s (%s) already holds the %d personas of Amigo org %s.\n",
			g.branch, shortCommit(snap.Head), st.personas, c.Org())
		return nil
	}
	tip, err := writeCommits(g.repo, g.branch, snap.Head, commits)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if err := updateWorktree(g.repo, g.branch, snap.Head, tip); err != nil && !created {
		fmt.Fprintf(out, "warning: %s moved but the worktree was not updated (%v); run git reset --keep %s\n", g.branch, err, g.branch)
	}
	rs := c.RateState()
	fmt.Fprintf(out, "Imported Amigo org %s into %s: %d personas read (%d new); %d versions, %d updates, %d deletions, %d restores in %d commits; %s is at %s. %d requests (%d retried, %d throttled).\n",
		c.Org(), g.repo, st.personas, st.newPersonas, st.versions, st.updates, st.deletions, st.restores, len(commits),
		g.branch, shortCommit(tip), rs.Requests, rs.Retries, rs.Throttled)
	return nil
}

// readSource reads every persona (deleted ones too) and every version,
// oldest persona first, showing progress when progress is not nil.
func readSource(ctx context.Context, c *client.Client, progress io.Writer) ([]*sourcePersona, error) {
	var src []*sourcePersona
	for p, err := range c.Personas(ctx, client.ListParams{}) {
		if err != nil {
			return nil, fmt.Errorf("list the org's personas: %w", err)
		}
		src = append(src, &sourcePersona{Persona: p})
		if progress != nil && len(src)%50 == 0 {
			fmt.Fprintf(progress, "\rlisting personas: %d", len(src))
		}
	}
	slices.SortStableFunc(src, func(a, b *sourcePersona) int {
		if n := a.CreatedAt.Compare(b.CreatedAt); n != 0 {
			return n
		}
		return cmpString(a.ID, b.ID)
	})
	start, last, versions := time.Now(), time.Time{}, 0
	for i, p := range src {
		for v, err := range c.AllVersions(ctx, p.ID, client.VersionParams{}) {
			if err != nil {
				return nil, fmt.Errorf("versions of persona %q (%s): %w", p.Name, p.ID, err)
			}
			p.Versions = append(p.Versions, v)
		}
		versions += len(p.Versions)
		if progress != nil && (time.Since(last) > time.Second || i == len(src)-1) {
			last = time.Now()
			done := i + 1
			rate := float64(done) / time.Since(start).Seconds()
			eta := time.Duration(float64(len(src)-done) / rate * float64(time.Second)).Round(time.Second)
			st := c.RateState()
			fmt.Fprintf(progress, "\rpersonas %d/%d, versions %d, %.1f personas/s, ETA %s, throttled %d   ",
				done, len(src), versions, rate, eta, st.Throttled)
		}
	}
	if progress != nil {
		fmt.Fprintln(progress)
	}
	return src, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/personaregistry/personas/server/client"
)

// maxSyncRounds bounds the re-plans after writes whose answer was lost.
const maxSyncRounds = 5

func newAmigoSyncCmd(g *globalFlags, a *amigoFlags) *cobra.Command {
	var plan, force bool
	cmd := &cobra.Command{
		Use:   "sync [--plan] [--force]",
		Short: "Make an Amigo org match the branch: create, version, retag, delete",
		Long: `Make the Amigo org match --branch of --repo: create the personas Amigo
lacks, add a version where the latest content differs, retag, replace a
renamed persona (the API cannot rename), delete what git deleted. Each Amigo
persona made by sync carries the tag personas_sync: "<git id> <state hash>";
a persona changed in Amigo since the last sync is reported as drift and left
alone unless --force. --plan prints what would be done and changes nothing.
Exit status: 0 in sync, 1 drift or failed calls, 2 usage or read errors.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAmigoSync(cmd.Context(), cmd.OutOrStdout(), g, a, plan, force)
		},
	}
	cmd.Flags().BoolVar(&plan, "plan", false, "print what would be done; change nothing")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite personas changed in Amigo since the last sync")
	return cmd
}

func runAmigoSync(ctx context.Context, out io.Writer, g *globalFlags, a *amigoFlags, plan, force bool) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	snap, err := openSnapshotTo(ctx, io.Discard, g)
	if err != nil {
		return err
	}
	if snap.Head == "" {
		return usageError("branch %q of %s has no commit: nothing to sync from (see --branch)", g.branch, g.repo)
	}
	view := &amigoView{c: c, cache: map[string]*client.Version{}}
	var total syncResult
	for round := 1; ; round++ {
		if err := view.read(ctx); err != nil {
			return &exitError{code: exitUsage, err: err}
		}
		actions, err := planSync(ctx, snap, view, force)
		if err != nil {
			return &exitError{code: exitUsage, err: err}
		}
		if plan {
			printPlan(out, actions, g.branch, snap.Head)
			return syncExit(actions, 0)
		}
		res := applySync(ctx, c, actions, out)
		for _, a := range actions {
			if a.changes() {
				view.forget(a.AmigoID)
			}
		}
		total.calls += res.calls
		total.failed += res.failed
		if res.unknown && round == maxSyncRounds {
			total.failed++
			fmt.Fprintf(out, "Answers still lost after %d rounds: run sync again.\n", round)
		}
		if !res.unknown || round == maxSyncRounds {
			res = total
			st := c.RateState()
			fmt.Fprintf(out, "Synced %s (%s) to Amigo org %s: %d calls, %d failed; %d requests (%d retried, %d throttled).\n",
				g.branch, shortCommit(snap.Head), c.Org(), res.calls, res.failed, st.Requests, st.Retries, st.Throttled)
			return syncExit(actions, res.failed)
		}
		fmt.Fprintln(out, "A write's answer was lost: reading the org back and planning again.")
	}
}

// syncExit is 1 when drift was left alone or a call failed.
func syncExit(actions []*syncAction, failed int) error {
	drift := 0
	for _, a := range actions {
		if a.Op == "drift" || a.Op == "invalid" {
			drift++
		}
	}
	if drift > 0 || failed > 0 {
		return &exitError{code: exitFindings, err: fmt.Errorf("%d personas drifted or invalid, %d calls failed", drift, failed)}
	}
	return nil
}

func shortCommit(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

var opSigns = map[string]string{"create": "+", "version": "~", "retag": "~", "replace": "-/+", "delete": "-",
	"drift": "!", "unmanaged": "?", "invalid": "!"}

func (a *syncAction) String() string {
	ids := "git " + a.GitID
	if a.GitID == "" {
		ids = "amigo " + a.AmigoID
	} else if a.AmigoID != "" && a.AmigoID != a.GitID {
		ids += ", amigo " + a.AmigoID
	}
	s := fmt.Sprintf("%-3s %-9s %q (%s)", opSigns[a.Op], a.Op, a.Name, ids)
	if a.Detail != "" {
		s += ": " + a.Detail
	}
	return s
}

// printPlan prints every action and a count per kind.
func printPlan(out io.Writer, actions []*syncAction, branch, head string) {
	counts := map[string]int{}
	for _, a := range actions {
		fmt.Fprintln(out, a)
		counts[a.Op]++
	}
	var parts []string
	for _, op := range []string{"create", "version", "retag", "replace", "delete"} {
		if counts[op] > 0 {
			parts = append(parts, fmt.Sprintf("%d to %s", counts[op], op))
		}
	}
	for _, op := range []string{"drift", "invalid", "unmanaged"} {
		if counts[op] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s (left alone)", counts[op], map[string]string{"drift": "drifted", "invalid": "invalid", "unmanaged": "unmanaged"}[op]))
		}
	}
	if counts["create"]+counts["version"]+counts["retag"]+counts["replace"]+counts["delete"] == 0 {
		if counts["drift"]+counts["invalid"] == 0 {
			fmt.Fprintf(out, "No changes: the Amigo org matches %s (%s)", branch, shortCommit(head))
		} else {
			fmt.Fprintf(out, "Nothing to apply from %s (%s)", branch, shortCommit(head))
		}
		if len(parts) > 0 {
			fmt.Fprintf(out, "; %s", strings.Join(parts, ", "))
		}
		fmt.Fprintln(out, ".")
		return
	}
	fmt.Fprintf(out, "Plan: %s.\n", strings.Join(parts, ", "))
}

// syncResult counts the calls of an apply.
type syncResult struct {
	calls, failed int
	unknown       bool // some write's outcome is unknown: read back and re-plan
}

// applySync runs the actions in three phases — deletes (so names are free),
// creates, then versions and tags — printing each call's result. An action
// whose call fails skips its later phases.
func applySync(ctx context.Context, c *client.Client, actions []*syncAction, out io.Writer) syncResult {
	var res syncResult
	failed := map[*syncAction]bool{}
	printed := map[*syncAction]bool{}
	report := func(a *syncAction, call string, err error) bool {
		res.calls++
		if !printed[a] {
			fmt.Fprintln(out, a)
			printed[a] = true
		}
		switch {
		case err == nil:
			fmt.Fprintf(out, "    %s: ok\n", call)
			return true
		case client.IsOutcomeUnknown(err):
			res.unknown = true
			fmt.Fprintf(out, "    %s: answer lost, will read back: %v\n", call, err)
		default:
			res.failed++
			fmt.Fprintf(out, "    %s: FAILED: %v\n", call, err)
		}
		failed[a] = true
		return false
	}
	for _, a := range actions {
		if !a.changes() {
			fmt.Fprintln(out, a) // drift, invalid, unmanaged: reported, not touched
		}
	}
	for _, a := range actions {
		for _, id := range a.deletes {
			err := c.Delete(ctx, id)
			if client.IsNotFound(err) {
				err = nil // already gone
			}
			if !report(a, "delete "+id, err) {
				break
			}
		}
	}
	for _, a := range actions {
		if a.create == nil || failed[a] {
			continue
		}
		id, err := c.Create(ctx, *a.create)
		if report(a, "create", err) {
			fmt.Fprintf(out, "    → amigo id %s\n", id)
		}
	}
	for _, a := range actions {
		if failed[a] {
			continue
		}
		if a.version != nil {
			_, err := c.CreateVersion(ctx, a.AmigoID, a.expect, *a.version)
			if !report(a, fmt.Sprintf("version %d", a.expect), err) {
				continue
			}
		}
		if a.tags != nil {
			report(a, "tags", c.UpdateTags(ctx, a.AmigoID, a.tags))
		}
	}
	if ctx.Err() != nil {
		res.unknown = false
	}
	return res
}

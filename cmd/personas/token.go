package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/personaregistry/personas/server"
)

func newTokenCmd(g *globalFlags) *cobra.Command {
	tok := &cobra.Command{Use: "token", Short: "Manage API tokens: add, list, revoke"}
	tok.AddCommand(newTokenAddCmd(g), newTokenListCmd(), newTokenRevokeCmd(g))
	return tok
}

func newTokenAddCmd(g *globalFlags) *cobra.Command {
	var file, user, name, expires string
	var perms []string
	add := &cobra.Command{
		Use:   "add --tokens FILE --org O --user EMAIL --name NAME --permission 'P [SELECTOR ...]'... [--expires 90d]",
		Short: "Create a token; print it once and store only its SHA-256",
		Long: `Create a token; print it once and store only its SHA-256.

Each --permission is a grant: a permission, optionally limited to the
personas matching all of its selectors: role=R, tag=K:V, tag=K:* (any
value), tag=K: (null value), path=GLOB (relative to the repository root,
** for any depth). Several grants are alternatives. Example:
  --permission 'Simulation:GetSimulationPersona tag=team:banking'
  --permission 'Simulation:ModifySimulationPersona path=personas/banking/**'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usageError("--tokens FILE is required")
			}
			t := server.Token{Name: name, Org: g.org, User: user, Permissions: perms, Created: time.Now().UTC().Truncate(time.Second)}
			if expires != "" {
				d, err := server.ParseExpiry(expires)
				if err != nil {
					return usageError("--expires: %v", err)
				}
				t.Expires = t.Created.Add(d)
			}
			secret, err := server.AddToken(file, t)
			if err != nil {
				return usageError("%v", err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), secret)
			fmt.Fprintf(cmd.ErrOrStderr(), "token %q for %s in org %s stored in %s; it is shown only now\n", name, user, g.org, file)
			return nil
		},
	}
	f := add.Flags()
	f.StringVar(&file, "tokens", "", "tokens file (created with mode 0600)")
	f.StringVar(&user, "user", "", "user email: the author of the commits this token makes")
	f.StringVar(&name, "name", "", "token name")
	f.StringVar(&expires, "expires", "", "lifetime: 90d, 12h, 30s (default: never expires)")
	f.StringArrayVar(&perms, "permission", nil, "grant 'PERMISSION [SELECTOR ...]' (repeatable); PERMISSION one of "+strings.Join(server.KnownPermissions, ", "))
	return add
}

// tokenListEntry is a token as `token list` shows it: never the secret's hash.
type tokenListEntry struct {
	Name        string     `json:"name"`
	Org         string     `json:"org"`
	User        string     `json:"user"`
	Permissions []string   `json:"permissions"`
	Created     *time.Time `json:"created"`
	Expires     *time.Time `json:"expires"`
	Expired     bool       `json:"expired"`
}

func newTokenListCmd() *cobra.Command {
	var file, format string
	list := &cobra.Command{
		Use:   "list --tokens FILE [--format text|json]",
		Short: "List the tokens of a tokens file (never their secrets or hashes)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usageError("--tokens FILE is required")
			}
			if format != "text" && format != "json" {
				return usageError("--format %q: want text or json", format)
			}
			tokens, err := server.ReadTokens(file)
			if err != nil {
				return usageError("%v", err)
			}
			now := time.Now()
			entries := make([]tokenListEntry, len(tokens))
			for i, t := range tokens {
				e := tokenListEntry{Name: t.Name, Org: t.Org, User: t.User, Permissions: t.Permissions, Expired: t.Expired(now)}
				if e.Permissions == nil {
					e.Permissions = []string{}
				}
				if !t.Created.IsZero() {
					e.Created = &t.Created
				}
				if !t.Expires.IsZero() {
					e.Expires = &t.Expires
				}
				entries[i] = e
			}
			if format == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(entries)
			}
			return printTokens(cmd.OutOrStdout(), entries)
		},
	}
	list.Flags().StringVar(&file, "tokens", "", "tokens file")
	list.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return list
}

// printTokens writes one line per token, then its grants indented.
func printTokens(w io.Writer, entries []tokenListEntry) error {
	stamp := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, e := range entries {
		exp := "never"
		if e.Expires != nil {
			exp = stamp(e.Expires)
		}
		if e.Expired {
			exp += " (EXPIRED)"
		}
		if _, err := fmt.Fprintf(w, "%s  org=%s  user=%s  created=%s  expires=%s\n", e.Name, e.Org, e.User, stamp(e.Created), exp); err != nil {
			return err
		}
		for _, p := range e.Permissions {
			fmt.Fprintf(w, "    %s\n", p)
		}
		if len(e.Permissions) == 0 {
			fmt.Fprintln(w, "    (no permissions)")
		}
	}
	return nil
}

func newTokenRevokeCmd(g *globalFlags) *cobra.Command {
	var file string
	revoke := &cobra.Command{
		Use:   "revoke --tokens FILE [--org O] NAME",
		Short: "Remove a token; running servers drop it within two seconds",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return usageError("--tokens FILE is required")
			}
			if err := server.RevokeToken(file, g.org, args[0]); err != nil {
				return usageError("%v", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "token %q of org %s revoked in %s\n", args[0], g.org, file)
			return nil
		},
	}
	revoke.Flags().StringVar(&file, "tokens", "", "tokens file")
	return revoke
}

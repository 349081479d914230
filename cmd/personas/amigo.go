package main

import (
	"github.com/spf13/cobra"

	"github.com/personaregistry/personas/registry"
	"github.com/personaregistry/personas/server/client"
)

func init() {
	extraCommands = append(extraCommands, newAmigoCmd)
}

// amigoFlags say which Amigo org to call and how.
type amigoFlags struct {
	baseURL, org, token string
	perMinute           int
}

func newAmigoCmd(g *globalFlags) *cobra.Command {
	a := &amigoFlags{}
	cmd := &cobra.Command{
		Use:   "amigo",
		Short: "Import personas from Amigo into git, or sync an Amigo org from git",
		Long: `Talk to Amigo's persona API (or any server of the same API, such as
personas serve). Credentials come from --token, or from the environment as
Amigo's SDKs read it: AMIGO_TOKEN (a bearer token), or AMIGO_API_KEY,
AMIGO_API_KEY_ID and AMIGO_USER_ID (exchanged for a token at sign-in and
renewed before it expires); AMIGO_BASE_URL and AMIGO_ORGANIZATION_ID give
--base-url and --amigo-org.`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&a.baseURL, "base-url", "", "API base URL (default $AMIGO_BASE_URL, else "+client.DefaultBaseURL+")")
	pf.StringVar(&a.org, "amigo-org", "", "Amigo organization id (default $AMIGO_ORGANIZATION_ID)")
	pf.StringVar(&a.token, "token", "", "bearer token (default $AMIGO_TOKEN; or the API-key variables)")
	pf.IntVar(&a.perMinute, "per-minute", 100, "requests a minute per endpoint (Amigo's documented limit); negative: no pacing")
	cmd.AddCommand(newAmigoSyncCmd(g, a), newAmigoImportCmd(g, a))
	return cmd
}

// client builds the API client from the flags and the environment.
func (a *amigoFlags) client() (*client.Client, error) {
	cfg := client.ConfigFromEnv()
	if a.baseURL != "" {
		cfg.BaseURL = a.baseURL
	}
	if a.org != "" {
		cfg.Org = a.org
	}
	if a.token != "" { // --token wins; else the API key wins over AMIGO_TOKEN
		cfg.Token, cfg.APIKey = a.token, ""
	}
	cfg.PerMinute = a.perMinute
	c, err := client.New(cfg)
	if err != nil {
		return nil, usageError("amigo: %v", err)
	}
	return c, nil
}

// contentOf converts a git version's content to the API's.
func contentOf(c registry.Content) client.Content {
	return client.Content{Background: c.Background.String(), PreferredLanguage: c.PreferredLanguage, Timezone: c.Timezone,
		UserModels: c.UserModels, NonsensitiveUserVariables: c.NonsensitiveUserVariables,
		SensitiveUserVariables: c.SensitiveUserVariables}
}

package client

import (
	"maps"
	"slices"
	"time"
)

// UserInfo is a user as the API names one: the org and the user id.
type UserInfo struct {
	OrgID  string `json:"org_id"`
	UserID string `json:"user_id"`
}

// Persona is the API's SimulationPersonaInstance.
type Persona struct {
	ID        string             `json:"id"`
	Name      string             `json:"name"`
	Role      string             `json:"role"`
	Tags      map[string]*string `json:"tags"`
	IsDeleted bool               `json:"is_deleted"`
	CreatedAt time.Time          `json:"created_at"`
	Creator   UserInfo           `json:"creator"`
	UpdatedAt time.Time          `json:"updated_at"`
	UpdatedBy UserInfo           `json:"updated_by"`
}

// Content is the versioned part of a persona: the body of a new version and
// of a create's initial_version.
type Content struct {
	Background                string            `json:"background"`
	PreferredLanguage         *string           `json:"preferred_language"`
	Timezone                  *string           `json:"timezone"`
	UserModels                []string          `json:"user_models"`
	NonsensitiveUserVariables map[string]string `json:"nonsensitive_user_variables"`
	SensitiveUserVariables    map[string]string `json:"sensitive_user_variables"`
}

// Equal reports whether two contents are the same values (nil and empty
// collections are equal).
func (c Content) Equal(o Content) bool {
	eq := func(a, b *string) bool { return (a == nil && b == nil) || (a != nil && b != nil && *a == *b) }
	return c.Background == o.Background && eq(c.PreferredLanguage, o.PreferredLanguage) &&
		eq(c.Timezone, o.Timezone) && slices.Equal(c.UserModels, o.UserModels) &&
		maps.Equal(c.NonsensitiveUserVariables, o.NonsensitiveUserVariables) &&
		maps.Equal(c.SensitiveUserVariables, o.SensitiveUserVariables)
}

// Version is the API's SimulationPersonaVersion.
type Version struct {
	ID        string `json:"_id"`
	OrgID     string `json:"org_id"`
	PersonaID string `json:"simulation_persona_id"`
	Version   int    `json:"version"`
	Content
	Creator   UserInfo  `json:"creator"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Commit is this project's extension (empty from Amigo).
	Commit string `json:"commit,omitempty"`
}

// ListParams are the filters and paging of a list. Zero values are left out.
type ListParams struct {
	IDs      []string
	Roles    []string
	Creators []UserInfo
	Tags     []string // "key:value", "key:*", "key:"
	// IsDeleted: nil lists live and deleted personas.
	IsDeleted *bool
	SortBy    []string
	Limit     int // 0: the server's default (50)
	Token     int // continuation_token
}

// FilterValues is the first page's summary of the values of the filters.
type FilterValues struct {
	Creators []UserInfo `json:"creators"`
	Tags     []string   `json:"tags"`
	Roles    []string   `json:"roles"`
}

// ListPage is one page of a list.
type ListPage struct {
	Personas          []Persona     `json:"simulation_personas"`
	HasMore           bool          `json:"has_more"`
	ContinuationToken *int          `json:"continuation_token"`
	FilterValues      *FilterValues `json:"filter_values"`
}

// VersionParams select versions of one persona. Version is "N", "latest",
// "A-B" or "A-latest" ("" is every version).
type VersionParams struct {
	Version string
	Limit   int // 0: the server's default (10)
	SortBy  []string
	Token   int
}

// VersionPage is one page of versions.
type VersionPage struct {
	Versions          []Version `json:"simulation_persona_versions"`
	HasMore           bool      `json:"has_more"`
	ContinuationToken *int      `json:"continuation_token"`
}

// SearchParams is a search: the query and the filters of a list.
type SearchParams struct {
	Query    string
	Roles    []string
	Creators []UserInfo
	Tags     []string
}

// CreateRequest is the body of a create.
type CreateRequest struct {
	Name           string             `json:"name"`
	Role           string             `json:"role"`
	Tags           map[string]*string `json:"tags"`
	InitialVersion Content            `json:"initial_version"`
}

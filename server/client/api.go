package client

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
)

// Endpoints: the rate-limit bucket of each operation.
const (
	epList          = "GET /"
	epSearch        = "GET /search"
	epVersions      = "GET /{id}/version/"
	epCreate        = "POST /"
	epCreateVersion = "POST /{id}/version/"
	epUpdate        = "POST /{id}/"
	epDelete        = "DELETE /{id}/"
)

func (p ListParams) query() url.Values {
	q := filterQuery(p.Roles, p.Creators, p.Tags)
	for _, id := range p.IDs {
		q.Add("id", id)
	}
	if p.IsDeleted != nil {
		q.Set("is_deleted", strconv.FormatBool(*p.IsDeleted))
	}
	for _, s := range p.SortBy {
		q.Add("sort_by", s)
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Token > 0 {
		q.Set("continuation_token", strconv.Itoa(p.Token))
	}
	return q
}

func filterQuery(roles []string, creators []UserInfo, tags []string) url.Values {
	q := url.Values{}
	for _, r := range roles {
		q.Add("role", r)
	}
	for _, c := range creators {
		q.Add("creator", c.OrgID+","+c.UserID)
	}
	for _, t := range tags {
		q.Add("tag", t)
	}
	return q
}

// List returns one page of personas.
func (c *Client) List(ctx context.Context, p ListParams) (*ListPage, error) {
	var out ListPage
	if _, err := c.do(ctx, call{method: http.MethodGet, path: "/", endpoint: epList, query: p.query(), out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// Personas iterates over every persona the filters select, following
// continuation_token from p.Token. An error ends the iteration.
func (c *Client) Personas(ctx context.Context, p ListParams) iter.Seq2[Persona, error] {
	return func(yield func(Persona, error) bool) {
		for {
			page, err := c.List(ctx, p)
			if err != nil {
				yield(Persona{}, err)
				return
			}
			for _, persona := range page.Personas {
				if !yield(persona, nil) {
					return
				}
			}
			if !page.HasMore || page.ContinuationToken == nil {
				return
			}
			if *page.ContinuationToken <= p.Token {
				yield(Persona{}, fmt.Errorf("list: continuation_token %d does not advance past %d", *page.ContinuationToken, p.Token))
				return
			}
			p.Token = *page.ContinuationToken
		}
	}
}

// Search returns the personas that best match the query (at most 50).
func (c *Client) Search(ctx context.Context, p SearchParams) ([]Persona, error) {
	q := filterQuery(p.Roles, p.Creators, p.Tags)
	q.Set("query", p.Query)
	var out struct {
		Personas []Persona `json:"simulation_personas"`
	}
	if _, err := c.do(ctx, call{method: http.MethodGet, path: "/search", endpoint: epSearch, query: q, out: &out}); err != nil {
		return nil, err
	}
	return out.Personas, nil
}

// VersionRange is the version parameter of versions from to to inclusive;
// to ≤ 0 means up to the latest.
func VersionRange(from, to int) string {
	if to <= 0 {
		return strconv.Itoa(from) + "-latest"
	}
	return strconv.Itoa(from) + "-" + strconv.Itoa(to)
}

// Versions returns one page of a persona's versions.
func (c *Client) Versions(ctx context.Context, id string, p VersionParams) (*VersionPage, error) {
	q := url.Values{}
	if p.Version != "" {
		q.Set("version", p.Version)
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	for _, s := range p.SortBy {
		q.Add("sort_by", s)
	}
	if p.Token > 0 {
		q.Set("continuation_token", strconv.Itoa(p.Token))
	}
	var out VersionPage
	if _, err := c.do(ctx, call{method: http.MethodGet, path: "/" + url.PathEscape(id) + "/version/", endpoint: epVersions, query: q, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// AllVersions iterates over the versions p selects, following
// continuation_token.
func (c *Client) AllVersions(ctx context.Context, id string, p VersionParams) iter.Seq2[Version, error] {
	return func(yield func(Version, error) bool) {
		for {
			page, err := c.Versions(ctx, id, p)
			if err != nil {
				yield(Version{}, err)
				return
			}
			for _, v := range page.Versions {
				if !yield(v, nil) {
					return
				}
			}
			if !page.HasMore || page.ContinuationToken == nil {
				return
			}
			if *page.ContinuationToken <= p.Token {
				yield(Version{}, fmt.Errorf("versions of %s: continuation_token %d does not advance past %d", id, *page.ContinuationToken, p.Token))
				return
			}
			p.Token = *page.ContinuationToken
		}
	}
}

// Latest returns a persona's latest version.
func (c *Client) Latest(ctx context.Context, id string) (*Version, error) {
	page, err := c.Versions(ctx, id, VersionParams{Version: "latest"})
	if err != nil {
		return nil, err
	}
	if len(page.Versions) == 0 {
		return nil, fmt.Errorf("persona %s has no version", id)
	}
	return &page.Versions[0], nil
}

// normalized returns the content with nil collections as empty ones (the
// API's defaults), so bodies never carry a JSON null for them.
func (c Content) normalized() Content {
	if c.UserModels == nil {
		c.UserModels = []string{}
	}
	if c.NonsensitiveUserVariables == nil {
		c.NonsensitiveUserVariables = map[string]string{}
	}
	if c.SensitiveUserVariables == nil {
		c.SensitiveUserVariables = map[string]string{}
	}
	return c
}

// Create creates a persona and returns its id. A lost answer gives an
// *OutcomeUnknownError: list by name to see whether it was made.
func (c *Client) Create(ctx context.Context, r CreateRequest) (string, error) {
	r.InitialVersion = r.InitialVersion.normalized()
	if r.Tags == nil {
		r.Tags = map[string]*string{}
	}
	var out struct {
		ID string `json:"simulation_persona_id"`
	}
	if _, err := c.do(ctx, call{method: http.MethodPost, path: "/", endpoint: epCreate, body: r, out: &out}); err != nil {
		return "", err
	}
	return out.ID, nil
}

// CreateVersion adds a version to a persona. expect, when above zero, is
// the number the new version must get (400 otherwise): repeating a create
// with the same expect can never make two versions.
func (c *Client) CreateVersion(ctx context.Context, id string, expect int, content Content) (int, error) {
	q := url.Values{}
	if expect > 0 {
		q.Set("version", strconv.Itoa(expect))
	}
	var out struct {
		Version int `json:"version"`
	}
	if _, err := c.do(ctx, call{method: http.MethodPost, path: "/" + url.PathEscape(id) + "/version/", endpoint: epCreateVersion,
		query: q, body: content.normalized(), out: &out}); err != nil {
		return 0, err
	}
	return out.Version, nil
}

// UpdateTags replaces a persona's tags.
func (c *Client) UpdateTags(ctx context.Context, id string, tags map[string]*string) error {
	if tags == nil {
		tags = map[string]*string{}
	}
	body := struct {
		Tags map[string]*string `json:"tags"`
	}{tags}
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/" + url.PathEscape(id) + "/", endpoint: epUpdate, body: body})
	return err
}

// Delete deletes a persona.
func (c *Client) Delete(ctx context.Context, id string) error {
	_, err := c.do(ctx, call{method: http.MethodDelete, path: "/" + url.PathEscape(id) + "/", endpoint: epDelete})
	return err
}

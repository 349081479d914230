package gitdb

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"
	"unique"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Commit is what a history walk needs of a commit.
type Commit struct {
	Hash    Hash
	Tree    Hash
	Parent  Hash      // first parent, zero for a root commit
	Time    time.Time // committer time, UTC
	Author  string    // author email
	Subject string
	id      string // Hash in hex, made once
}

// ID is the commit's hash in hex. Every version, update and file state a
// commit makes shares this one string (10,000 × 100,000 histories held 17 MB
// of copies). Not safe for concurrent first calls: the goroutine that
// applies the commit calls it.
func (c *Commit) ID() string {
	if c.id == "" {
		c.id = c.Hash.String()
	}
	return c.id
}

// Commit reads and parses the commit h.
func (r *Repo) Commit(h Hash) (*Commit, error) {
	raw, err := r.readRaw(h, plumbing.CommitObject, 0)
	if err != nil {
		return nil, err
	}
	c, err := ParseCommit(raw)
	if err != nil {
		return nil, fmt.Errorf("decode commit %s: %w", h, err)
	}
	c.Hash = h
	return c, nil
}

// ParseCommit reads the fields of Commit (all but Hash) from a raw commit
// object.
func ParseCommit(raw []byte) (*Commit, error) {
	c := &Commit{}
	header, msg, _ := bytes.Cut(raw, []byte("\n\n"))
	c.Subject, _, _ = strings.Cut(string(msg), "\n")
	for _, line := range bytes.Split(header, []byte("\n")) {
		key, val, _ := bytes.Cut(line, []byte(" "))
		switch string(key) {
		case "tree":
			c.Tree = NewHash(string(val))
		case "parent":
			if c.Parent.IsZero() {
				c.Parent = NewHash(string(val))
			}
		case "author":
			var sig object.Signature
			sig.Decode(val)
			c.Author = unique.Make(sig.Email).Value() // versions share their creators' addresses
		case "committer":
			var sig object.Signature
			sig.Decode(val)
			c.Time = sig.When.UTC()
		}
	}
	if c.Tree.IsZero() {
		return nil, errors.New("commit has no tree")
	}
	return c, nil
}

package gitdb

import (
	"encoding/hex"

	"github.com/go-git/go-git/v5/plumbing"
)

// Hash is the SHA-1 name of a git object. The zero Hash means "none": no
// commit yet, an absent file, a root commit's parent.
type Hash [20]byte

// ZeroHash is the Hash of nothing.
var ZeroHash Hash

// NewHash parses a 40-digit hexadecimal object name; anything else gives a
// Hash of the digits it could read (as git's own parsers are lenient).
func NewHash(s string) Hash {
	return Hash(plumbing.NewHash(s))
}

// ParseHash parses a 40-digit hexadecimal object name and reports whether it
// was one.
func ParseHash(s string) (Hash, bool) {
	var h Hash
	if len(s) != 40 {
		return h, false
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return ZeroHash, false
	}
	return h, true
}

// String returns the 40-digit hexadecimal form.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is the zero Hash.
func (h Hash) IsZero() bool { return h == ZeroHash }

// BlobHash returns the name git gives a blob with this content.
func BlobHash(data []byte) Hash {
	return Hash(plumbing.ComputeHash(plumbing.BlobObject, data))
}

func toPlumbing(h Hash) plumbing.Hash { return plumbing.Hash(h) }

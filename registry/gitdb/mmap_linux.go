package gitdb

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps size bytes of f read-only into memory, as git maps its packs:
// reading an object is then a slice of memory, not a pread and a copy per
// object (135,000 preads in a cold walk of 2,000 personas × 20,000 commits).
func mapFile(f *os.File, size int64) ([]byte, error) {
	if size <= 0 || int64(int(size)) != size {
		return nil, nil
	}
	return unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
}

// unmapFile undoes mapFile. Nothing may read the mapping afterwards.
func unmapFile(b []byte) error { return unix.Munmap(b) }

// dropPages takes a mapping's pages out of the process's resident set.
// They stay in the page cache, and the next read of one maps it again: the
// data is unchanged (the mapping is read-only and shared), so readers may
// go on at the same time.
func dropPages(b []byte) { _ = unix.Madvise(b, unix.MADV_DONTNEED) }

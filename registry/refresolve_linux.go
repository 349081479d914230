package registry

import (
	"os"
	"syscall"
)

// inodeAndCtime returns a file's inode number and change time (ns).
func inodeAndCtime(info os.FileInfo) (uint64, int64) {
	if sys, ok := info.Sys().(*syscall.Stat_t); ok {
		return sys.Ino, sys.Ctim.Nano()
	}
	return 0, 0
}

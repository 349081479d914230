//go:build !linux

package gitdb

import "os"

// mapFile maps nothing here: packs are read with pread.
func mapFile(*os.File, int64) ([]byte, error) { return nil, nil }

func unmapFile([]byte) error { return nil }

func dropPages([]byte) {}

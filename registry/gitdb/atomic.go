package gitdb

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
)

// WriteFileAtomic replaces path with what write writes, so that a reader
// sees the old content or the new, never a part: a temporary file in dir (on
// path's file system), buffered, mode 0644, renamed over path. durable also
// fsyncs the file before the rename and the directory after, so that the new
// content survives a power loss (refs); without it a crash may leave the old
// content or an empty file (caches, which are only a shortcut).
func WriteFileAtomic(dir, path string, durable bool, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(dir, "personas-tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 1<<16)
	err = write(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if err == nil && durable {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if durable {
		syncDir(filepath.Dir(path))
	}
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

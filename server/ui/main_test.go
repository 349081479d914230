package ui_test

import (
	"os"
	"sync"
	"testing"
)

var (
	tempMu   sync.Mutex
	tempDirs []string
)

// mkTemp makes a temporary directory removed when the package's tests end.
func mkTemp(t *testing.T) string {
	dir, err := os.MkdirTemp("", "personas-ui-")
	if err != nil {
		t.Fatal(err)
	}
	tempMu.Lock()
	tempDirs = append(tempDirs, dir)
	tempMu.Unlock()
	return dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	stopBrowser()
	for _, d := range tempDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

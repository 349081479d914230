package registry

import (
	"runtime"
	"syscall"
	"testing"
)

// niceOf is the nice value of thread tid (the raw syscall answers 20 - nice).
func niceOf(t *testing.T, tid int) int {
	t.Helper()
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid)
	if err != nil {
		t.Fatal(err)
	}
	return 20 - p
}

// TestRunLowPriority checks that the work runs on another thread at the
// background priority and that the caller's thread keeps its own.
func TestRunLowPriority(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	me := syscall.Gettid()
	before := niceOf(t, me)
	var tid, prio int
	var err error
	runLowPriority(func() {
		tid = syscall.Gettid()
		prio, err = syscall.Getpriority(syscall.PRIO_PROCESS, tid)
	})
	if tid == 0 || err != nil {
		t.Fatalf("fn did not run or could not read its priority: %v", err)
	}
	nice := 20 - prio
	if tid == me {
		t.Error("fn ran on the caller's thread")
	}
	if nice != backgroundNice {
		t.Errorf("fn ran at nice %d, want %d", nice, backgroundNice)
	}
	if after := niceOf(t, me); after != before {
		t.Errorf("caller's nice changed from %d to %d", before, after)
	}
}

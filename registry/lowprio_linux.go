//go:build linux

package registry

import (
	"runtime"
	"sync"
	"syscall"
)

// backgroundNice is the CPU priority of background work while serving: the
// kernel gives a thread of nice 10 about a tenth of the CPU a thread of nice
// 0 gets, so request threads go first, yet a rebuild under a load that keeps
// every core busy still advances.
const backgroundNice = 10

// runLowPriority runs fn on an OS thread of its own at a low CPU
// priority and waits for it. The thread stays locked to the goroutine, so it
// ends with it and its priority never reaches other goroutines.
func runLowPriority(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), backgroundNice) // best effort
		fn()
	}()
	<-done
}

// procsMu serializes changes of GOMAXPROCS by background work.
var procsMu sync.Mutex

// withSparePs runs fn with GOMAXPROCS raised by extra. Go's scheduler knows
// nothing of thread priorities: goroutines on low-priority threads hold a P
// (the right to run Go code) as long as any other goroutine, so with as many
// Ps as cores a rebuild's workers left requests waiting for a P — p50 of
// seconds at 1,000 searches/s. With spare Ps, request goroutines always get
// a P and the kernel, which does know priorities, gives their threads the
// cores first.
func withSparePs(extra int, fn func()) {
	procsMu.Lock()
	prev := runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + extra)
	procsMu.Unlock()
	defer func() {
		procsMu.Lock()
		runtime.GOMAXPROCS(prev)
		procsMu.Unlock()
	}()
	fn()
}

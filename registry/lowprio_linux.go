//go:build linux

package registry

import (
	"runtime"
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

package amigotest

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"
)

// serveLoopback serves h on 127.0.0.1:0 until the test ends and returns its
// base URL.
func serveLoopback(t testing.TB, h http.Handler) string {
	t.Helper()
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
		<-done
	})
	return "http://" + ln.Addr().String()
}

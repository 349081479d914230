package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/personaregistry/personas/registry"
	"github.com/personaregistry/personas/server"
)

func init() {
	extraCommands = append(extraCommands, newServeCmd, newTokenCmd)
}

// serveProgressEvery is how often serve logs the progress of a long index.
const serveProgressEvery = 5 * time.Second

type serveOptions struct {
	addr                string
	tokens              string
	readOnly            bool
	requireAuthForReads bool
	redactSensitive     bool
	pollInterval        time.Duration
	rateLimit           float64
	remote              string
	cloneDir            string
	fetchInterval       time.Duration
	webhookSecret       string
	logFormat           string
	previewRefs         int
	previewMemory       int64
	checkpoints         int
	responseCacheBytes  byteSize
	personaCacheBytes   byteSize
	memoryLimit         string
	heapHeadroom        byteSize
	webURL              string
}

func newServeCmd(g *globalFlags) *cobra.Command {
	o := &serveOptions{responseCacheBytes: server.DefaultResponseCacheBytes, personaCacheBytes: server.DefaultPersonaCacheBytes}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve Amigo's persona API from the repository, following the branch",
		Long: `Build the index of the branch, watch the repository and serve Amigo's
simulation-persona API. Every flag can also be set from the environment as
PERSONAS_<FLAG> (e.g. PERSONAS_ADDR, PERSONAS_REPO). Stops gracefully on SIGINT/SIGTERM.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd, g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on")
	f.StringVar(&o.tokens, "tokens", "", "tokens file (see `personas token add`); without it writes are refused")
	f.BoolVar(&o.readOnly, "read-only", false, "refuse every write with 403")
	f.BoolVar(&o.requireAuthForReads, "require-auth-for-reads", false, "reads need a valid token too")
	f.BoolVar(&o.redactSensitive, "redact-sensitive", false, "hide sensitive_user_variables from callers without the Modify permission")
	f.DurationVar(&o.pollInterval, "poll-interval", 5*time.Second, "how often to check the branch without file events (0: default, negative: never)")
	f.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&o.remote, "remote", "", "git URL to replicate (file://, https://, ssh://): serve a bare clone of it, push writes to it")
	f.StringVar(&o.cloneDir, "clone-dir", "", "where the bare clone of --remote lives (default: a per-URL directory under the user cache dir)")
	f.DurationVar(&o.fetchInterval, "fetch-interval", 10*time.Second, "how often to fetch --remote")
	f.StringVar(&o.webhookSecret, "webhook-secret", "", "shared secret of push webhooks at POST /hooks/git (GitHub, GitLab, Gitea)")
	f.IntVar(&o.previewRefs, "preview-refs", registry.DefaultPreviewRefs, "ref snapshots kept for /ref/{ref}/ previews (least recently used go first; negative: none kept)")
	f.Int64Var(&o.previewMemory, "preview-memory", registry.DefaultPreviewBytes, "estimated bytes the kept ref snapshots may use in all")
	f.IntVar(&o.checkpoints, "checkpoints", registry.DefaultCheckpoints, "states of the branch kept to build ref previews from (negative: none)")
	f.StringVar(&o.webURL, "web-url", "", "where the repository is browsed on its git host (e.g. https://github.com/org/personas): the pages link commits there")
	f.Float64Var(&o.rateLimit, "rate-limit", 0, "requests a second allowed per token (0: unlimited); beyond it 429 with Retry-After")
	f.Var(&o.responseCacheBytes, "response-cache-bytes", "byte budget of the cache of encoded read responses, least recently used evicted first (0: off)")
	f.Var(&o.personaCacheBytes, "persona-cache-bytes", "byte budget of the cache of encoded personas (0: off)")
	f.StringVar(&o.memoryLimit, "memory-limit", "auto", "soft memory limit of the Go runtime: a size (e.g. 900MiB), off, or auto: GOMEMLIMIT if set, else 90% of the container's memory limit")
	o.heapHeadroom = 32 << 20
	f.Var(&o.heapHeadroom, "heap-headroom", "while serving, how far the heap may grow over its live data before a collection (sets GOGC; 0: Go's default GOGC=100, as does a GOGC variable)")
	return cmd
}

// cacheBytes turns a cache flag into the server's budget (0 there is the default).
func cacheBytes(b byteSize) int64 {
	if b <= 0 {
		return -1
	}
	return int64(b)
}

func runServe(cmd *cobra.Command, g *globalFlags, o *serveOptions) (err error) {
	var handler slog.Handler = slog.NewTextHandler(cmd.ErrOrStderr(), nil)
	if o.logFormat == "json" {
		handler = slog.NewJSONHandler(cmd.ErrOrStderr(), nil)
	}
	log := slog.New(handler)
	build := readBuild()
	log.Info("starting personas", "version", build.Version, "revision", build.Revision, "vcs_time", build.VCSTime,
		"modified", build.Modified, "go_version", build.GoVersion, "platform", build.Platform)
	limit, source, err := memoryLimit(o.memoryLimit, os.Getenv, cgroupMemoryLimit)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if limit = setMemoryLimit(limit); limit == math.MaxInt64 {
		log.Info("no soft memory limit", "why", source)
	} else {
		log.Info("soft memory limit", "bytes", limit, "from", source)
	}
	repo := g.repo
	if o.remote != "" {
		dir := o.cloneDir
		if dir == "" {
			if dir, err = registry.DefaultCloneDir(o.remote); err != nil {
				return &exitError{code: exitUsage, err: err}
			}
		}
		log.Info("cloning or reusing the remote", "remote", o.remote, "clone", dir)
		if err := registry.EnsureClone(cmd.Context(), o.remote, dir); err != nil {
			return &exitError{code: exitUsage, err: err}
		}
		repo = dir
	}
	progress := &progressLogger{log: log, interval: serveProgressEvery, now: time.Now}
	pacer := &heapPacer{headroom: int64(o.heapHeadroom), log: log}
	onProgress := func(done, total int) {
		pacer.noteRead(total)
		progress.update(done, total)
	}
	reg, err := registry.Open(registry.Options{Repo: repo, Branch: g.branch, Dir: g.dir, UnitTests: g.unitTests,
		PollInterval: o.pollInterval, Logger: log, Remote: o.remote, Progress: onProgress,
		PreviewRefs: o.previewRefs, PreviewBytes: o.previewMemory, Checkpoints: o.checkpoints,
		Saving: pacer.noteSaving})
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	defer reg.Close()
	cfg := server.Config{Registry: reg, Org: g.org, Logger: log, ReadOnly: o.readOnly,
		RequireAuthForReads: o.requireAuthForReads, RedactSensitive: o.redactSensitive, RateLimit: o.rateLimit,
		WebhookSecret: o.webhookSecret, ResponseCacheBytes: cacheBytes(o.responseCacheBytes),
		PersonaCacheBytes: cacheBytes(o.personaCacheBytes), WebURL: o.webURL, Build: build}
	if o.remote != "" {
		cfg.OnPush = func() {
			reg.ExpireFetchedRefs() // a pull request's ref moved: fetch it again on its next request
			reg.FetchSoon()
		}
	}
	if err := configureWrites(&cfg, reg, o, log); err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("listen on %s: %w", o.addr, err)}
	}
	srv := server.New(cfg)
	var background sync.WaitGroup
	defer background.Wait() // after stop: deferred calls run last first
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.Auth != nil {
		if err := cfg.Auth.Watch(ctx); err != nil {
			log.Warn("tokens file changes will only be picked up on SIGHUP", "err", err)
		}
		defer cfg.Auth.Close()
		reloadOnHangup(ctx, cfg.Auth)
	}
	if pacer.headroom > 0 && os.Getenv("GOGC") == "" {
		background.Go(func() { pacer.run(ctx, reg.Ready()) })
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String(), "repo", g.repo, "branch", g.branch, "org", g.org)
	fmt.Fprintf(cmd.OutOrStdout(), "listening on http://%s/v1/%s/simulation/persona/\n", ln.Addr(), g.org)
	go func() {
		if o.remote != "" {
			if err := reg.Fetch(ctx); err != nil && ctx.Err() == nil {
				log.Error("first fetch failed; serving the clone as it is", "err", err)
			}
		}
		if _, err := reg.Refresh(ctx); err != nil && ctx.Err() == nil {
			log.Error("first index failed; will retry on the next change", "err", err)
		}
		reg.Watch()
		if o.remote != "" {
			reg.SyncRemote(o.fetchInterval)
		}
	}()
	select {
	case err := <-serveErr:
		return &exitError{code: exitUsage, err: err}
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// configureWrites decides whether writes are possible and says why not.
func configureWrites(cfg *server.Config, reg *registry.Registry, o *serveOptions, log *slog.Logger) error {
	var reasons []string
	if o.readOnly {
		reasons = append(reasons, "started with --read-only")
	}
	if why := reg.WritableReason(); why != "" {
		reasons = append(reasons, why)
	}
	if o.tokens != "" {
		auth, warn, err := server.LoadAuth(o.tokens)
		if err != nil {
			return err
		}
		if warn != "" {
			log.Warn(warn)
		}
		auth.SetLogger(log)
		cfg.Auth = auth
	} else {
		reasons = append(reasons, "no --tokens file")
	}
	if len(reasons) > 0 {
		cfg.ReadOnly, cfg.ReadOnlyReason = true, strings.Join(reasons, "; ")
		log.Warn("writes are off", "reason", cfg.ReadOnlyReason)
	}
	if o.requireAuthForReads && cfg.Auth == nil {
		return errors.New("--require-auth-for-reads needs --tokens")
	}
	return nil
}

// reloadOnHangup rereads the tokens file on each SIGHUP until ctx ends.
func reloadOnHangup(ctx context.Context, auth *server.Auth) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				_ = auth.Reload(true)
			}
		}
	}()
}

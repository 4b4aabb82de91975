package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/spur-forensics/spur/internal/api"
	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/colfile"
	"github.com/spur-forensics/spur/internal/evm"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/ingest"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/webhook"
)

func newServe() *cobra.Command {
	var sf storeFlags
	var listen, rulesFile, alert, hookURL string
	var byEntity, withCluster, watchMempool bool
	var heur evmClusterFlags
	var cfg api.Config
	var rf rpcFlags
	ef := evmRPCFlags{urlFlag: "follow-evm", tracesFlag: "evm-traces", timeoutFlag: "evm-rpc-timeout"}
	var evmChain string
	var interval time.Duration
	c := &cobra.Command{
		Use:   "serve --store DIR [--listen 127.0.0.1:8080]",
		Short: "Serve the HTTP API (JSON under /v1, /healthz, /metrics, /openapi.json)",
		Long: `Serves the store over HTTP. /v1 needs an API key (spur keys create), sent as
"Authorization: Bearer KEY"; each key is rate limited (--rate per second,
--burst). Bodies are capped at 4 MiB and batches at 1,000 items. Listens on
loopback unless --listen says otherwise. Screening severities follow the
rules in --rules (YAML; the defaults are in docs/api.md). See docs/api.md and
/openapi.json.

With --follow-rpc URL the server also follows a Bitcoin node's tip, as spur
follow btc does: each new block is screened as soon as it is committed, and a
request never waits for the ingest (it reads the store as of the latest
commit; only a reorganisation's unwind waits for the requests in flight).
/metrics then reports spur_node_height and spur_ingest_lag_blocks. Entities
are those of the last spur cluster run (which may run beside the server: its
clustering is taken at the server's next look, every half second): addresses first seen since
belong to none until the next; with --cluster the server clusters up to the
tip before it serves and again after each sync
(incrementally, as spur follow btc --cluster does), and each request
begun after it sees the new entities.

With --follow-evm URL it follows an EVM node's tip into the store's
--evm-chain store (made if there is none), as spur follow evm does, and
screens Ethereum addresses and transactions on what is committed: a block's
commit waits for the requests in flight, and requests wait for it (at the
tip, milliseconds every block). The two follows may run together.

With --alert CATEGORIES beside a follow, each transaction of a new block
that moves money from or to an address labelled in them is printed on
standard output as it is committed, a JSON object each, as spur follow
--alert --json prints them. With --by-entity as well, a Bitcoin transaction
of an address whose entity has such a label too. With --mempool as well,
each transaction of the Bitcoin node's mempool as it arrives, before its
block (marked mempool, and told again with its block), as spur follow btc
--mempool tells them; /metrics then reports spur_mempool_transactions.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// Screening allocates fast and its p99 follows the GC: collect
			// at five times the live heap (not twice), under a 4 GiB cap.
			tuneGC(400, 4<<30)
			// Each follow that gives up (the node refuses us, or its chain
			// is not the store's) stops the server.
			var follows []func(context.Context) error
			if cfg.Rate <= 0 || cfg.Burst < 1 {
				return usagef("--rate must be positive and --burst at least 1")
			}
			if _, _, err := net.SplitHostPort(listen); err != nil {
				return usagef("--listen %q: want HOST:PORT (127.0.0.1:8080, :8080): %v", listen, err)
			}
			if cfg.NoAuth && !loopback(listen) {
				return usagef("--no-auth serves without API keys: only on a loopback address (127.0.0.1:PORT, [::1]:PORT, localhost:PORT), not %q", listen)
			}
			if (rf.url != "" || ef.url != "") && interval <= 0 {
				return usagef("--interval must be positive")
			}
			if alert != "" && rf.url == "" && ef.url == "" {
				return usagef("--alert watches the blocks a follow adds: give --follow-rpc or --follow-evm")
			}
			watch, err := alertCategories(alert, sf.dir)
			if err != nil {
				return err
			}
			switch {
			case byEntity && (alert == "" || rf.url == "" && ef.url == ""):
				return usagef("--by-entity widens a follow's --alert: give --alert and --follow-rpc or --follow-evm")
			case byEntity && ef.url != "" && !heur.any():
				return usagef("--by-entity on the followed EVM chain: pick the heuristics its entities are made by, as spur entity --chain %s takes them: --deposits, --deposit-reuse, --airdrop", evmChain)
			case heur.any() && !(byEntity && ef.url != ""):
				return usagef("--deposits, --deposit-reuse and --airdrop make the followed EVM chain's entities for --by-entity: give --follow-evm and --by-entity")
			}
			if watchMempool && (rf.url == "" || alert == "") {
				return usagef("--mempool watches the Bitcoin node's mempool for --alert: give --follow-rpc and --alert")
			}
			// --by-entity widens each chain followed.
			btcByEntity := byEntity && rf.url != ""
			if err := checkWebhook(hookURL, alert); err != nil {
				return err
			}
			// The followers' senders, each with its outbox in the store.
			var hooks []*webhook.Sender
			if withCluster && rf.url == "" {
				return usagef("--cluster keeps the clustering up to the blocks a follow adds: give --follow-rpc (or run spur cluster)")
			}
			// The server, once made below: a follow with --cluster replaces
			// its clustering after each sync, before the sync's alerts.
			var apiSrv *api.Server
			// The server's labels, opened below, once it holds them.
			var heldLabels *label.Store
			// An EVM node to follow is asked its chain before anything is
			// opened or made: a wrong URL or chain leaves no store behind.
			var evmNode *evm.RPC
			if ef.url != "" {
				want, ok := evmstore.Chains[evmChain]
				if !ok {
					return usagef("unknown --evm-chain %q: want eth, sepolia, holesky or dev", evmChain)
				}
				var err error
				if evmNode, err = ef.client(); err != nil {
					return err
				}
				switch id, err := evmNode.ChainID(cmd.Context()); {
				case errors.Is(err, evm.ErrUnanswered) && evmStoreExists(sf.dir, evmChain):
					// A node down (restarting, say) beside a store it fed
					// before: the follow waits for it and asks its chain
					// once it answers, as at every poll.
				case err != nil:
					return fmt.Errorf("following %s: %w", ef.url, err)
				case id != want:
					return fmt.Errorf("%w: the node at %s is on chain id %d; --evm-chain %s is chain id %d", evmstore.ErrChain, ef.url, id, evmChain, want)
				}
			}
			if rulesFile != "" {
				b, err := os.ReadFile(rulesFile)
				if err != nil {
					return fmt.Errorf("--rules: %w", err)
				}
				if cfg.Rules, err = api.ParseRules(rulesFile, b); err != nil {
					return err
				}
			}
			// Following writes: the store is then taken whole; served as it
			// is, it is read beside other readers (queries, reports).
			open := sf.openExisting
			if rf.url != "" {
				open = sf.openToWrite
			}
			// A store of labels, or of an EVM chain, alone is served too:
			// screening on labels, the EVM lookups; what needs Bitcoin
			// answers 404 saying so.
			var s *store.Store
			if sf.exists() == nil || rf.url != "" || !servable(sf.dir) && ef.url == "" {
				if rf.url != "" {
					s, err = waitForQueries(cmd.Context(), btcDir(sf.dir), open)
				} else {
					s, err = open()
				}
				if rf.url != "" && errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("%w; --follow-rpc keeps a store at the tip: make it first with spur ingest btc (from block files, or --rpc from the node)", err)
				}
				if rf.url != "" && colfile.ReadOnlyFS(err) {
					return fmt.Errorf("%w: --follow-rpc adds the node's blocks to the store, and %s cannot be written (a read-only file system, or a directory this user may not write); serve it as it is without --follow-rpc, or follow a copy that can be written", store.ErrReadOnly, sf.dir)
				}
				if err != nil {
					return err
				}
				defer s.Close()
				// A follower lets queries in between blocks, and waits for
				// them to end: a server's never does.
				if rf.url == "" {
					if err := besideFollower(btcDir(sf.dir), store.ErrLocked, "--follow-rpc"); err != nil {
						return err
					}
				}
			}
			var node *btc.RPC
			if rf.url != "" {
				if node, err = rf.client(s.Network()); err != nil {
					return err
				}
				if cfg.Live, err = s.Live(); err != nil {
					return err
				}
				hook, err := alertWebhook(hookURL, alert, webhookOutbox(sf.dir, "btc", hookURL))
				if err != nil {
					return err
				}
				defer closeWebhook(hook)
				if hook != nil {
					hooks = append(hooks, hook)
				}
				ns := newNodeState()
				cfg.NodeHeight, cfg.NodeUp = ns.height.Load, ns.answered
				// A deposit screened by its txid before its block: as the
				// node has it.
				cfg.NodeTx = node.RawTransaction
				// The transactions of the mempool's last read, -1 before one.
				var mempoolSize atomic.Int64
				mempoolSize.Store(-1)
				if watchMempool {
					cfg.Mempool = mempoolSize.Load
				}
				follows = append(follows, func(ctx context.Context) error {
					log := logger()
					opts := ns.options(log)
					if watchMempool {
						opts.Polled = mempoolWatch(ctx, s, node, mempool{
							labels: func(f func(*label.Store) error) error { return f(heldLabels) },
							clusters: func() (cluster.Reader, error) {
								if c := apiSrv.Clusters(); btcByEntity && c != nil {
									return c, nil
								}
								return nil, nil
							},
							watch: watch,
							out:   alertOut{json: true, hook: hook},
							size:  &mempoolSize,
						})
					}
					// The alerts of blocks lo..hi, queued for the webhook.
					alerts := func(lo, hi int64) {
						var c cluster.Reader
						if clusters := apiSrv.Clusters(); btcByEntity && clusters != nil {
							c = clusters
						}
						if err := printAlerts(s, heldLabels, c, lo, hi, watch, alertOut{json: true, hook: hook}); err != nil {
							log.Error("alerts failed", "err", err)
						} else {
							alertsThrough(hook, hi)
						}
					}
					if watch != nil {
						alertMissed(hook, s.Height(), func(h int64) uint64 { return uint64(h) }, alerts)
					}
					err := ingest.Follow(ctx, s, node, interval, opts, func(st *ingest.Stats) {
						log.Info("synced", "height", st.Height, "tip", st.Tip, "added", st.Blocks, "unwound", st.Unwound)
						if withCluster {
							// Incremental, as spur follow btc --cluster; the
							// requests in flight keep the clustering they began with.
							cst, err := cluster.Run(s, cluster.Options{})
							var c *cluster.Clusters
							if err == nil {
								c, err = cluster.Open(s)
							}
							if err != nil {
								log.Error("clustering failed", "err", err)
							} else {
								apiSrv.ClusteringChanged(c)
								log.Info("clustered", "new_txs", cst.NewTxs, "entities", cst.Entities, "incremental", cst.Incremental)
							}
						}
						// The server's labels keep their keys cached, current
						// as imports are applied.
						if watch != nil {
							alerts(alertsSince(hook, st.Height-int64(st.Blocks)+1), st.Height)
						}
					})
					if err != nil {
						return fmt.Errorf("following %s: %w", rf.url, err)
					}
					return nil
				})
			}
			labels, err := openLabelsHeld(sf.dir)
			if err != nil {
				return err
			}
			defer labels.Close()
			heldLabels = labels
			cfg.Store, cfg.Labels, cfg.Logger = s, labels, logger()
			if s != nil {
				if withCluster {
					// Up to the store's tip before serving, not only from the
					// next block on (a run over what is clustered already
					// reads nothing new).
					if _, err := cluster.Run(s, cluster.Options{}); err != nil {
						return err
					}
				}
				if cfg.Clusters, err = cluster.Open(s); err != nil && !errors.Is(err, cluster.ErrNoClustering) {
					return err
				}
				if btcByEntity && cfg.Clusters == nil && !withCluster {
					return fmt.Errorf("--by-entity: %w, or serve with --cluster", err)
				}
			}
			if ef.url != "" {
				// Following writes the EVM store: taken whole, grown in
				// this process while requests read it.
				node := evmNode
				if cfg.EVM, err = waitForQueries(cmd.Context(), evmDir(sf.dir, evmChain), func() (*evmstore.Store, error) { return openEVM(&sf, evmChain, evmCreate) }); err != nil {
					return err
				}
				cfg.EVMLive = true
				es := cfg.EVM
				hook, err := alertWebhook(hookURL, alert, webhookOutbox(sf.dir, evmChain, hookURL))
				if err != nil {
					es.Close()
					return err
				}
				defer closeWebhook(hook)
				if hook != nil {
					hooks = append(hooks, hook)
				}
				ns := newNodeState()
				cfg.EVMNodeHeight, cfg.EVMNodeUp = ns.height.Load, ns.answered
				follows = append(follows, func(ctx context.Context) error {
					log := logger()
					alerts := func(lo, hi int64) {
						// The entities made anew over the grown store, as
						// spur follow evm --by-entity makes them.
						ents, err := heur.alertEntities(es, heldLabels, es.Chain(), watch)
						if err != nil {
							log.Error("alerts failed", "err", err)
							return
						}
						if err := printEVMAlerts(es, heldLabels, es.Chain(), uint64(lo), uint64(hi), watch, ents, alertOut{json: true, hook: hook}); err != nil {
							log.Error("alerts failed", "err", err)
						} else {
							alertsThrough(hook, hi)
						}
					}
					if watch != nil {
						alertMissed(hook, evmTipRow(es), func(r int64) uint64 { return es.Block(uint64(r)).Number }, alerts)
					}
					err := ingest.EVMFollow(ctx, es, node, interval, ns.options(log), func(st *ingest.EVMStats) {
						log.Info("synced", "chain", es.Chain(), "block", st.Tip, "tip", st.TipHash, "added", st.Blocks, "unwound", st.Unwound)
						if watch != nil && st.Blocks > 0 {
							tip := evmTipRow(es)
							alerts(alertsSince(hook, tip+1-int64(st.Blocks)), tip)
						}
					})
					if err != nil {
						return fmt.Errorf("following %s: %w", ef.url, err)
					}
					return nil
				})
			} else if evmChain != "eth" {
				if cfg.EVM, err = openEVM(&sf, evmChain, evmRead); err != nil {
					return err
				}
			} else if cfg.EVM, err = openReportEVM(&sf); err != nil {
				return err
			}
			if cfg.EVM != nil {
				defer cfg.EVM.Close()
				if ef.url == "" {
					if err := besideFollower(cfg.EVM.Dir(), evmstore.ErrLocked, "--follow-evm"); err != nil {
						return err
					}
				}
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("--listen %s: %w", listen, err)
			}
			if len(hooks) > 0 {
				cfg.Webhook = func() (taken, refused, lost, queued int64) {
					for _, h := range hooks {
						t, r, l := h.Stats()
						taken, refused, lost, queued = taken+t, refused+r, lost+l, queued+h.Queued()
					}
					return
				}
			}
			apiSrv = api.New(cfg)
			srv := &http.Server{Handler: apiSrv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
				WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
			what := "labels"
			if s != nil {
				what = fmt.Sprintf("height %d", s.Height())
			} else if cfg.EVM != nil {
				what = "labels and the " + cfg.EVM.Chain() + " chain, no Bitcoin store"
			}
			// SIGHUP is taken before the server says it serves: sent
			// any time after, it must not end the server.
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			fmt.Fprintf(os.Stderr, "spur: serving %s (%s) on http://%s\n", sf.dir, what, ln.Addr())
			ctx, stop := context.WithCancel(cmd.Context())
			defer stop()
			followErr := make(chan error, len(follows))
			for _, follow := range follows {
				// A follow that gives up stops the server: serving a store
				// that silently stopped growing would mislead screening.
				go func() { followErr <- follow(ctx); stop() }()
			}
			labelsDone := make(chan struct{})
			go func() {
				defer close(labelsDone)
				takeQueuedLabels(ctx, labels, apiSrv)
			}()
			go rereadRules(ctx, hup, rulesFile, apiSrv)
			if s != nil && !withCluster {
				go takeNewClustering(ctx, s, apiSrv)
			}
			err = serveHTTP(ctx, srv, ln)
			stop()
			<-labelsDone
			// The writers must be idle before the stores close.
			var ferrs []error
			for range follows {
				ferrs = append(ferrs, <-followErr)
			}
			if ferr := errors.Join(ferrs...); ferr != nil {
				return ferr
			}
			return err
		},
	}
	sf.register(c, false)
	c.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "address to listen on")
	c.Flags().StringVar(&rf.url, "follow-rpc", "", "also follow this Bitcoin node's tip while serving (JSON-RPC URL)")
	c.Flags().StringVar(&rf.user, "rpc-user", "", "JSON-RPC user of --follow-rpc")
	c.Flags().StringVar(&rf.pass, "rpc-pass", "", "JSON-RPC password (or set SPUR_RPC_PASS, which ps does not show)")
	c.Flags().StringVar(&rf.cookie, "rpc-cookie", "", "Bitcoin Core cookie file, or its data directory (instead of user and password)")
	c.Flags().DurationVar(&interval, "interval", 2*time.Second, "how often --follow-rpc and --follow-evm poll their nodes")
	c.Flags().StringVar(&ef.url, "follow-evm", "", "also follow this EVM node's tip while serving (JSON-RPC URL)")
	c.Flags().StringVar(&ef.traces, "evm-traces", "callTracer", "internal calls of --follow-evm from: callTracer (debug_traceBlockByNumber), trace_block, or none")
	c.Flags().DurationVar(&ef.timeout, "evm-rpc-timeout", 60*time.Second, "timeout of one JSON-RPC request of --follow-evm")
	c.Flags().StringVar(&evmChain, "evm-chain", "eth", "the EVM chain served (and followed): eth, sepolia, holesky, dev")
	c.Flags().StringVar(&rulesFile, "rules", "", "severity rules file (YAML; default: the built-in rules of docs/api.md)")
	c.Flags().StringVar(&alert, "alert", "", "with a follow: print each new transaction that moves money from or to an address labelled in these categories (comma-separated, e.g. sanctioned,stolen-funds), a JSON object each")
	c.Flags().StringVar(&hookURL, "alert-webhook", "", "with --alert: also POST each alert, as JSON, to this URL (signed with SPUR_WEBHOOK_SECRET if set)")
	c.Flags().BoolVar(&byEntity, "by-entity", false, "with --alert: also each new transaction of an address whose entity has such a label: on Bitcoin by the clustering (spur cluster, or --cluster), on the followed EVM chain made at each sync by the heuristics given")
	heur.register(c)
	c.Flags().BoolVar(&watchMempool, "mempool", false, "with --follow-rpc and --alert: also each transaction of the node's mempool as it arrives, before its block")
	c.Flags().BoolVar(&withCluster, "cluster", false, "with --follow-rpc: bring the address clustering up to each sync's blocks, screening and alerts on it from then on")
	c.Flags().BoolVar(&cfg.NoAuth, "no-auth", false, "serve /v1 without API keys (only for local use)")
	c.Flags().Float64Var(&cfg.Rate, "rate", 20, "requests per second per API key")
	c.Flags().IntVar(&cfg.Burst, "burst", 40, "requests a key may send at once")
	return c
}

// shutdownGrace is how long a shutdown gives the requests in flight before
// their connections are cut (a variable for the tests).
var shutdownGrace = 5 * time.Second

// serveHTTP serves srv on ln until ctx ends (or serving fails), then shuts
// it down, giving the requests in flight shutdownGrace before their
// connections are cut (which ends their contexts), and returns once every
// request has returned: Serve itself returns as soon as a shutdown begins,
// and the stores the requests read are closed after.
func serveHTTP(ctx context.Context, srv *http.Server, ln net.Listener) error {
	var inFlight sync.WaitGroup
	h := srv.Handler
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		defer inFlight.Done()
		h.ServeHTTP(w, r)
	})
	ctx, cancel := context.WithCancel(ctx)
	shutDown := make(chan struct{})
	go func() {
		defer close(shutDown)
		<-ctx.Done()
		sctx, cancelWait := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancelWait()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
	}()
	err := srv.Serve(ln)
	cancel()
	<-shutDown
	inFlight.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// besideFollower refuses to serve, without following, the store in dir
// while a follower keeps it (colfile.WriterOf): the server's reads would
// hold the follower off for as long as it serves. follow is the flag that
// would make the server the follower.
func besideFollower(dir string, locked error, follow string) error {
	if who, held := colfile.WriterOf(dir); held {
		return fmt.Errorf("%w: %s is kept at a node's tip (%s), which a server reading it would hold off for as long as it serves: ask that one's API if it serves, or stop the follow and serve with %s instead", locked, dir, who, follow)
	}
	return nil
}

// nodeState is what a follow learns of its node, for /metrics and /healthz:
// its tip's height at the last poll, and whether that poll was answered
// (1 or 0); -1 for each before the first.
type nodeState struct {
	height atomic.Int64
	up     atomic.Int32
}

func newNodeState() *nodeState {
	n := &nodeState{}
	n.height.Store(-1)
	n.up.Store(-1)
	return n
}

func (n *nodeState) answered() int { return int(n.up.Load()) }

// options are a follow's, telling n what it learns.
func (n *nodeState) options(log *slog.Logger) ingest.Options {
	return ingest.Options{Logger: log, NodeHeight: n.height.Store, NodeUp: func(ok bool) {
		if ok {
			n.up.Store(1)
		} else {
			n.up.Store(0)
		}
	}}
}

// takeQueuedLabels applies, twice a second until ctx ends, the label
// imports queued beside the labels the server holds (spur labels import
// while it runs), and takes them into its screening at once.
func takeQueuedLabels(ctx context.Context, labels *label.Store, srv *api.Server) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !labels.Pending() {
			continue
		}
		applied, err := labels.ApplyPending()
		if len(applied) > 0 {
			srv.LabelsChanged()
			logger().Info("labels imported", "sources", applied)
		}
		if err != nil {
			logger().Warn("queued labels not applied", "err", err)
		}
	}
}

// takeNewClustering puts in force each clustering spur cluster writes
// while the server serves (it runs beside the server, which reads the
// store as it does), until ctx ends: it looks at the clustering's
// generation every half second.
func takeNewClustering(ctx context.Context, s *store.Store, srv *api.Server) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	said := "" // the last failure logged, said once
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c, changed, err := cluster.Reopen(s, srv.Clusters())
		if errors.Is(err, cluster.ErrNoClustering) || err == nil && !changed {
			continue
		}
		if err != nil {
			if err.Error() != said {
				logger().Warn("new clustering not taken", "err", err)
				said = err.Error()
			}
			continue
		}
		said = ""
		srv.ClusteringChanged(c)
		logger().Info("clustering taken", "generation", c.Meta.Generation, "entities", c.Meta.Entities, "height", c.Meta.Height)
	}
}

// rereadRules reads the rules file again at each SIGHUP (hup) until ctx ends,
// and puts the rules in force if they parse; if they do not, the rules in
// force stay, and the error is logged with its file and line. Without a
// rules file (path ""), a SIGHUP is logged and changes nothing (it would
// otherwise end the server).
func rereadRules(ctx context.Context, hup <-chan os.Signal, path string, srv *api.Server) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		if path == "" {
			logger().Info("SIGHUP: the built-in rules are in force (no --rules file to read again)")
			continue
		}
		b, err := os.ReadFile(path)
		var rules api.Rules
		if err == nil {
			rules, err = api.ParseRules(path, b)
		}
		if err != nil {
			logger().Error("rules not read again; those in force stay", "err", err)
			continue
		}
		srv.SetRules(rules)
		logger().Info("rules read again", "file", path, "rules", len(rules))
	}
}

// loopback reports whether addr (host:port) listens on this machine only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func newKeys() *cobra.Command {
	c := &cobra.Command{Use: "keys", Short: "Manage API keys"}
	var dir, name string
	var asJSON bool
	create := &cobra.Command{
		Use:   "create --store DIR --name NAME",
		Short: "Create an API key; it is printed once and stored only as a hash",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if name == "" {
				return usagef("--name is required")
			}
			if strings.Contains(name, "\n") {
				return usagef("--name must be one line")
			}
			key, hash := api.NewKey()
			s, err := openLabelsHeld(dir)
			switch {
			case errors.Is(err, label.ErrLocked):
				// A running server holds the labels: the key goes to the
				// journal it reads, and works at once.
				if err := label.AppendKeyChange(labelsDir(dir), hash, name); err != nil {
					return err
				}
				fmt.Fprintln(os.Stderr, "note: the labels are held by another process; journalled: a running server takes the key at once, the labels at their next writable open")
			case err != nil:
				return err
			default:
				defer s.Close()
				if err := s.PutKey(name, hash); err != nil {
					return err
				}
			}
			if asJSON {
				return printJSON(os.Stdout, map[string]string{"name": name, "id": hash[:min(keyIDLen, len(hash))], "key": key})
			}
			fmt.Println(key)
			return nil
		},
	}
	create.Flags().StringVar(&dir, "store", "", "store directory (required)")
	create.Flags().StringVar(&name, "name", "", "who the key is for")
	create.Flags().BoolVar(&asJSON, "json", false, "print JSON ({name, id, key}) instead of the key alone")
	c.AddCommand(create, newKeysList(), newKeysRevoke())
	return c
}

// keyIDLen is how much of a key's hash names it in keys list and revoke.
const keyIDLen = 12

// keyRow is a key as keys list and revoke show it: who it is for, and its
// id (the start of its hash; never the key).
type keyRow struct {
	Name string `json:"name"`
	ID   string `json:"id"`
}

func keyRows(keys []label.APIKey) []keyRow {
	out := []keyRow{}
	for _, k := range keys {
		out = append(out, keyRow{k.Name, k.Hash[:min(keyIDLen, len(k.Hash))]})
	}
	return out
}

func newKeysList() *cobra.Command {
	var dir string
	var asJSON bool
	c := &cobra.Command{
		Use:   "list --store DIR [--json]",
		Short: "List the API keys: who each is for, and its id (the start of its hash)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openLabels(dir)
			if err != nil {
				return err
			}
			defer s.Close()
			keys, err := s.Keys()
			if err != nil {
				return err
			}
			out := keyRows(keys)
			if asJSON {
				return printJSON(os.Stdout, out)
			}
			t := newTable(os.Stdout)
			t.row("NAME", "ID")
			for _, r := range out {
				t.row(r.Name, r.ID)
			}
			t.flush()
			return nil
		},
	}
	c.Flags().StringVar(&dir, "store", "", "store directory (required)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	return c
}

func newKeysRevoke() *cobra.Command {
	var dir, name, id string
	var asJSON bool
	c := &cobra.Command{
		Use:   "revoke --store DIR (--name NAME | --id ID)",
		Short: "Revoke API keys: every key of a name, or the one whose id is given",
		Long: `Revokes API keys: every key made for --name, or the key --id names (its id as
spur keys list shows it, or a longer start of its hash). Beside a running
spur serve, which holds the labels, the revocation is journalled beside
them and the server refuses the key at once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (name == "") == (id == "") {
				return usagef("give exactly one of --name or --id")
			}
			id = strings.ToLower(id)
			if id != "" && len(id) < 8 {
				return usagef("--id wants at least 8 hex digits of the key's id")
			}
			// Beside a running server, which holds the labels, the
			// revocation goes to the journal it reads: refused at once.
			s, err := openLabelsHeld(dir)
			held := errors.Is(err, label.ErrLocked)
			if held {
				s, err = openLabels(dir)
			}
			if err != nil {
				return err
			}
			defer s.Close()
			keys, err := s.Keys()
			if err != nil {
				return err
			}
			var hit []label.APIKey
			for _, k := range keys {
				if name != "" && k.Name == name || id != "" && strings.HasPrefix(k.Hash, id) {
					hit = append(hit, k)
				}
			}
			if len(hit) == 0 {
				what := fmt.Sprintf("for %q", name)
				if id != "" {
					what = "with id " + id
				}
				return fmt.Errorf("%w: no API key %s (spur keys list)", store.ErrNotFound, what)
			}
			if id != "" && len(hit) > 1 {
				return usagef("--id %s names %d keys: give more of it", id, len(hit))
			}
			for _, k := range hit {
				revoke := s.DeleteKey
				if held {
					revoke = func(hash string) error { return label.AppendKeyChange(labelsDir(dir), hash, "") }
				}
				if err := revoke(k.Hash); err != nil {
					return err
				}
			}
			if held {
				fmt.Fprintln(os.Stderr, "note: the labels are held by another process; journalled: a running server refuses the key at once")
			}
			if asJSON {
				return printJSON(os.Stdout, map[string]any{"revoked": keyRows(hit)})
			}
			fmt.Printf("revoked %d key(s)\n", len(hit))
			return nil
		},
	}
	c.Flags().StringVar(&dir, "store", "", "store directory (required)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	c.Flags().StringVar(&name, "name", "", "revoke every key made for this name")
	c.Flags().StringVar(&id, "id", "", "revoke the key with this id (spur keys list)")
	return c
}

// servable reports whether dir holds something to serve without a Bitcoin
// store: imported labels, or an EVM chain.
func servable(dir string) bool {
	for _, p := range []string{labelsDir(dir), filepath.Join(dir, "evm")} {
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return true
		}
	}
	return false
}

// Command spur follows stolen crypto across chains and screens money
// against sanctions. This file wires flags to the internal packages and maps
// errors to exit codes; the work happens in internal/.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/spur-forensics/spur/internal/api"
	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/buildinfo"
	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/colfile"
	"github.com/spur-forensics/spur/internal/evm"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/export"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/query"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/webhook"
)

// Exit codes. docs/cli.md lists them for scripts.
const (
	exitOK       = 0
	exitFailure  = 1 // anything else: I/O, node errors
	exitUsage    = 2 // bad flags or arguments
	exitNotFound = 3 // the thing looked up is not in the store
	exitBadInput = 4 // corrupt or malformed input data, or blocks that do not connect
	exitStore    = 5 // the store is locked, of another version, or damaged
	// exitInterrupted is the shell's code for a command stopped by SIGINT
	// (128+2); SIGTERM ends a run the same way.
	exitInterrupted = 130
)

type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func exitCode(err error) int {
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue), errors.Is(err, query.ErrBadRef):
		return exitUsage
	case errors.Is(err, store.ErrNotFound), errors.Is(err, evmstore.ErrNotFound), errors.Is(err, export.ErrRange):
		return exitNotFound
	case errors.Is(err, btc.ErrCorrupt), errors.Is(err, btc.ErrWrongNetwork), errors.Is(err, store.ErrNotConnected), errors.Is(err, label.ErrMalformed), errors.Is(err, api.ErrRules),
		errors.Is(err, evm.ErrInput), errors.Is(err, evmstore.ErrNotNext), errors.Is(err, evmstore.ErrChain):
		return exitBadInput
	case errors.Is(err, cluster.ErrNoClustering):
		return exitNotFound
	case errors.Is(err, store.ErrLocked), errors.Is(err, label.ErrLocked), errors.Is(err, cluster.ErrLocked), errors.Is(err, label.ErrNotApplied), errors.Is(err, label.ErrVersion), errors.Is(err, store.ErrVersion), errors.Is(err, store.ErrCorrupt), errors.Is(err, store.ErrReadOnly),
		errors.Is(err, evmstore.ErrLocked), errors.Is(err, evmstore.ErrVersion), errors.Is(err, evmstore.ErrCorrupt), errors.Is(err, webhook.ErrOutboxLocked):
		return exitStore
	}
	return exitFailure
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot()
	err := root.ExecuteContext(ctx)
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		// Stopped by Ctrl-C or SIGTERM: what was committed stays, and
		// the message says where the store stands.
		fmt.Fprintln(os.Stderr, "spur:", strings.Replace(err.Error(), context.Canceled.Error(), "interrupted", 1))
		os.Exit(exitInterrupted)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "spur:", err)
		if errors.Is(err, store.ErrLocked) || errors.Is(err, evmstore.ErrLocked) {
			fmt.Fprintln(os.Stderr, "Another spur holds the store: wait for it, or stop it. Queries run beside 'spur follow', which lets them in between blocks; to serve a store kept at a node's tip, use 'spur serve --follow-rpc URL' (or --follow-evm) instead of 'spur follow' (docs/api.md).")
		}
		var ue usageError
		if errors.As(err, &ue) || isFlagError(err) {
			fmt.Fprintln(os.Stderr, "Run 'spur --help' for usage.")
			os.Exit(exitUsage)
		}
	}
	os.Exit(exitCode(err))
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "spur",
		Short: "Follow stolen crypto across chains and screen money against sanctions",
		Long: `spur ingests Bitcoin and EVM chains into a compact embedded column store and
answers questions about them: transactions, addresses and blocks; entities
(clustering); labels and sanctions lists; traces of stolen funds through
swaps, mixers and bridges; exposure screening (also over HTTP); and reports
of incidents and actors.

Start with 'spur demo', which ingests real mainnet blocks shipped with spur,
then a synthetic world with thefts in it, and shows what the store answers.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildinfo.Version(),
	}
	root.SetVersionTemplate("spur {{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		if c.HasSubCommands() && c.HasParent() {
			// spur report --store DIR ...: the flags are the command's.
			var names []string
			for _, sub := range c.Commands() {
				if sub.IsAvailableCommand() {
					names = append(names, sub.Name())
				}
			}
			return usagef("%v: %s takes a command first (%s), then its flags", err, c.CommandPath(), strings.Join(names, ", "))
		}
		return usageError{err}
	})
	root.AddCommand(newDemo(), newIngest(), newFollow(), newTx(), newAddress(), newBlock(), newDecode(), newBench(), newStoreCmd(), newLabels(), newScreen(), newCluster(), newEntity(), newActor(), newNames(), newGen(), newEval(), newTrace(), newIncident(), newPrices(), newServe(), newKeys(), newReport(), newExport(), newAlerts(), newVersion())
	argsAreUsage(root)
	return root
}

// pathsAfter lets a command take, after its repeatable path flag, more
// paths as arguments, as a shell glob gives them (--blocks blk*.dat): only
// once the flag is given, and the command appends them to its value.
func pathsAfter(flag string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) > 0 && !c.Flags().Changed(flag) {
			return fmt.Errorf("unexpected argument %q (paths follow --%s)", args[0], flag)
		}
		return nil
	}
}

// argsAreUsage makes a wrong number of arguments, to c and every command
// under it, a usage error (exit 2), as a bad flag is; and so an unknown
// command (cobra would show a group's help and exit 0, or fail with 1).
func argsAreUsage(c *cobra.Command) {
	if c.HasSubCommands() && !c.Runnable() {
		c.Args = func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q for %q", args[0], c.CommandPath())
			}
			return nil
		}
		c.RunE = func(c *cobra.Command, args []string) error { return c.Help() }
	}
	if check := c.Args; check != nil {
		c.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		argsAreUsage(sub)
	}
}

func isFlagError(err error) bool {
	var ue usageError
	return errors.As(err, &ue)
}

// storeFlags are the flags every store command takes.
type storeFlags struct {
	dir     string
	network string
	json    bool
}

func (f *storeFlags) register(c *cobra.Command, withJSON bool) {
	f.registerEVM(c, withJSON)
	c.Flags().StringVar(&f.network, "network", "", "Bitcoin network: main, test, testnet4, signet, regtest, simnet (default: the store's; main for a new store)")
}

// registerEVM registers the flags of a command that reads no Bitcoin
// store, which has no --network.
func (f *storeFlags) registerEVM(c *cobra.Command, withJSON bool) {
	c.Flags().StringVar(&f.dir, "store", "", "store directory (required)")
	if withJSON {
		c.Flags().BoolVar(&f.json, "json", false, "print JSON instead of text")
	}
}

// jsonAsFormat makes --json, on a command whose output --format chooses,
// mean --format json: every query takes --json.
func jsonAsFormat(c *cobra.Command, asJSON bool, format *string) error {
	if !asJSON {
		return nil
	}
	if c.Flags().Changed("format") && *format != "json" {
		return usagef("--json and --format %s: give one", *format)
	}
	*format = "json"
	return nil
}

func (f *storeFlags) net() (*btc.Network, error) {
	name := f.network
	if name == "" {
		name = "main"
		if f.dir != "" {
			if stored, err := store.PeekNetwork(btcDir(f.dir)); err == nil {
				name = stored
			}
		}
	}
	n, err := btc.LookupNetwork(name)
	if err != nil {
		return nil, usageError{err}
	}
	return n, nil
}

func (f *storeFlags) open() (*store.Store, error) {
	if f.dir == "" {
		return nil, usagef("--store DIR is required")
	}
	net, err := f.net()
	if err != nil {
		return nil, err
	}
	return store.Open(btcDir(f.dir), store.Options{Network: net})
}

// A spur store is a directory with a part per kind of data: the Bitcoin
// column store in btc/, labels in labels/.
func btcDir(dir string) string    { return filepath.Join(dir, "btc") }
func labelsDir(dir string) string { return filepath.Join(dir, "labels") }

// openExisting opens a store for reading; it refuses to create one. It
// reads with the store's lock shared, so that queries, reports and servers
// of one store run side by side; a writer (an ingest) takes the lock whole,
// so it is refused while they read, and they while it writes.
// A store a crash left with work for a writable open (spends to replay,
// rows to index again) is opened once for writing first, which does it;
// on a file system that cannot be written (an evidence copy), the
// read-only open's refusal stands.
func (f *storeFlags) openExisting() (*store.Store, error) {
	if err := f.exists(); err != nil {
		return nil, err
	}
	net, err := f.net()
	if err != nil {
		return nil, err
	}
	s, err := store.OpenReadOnly(btcDir(f.dir), store.Options{Network: net})
	if !errors.Is(err, store.ErrReadOnly) {
		return s, err
	}
	w, werr := f.open()
	if werr != nil {
		if colfile.ReadOnlyFS(werr) {
			return nil, err
		}
		return nil, werr
	}
	if werr := w.Close(); werr != nil {
		return nil, werr
	}
	return store.OpenReadOnly(btcDir(f.dir), store.Options{Network: net})
}

// openToWrite opens an existing store for a command that writes to it
// (clustering, an ingest in a benchmark): with the store's lock exclusive.
func (f *storeFlags) openToWrite() (*store.Store, error) {
	if err := f.exists(); err != nil {
		return nil, err
	}
	return f.open()
}

// waitForQueries opens a store for a follower with open, again while
// queries of other processes hold it (and no writer does), for up to
// colfile.ReaderWait or until ctx ends: a follower started, or restarted
// by its supervisor, while a query runs waits for the query rather than
// failing. It says so once.
func waitForQueries[T any](ctx context.Context, dir string, open func() (T, error)) (T, error) {
	deadline := time.Now().Add(colfile.ReaderWait)
	told := false
	for {
		v, err := open()
		if err == nil || !errors.Is(err, store.ErrLocked) && !errors.Is(err, evmstore.ErrLocked) || time.Now().After(deadline) {
			return v, err
		}
		if _, writer := colfile.WriterOf(dir); writer {
			return v, err
		}
		if !told {
			logger().Info("waiting for queries of the store to end", "store", dir)
			told = true
		}
		select {
		case <-ctx.Done():
			return v, err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// A firstRun is a command that may make the store it writes (an ingest, a
// follow): if it fails before the store holds a block, it leaves no store
// behind, nor the directories it made for one.
type firstRun struct {
	made  []string     // dir and the parents missing before the run, dir first
	close func() error // the store's Close, once
}

// newFirstRun notes what of dir is missing, before the store is opened.
func newFirstRun(dir string) *firstRun {
	f := &firstRun{}
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			break
		}
		f.made = append(f.made, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	return f
}

// closeWith takes the opened store's Close and returns it, to defer: it
// runs once, here or in failed.
func (f *firstRun) closeWith(close func() error) func() error {
	f.close = sync.OnceValue(close)
	return f.close
}

// failed reports whether a run that failed with the store still empty
// (empty) removed what it made; if so, the store is closed and gone.
func (f *firstRun) failed(empty bool) bool {
	if len(f.made) == 0 || !empty || f.close() != nil {
		return false
	}
	os.RemoveAll(f.made[0])
	for _, d := range f.made[1:] {
		os.Remove(d) // only while empty
	}
	return true
}

// evmChainsIn names the EVM chains a store directory holds.
func evmChainsIn(dir string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, "evm", "*", "META"))
	chains := make([]string, len(m))
	for i, p := range m {
		chains[i] = filepath.Base(filepath.Dir(p))
	}
	return chains
}

// exists checks that --store names a store with a Bitcoin part.
func (f *storeFlags) exists() error {
	if f.dir == "" {
		return usagef("--store DIR is required")
	}
	if _, err := os.Stat(filepath.Join(btcDir(f.dir), "META")); err != nil {
		// A store of EVM chains alone: say which, and the flag that reads one.
		if chains := evmChainsIn(f.dir); len(chains) > 0 {
			for i, c := range chains {
				chains[i] = "--chain " + c
			}
			return fmt.Errorf("%w: %s holds no Bitcoin store (no btc/META); it holds EVM chains: %s", store.ErrNotFound, f.dir, strings.Join(chains, ", "))
		}
		return fmt.Errorf("%w: %s holds no Bitcoin store (no btc/META)", store.ErrNotFound, f.dir)
	}
	return nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/spur-forensics/spur/internal/api"
	"github.com/spur-forensics/spur/internal/cluster"
)

func newServe() *cobra.Command {
	var sf storeFlags
	var listen, rulesFile string
	var cfg api.Config
	c := &cobra.Command{
		Use:   "serve --store DIR [--listen 127.0.0.1:8080]",
		Short: "Serve the HTTP API (JSON under /v1, /healthz, /metrics, /openapi.json)",
		Long: `Serves the store over HTTP. /v1 needs an API key (spur keys create), sent as
"Authorization: Bearer KEY"; each key is rate limited (--rate per second,
--burst). Bodies are capped at 4 MiB and batches at 1,000 items. Listens on
loopback unless --listen says otherwise. Screening severities follow the
rules in --rules (YAML; the defaults are in docs/api.md). See docs/api.md and
/openapi.json.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if rulesFile != "" {
				b, err := os.ReadFile(rulesFile)
				if err != nil {
					return err
				}
				if cfg.Rules, err = api.ParseRules(rulesFile, b); err != nil {
					return err
				}
			}
			s, err := sf.openExisting()
			if err != nil {
				return err
			}
			defer s.Close()
			labels, err := openLabels(sf.dir)
			if err != nil {
				return err
			}
			defer labels.Close()
			cfg.Store, cfg.Labels, cfg.Logger = s, labels, logger()
			if cfg.Clusters, err = cluster.Open(s); err != nil && !errors.Is(err, cluster.ErrNoClustering) {
				return err
			}
			if cfg.EVM, err = openReportEVM(&sf); err != nil {
				return err
			}
			if cfg.EVM != nil {
				defer cfg.EVM.Close()
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return err
			}
			srv := &http.Server{Handler: api.New(cfg).Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
				WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
			fmt.Fprintf(os.Stderr, "spur: serving %s (height %d) on http://%s\n", sf.dir, s.Height(), ln.Addr())
			go func() {
				<-cmd.Context().Done()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				srv.Shutdown(ctx)
			}()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	sf.register(c, false)
	c.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "address to listen on")
	c.Flags().StringVar(&rulesFile, "rules", "", "severity rules file (YAML; default: the built-in rules of docs/api.md)")
	c.Flags().BoolVar(&cfg.NoAuth, "no-auth", false, "serve /v1 without API keys (only for local use)")
	c.Flags().Float64Var(&cfg.Rate, "rate", 20, "requests per second per API key")
	c.Flags().IntVar(&cfg.Burst, "burst", 40, "requests a key may send at once")
	return c
}

func newKeys() *cobra.Command {
	c := &cobra.Command{Use: "keys", Short: "Manage API keys"}
	var dir, name string
	create := &cobra.Command{
		Use:   "create --store DIR --name NAME",
		Short: "Create an API key; it is printed once and stored only as a hash",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if name == "" {
				return usagef("--name is required")
			}
			s, err := openLabels(dir)
			if err != nil {
				return err
			}
			defer s.Close()
			key, hash := api.NewKey()
			if err := s.PutKey(name, hash); err != nil {
				return err
			}
			fmt.Println(key)
			return nil
		},
	}
	create.Flags().StringVar(&dir, "store", "", "store directory (required)")
	create.Flags().StringVar(&name, "name", "", "who the key is for")
	c.AddCommand(create)
	return c
}

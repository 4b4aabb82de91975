package main

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/txscript"

	"github.com/spur-forensics/spur/internal/api"
	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/testnode"
)

// BenchmarkMempoolFirstPoll reads a btcd node's mempool of 2,000
// transactions, each spending a stored coin of a watched address, as a
// follower's first poll with --mempool does (each transaction asked for,
// decoded and alerted, the alerts printed as JSON to a file): one asked
// for at a time, the baseline, against fetchMempool's eight at once.
func BenchmarkMempoolFirstPoll(b *testing.B) {
	const n = 2000
	dir, s, rpc, _ := mempoolOf(b, n)
	stdout := os.Stdout
	defer func() { os.Stdout = stdout }()
	watch, _ := alertCategories("stolen-funds", dir)
	for _, c := range []struct {
		name     string
		fetchers int
	}{{"one-at-a-time", 1}, {"eight-at-once", 8}} {
		b.Run(c.name, func(b *testing.B) {
			alerts, err := os.Create(filepath.Join(b.TempDir(), "alerts"))
			if err != nil {
				b.Fatal(err)
			}
			defer alerts.Close()
			os.Stdout = alerts
			for b.Loop() {
				poll := mempoolWatch(b.Context(), s, rpc, mempool{
					labels:   func(f func(*label.Store) error) error { return withAlertLabels(dir, f) },
					clusters: func() (cluster.Reader, error) { return nil, nil },
					watch:    watch,
					out:      alertOut{json: true},
					fetchers: c.fetchers,
				})
				poll()
			}
			os.Stdout = stdout
			// Every transaction alerted, every time.
			if got, _ := os.ReadFile(alerts.Name()); bytes.Count(got, []byte(`"mempool": true`)) != n*b.N {
				b.Fatalf("%d alerts in %d polls of %d transactions", bytes.Count(got, []byte(`"mempool": true`)), b.N, n)
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "txs/s")
		})
	}
}

// mempoolOf starts a regtest btcd whose mempool holds n transactions,
// each spending a stored coin of a labelled (stolen-funds) address, and
// returns the store's directory, the store, a client of the node and the
// transactions, in hex.
func mempoolOf(b *testing.B, n int) (string, *store.Store, *btc.RPC, []string) {
	node, key, mining, deposit, dir := btcdStore(b)
	importLabel(b, dir, "thief", mining.EncodeAddress()+",btc,stolen-funds,Test theft")
	// Block 1's coinbase split into n coins of the labelled address, mined
	// and stored; then each spent in the mempool.
	pay, _ := txscript.PayToAddrScript(mining)
	fan := node.SpendTo(b, []testnode.Coin{{Tx: node.Block(b, 1).Transactions[0], Key: key}}, pay, n, 100_000)
	node.Generate(b, 1)
	mustRun(b, "ingest", "btc", "--network", "regtest", "--store", dir, "--rpc", node.URL, "--rpc-user", "u", "--rpc-pass", "p", "-q")
	out, _ := txscript.PayToAddrScript(deposit)
	var txs []string
	for i := range n {
		tx := node.Spend(b, []testnode.Coin{{Tx: fan, Vout: uint32(i), Key: key}}, out, 1_000)
		var buf bytes.Buffer
		tx.Serialize(&buf)
		txs = append(txs, hex.EncodeToString(buf.Bytes()))
	}
	regtest, _ := btc.LookupNetwork("regtest")
	s, err := store.Open(btcDir(dir), store.Options{Network: regtest})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	rpc, err := btc.NewRPC(node.URL, "u", "p", "")
	if err != nil {
		b.Fatal(err)
	}
	return dir, s, rpc, txs
}

// BenchmarkScreenFromNode screens deposits in a btcd node's mempool by
// their txids, each asked of the node (Config.NodeTx, as spur serve
// --follow-rpc does), against the same deposits given whole (raw_tx), the
// baseline: what asking the node adds to a screen.
func BenchmarkScreenFromNode(b *testing.B) {
	const n = 200
	dir, s, rpc, txs := mempoolOf(b, n)
	labels, err := openLabels(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer labels.Close()
	srv := api.New(api.Config{Store: s, Labels: labels, NodeTx: rpc.RawTransaction})
	ids := make([]string, n)
	for i, h := range txs {
		raw, _ := hex.DecodeString(h)
		tx, _ := btc.DecodeTx(raw)
		ids[i] = tx.TxID.String()
	}
	for _, c := range []struct {
		name string
		item func(i int) api.ScreenItem
	}{
		{"raw-tx", func(i int) api.ScreenItem { return api.ScreenItem{RawTx: txs[i]} }},
		{"txid-from-node", func(i int) api.ScreenItem { return api.ScreenItem{Tx: ids[i]} }},
	} {
		b.Run(c.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				out, err := srv.Screen([]api.ScreenItem{c.item(i % n)})
				if err != nil || out[0].Severity != "high" {
					b.Fatalf("%+v %v", out, err)
				}
				i++
			}
		})
	}
}

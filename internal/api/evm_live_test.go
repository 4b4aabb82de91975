package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/spur-forensics/spur/internal/evm"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/query"
)

// TestEthScreenLive: a server whose Ethereum store a follow grows in its
// process screens on each commit as it comes. An address first seen in
// the block committed while screens run, and labelled sanctioned before,
// is found as the sender of the value its payee received; the screens in
// flight meanwhile all answer.
func TestEthScreenLive(t *testing.T) {
	blocks := func() []*evm.Block {
		src, err := evm.OpenETL("../../testdata/evm/etl-17173049")
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		var bs []*evm.Block
		for {
			b, err := src.Next()
			if err == io.EOF {
				return bs
			}
			if err != nil {
				t.Fatal(err)
			}
			bs = append(bs, b)
		}
	}()
	// Which sender of ether in the second block the first has not seen, and
	// whom it paid: from a store of both.
	scratch, err := evmstore.Open(filepath.Join(t.TempDir(), "scratch"), "eth")
	if err != nil {
		t.Fatal(err)
	}
	var seenBefore uint64 // addresses the first block holds
	for i, b := range blocks[:2] {
		if err := scratch.AppendBlock(b); err != nil {
			t.Fatal(err)
		}
		if err := scratch.Commit(); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			seenBefore = scratch.Counts().Addrs
		}
	}
	b1 := scratch.Block(1)
	var sender, payee string
	for x := b1.FirstXfer; x < b1.FirstXfer+uint64(b1.NumXfer); x++ {
		tr := scratch.Transfer(x)
		if tr.Asset == evmstore.None && uint64(tr.From) >= seenBefore && tr.To != evmstore.None && tr.From != tr.To && query.ValueKind(tr.Kind) && tr.Amount.Sign() > 0 {
			sender, payee = scratch.Address(tr.From).Hex(), scratch.Address(tr.To).Hex()
			break
		}
	}
	day := time.Unix(int64(b1.Time), 0).UTC().Format("2006-01-02")
	scratch.Close()
	if sender == "" {
		t.Fatal("no ether sent in the second block by an address first seen there")
	}

	es, err := evmstore.Open(filepath.Join(t.TempDir(), "eth"), "eth")
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close()
	if err := es.AppendBlock(blocks[0]); err != nil {
		t.Fatal(err)
	}
	if err := es.Commit(); err != nil {
		t.Fatal(err)
	}
	ls, err := label.Open(filepath.Join(t.TempDir(), "labels"))
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	ls.Replace(label.SourceInfo{Source: "test"}, []label.Label{{Address: sender, Chain: label.ChainETH, Category: "sanctioned", Label: "Test listing", Source: "test"}}, nil)
	ls.PutPrices(map[string]map[string]float64{"ETH": {day: 1850}})
	srv := httptest.NewServer(New(Config{Labels: ls, EVM: es, EVMLive: true, NoAuth: true, Rate: 1e9, Burst: 1 << 30}).Handler())
	defer srv.Close()
	before, beforeTip, err := screenOne(srv.URL, payee)
	if err != nil {
		t.Fatal(err)
	}
	if beforeTip != (ChainTip{Height: int64(blocks[0].Number), Tip: blocks[0].Hash.Hex()}) {
		t.Fatalf("screened as of %+v, before the second block", beforeTip)
	}
	if hasCategory(before.Direct, "sanctioned") {
		t.Fatalf("sanctioned exposure before the block that pays it: %+v", before)
	}

	// Screens of the first block's addresses run while the second block is
	// appended and committed.
	var addrs []string
	for n := range uint32(seenBefore) {
		addrs = append(addrs, es.Address(n).Hex())
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	stop := make(chan struct{})
	for w := range 4 {
		wg.Go(func() {
			for n := w; ; n += 4 {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := screenOne(srv.URL, addrs[n%len(addrs)]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	if err := es.AppendBlock(blocks[1]); err != nil {
		t.Fatal(err)
	}
	if err := es.Commit(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	after, afterTip, err := screenOne(srv.URL, payee)
	if err != nil {
		t.Fatal(err)
	}
	if afterTip != (ChainTip{Height: int64(blocks[1].Number), Tip: blocks[1].Hash.Hex()}) {
		t.Fatalf("screened as of %+v, after the second block", afterTip)
	}
	if !hasCategory(after.Direct, "sanctioned") || after.Severity == "low" {
		t.Fatalf("%s paid by %s (labelled sanctioned, first seen in the block committed): %+v", payee, sender, after)
	}
}

// screenOne screens addr over the API: its result, and the Ethereum
// store's tip it was screened as of.
func screenOne(url, addr string) (ScreenResult, ChainTip, error) {
	body := fmt.Sprintf(`{"items":[{"address":%q,"chain":"eth"}]}`, addr)
	resp, err := http.Post(url+"/v1/screen", "application/json", bytes.NewBufferString(body))
	if err != nil {
		return ScreenResult{}, ChainTip{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return ScreenResult{}, ChainTip{}, fmt.Errorf("screen %s: %d %s", addr, resp.StatusCode, b)
	}
	var out struct {
		Results []ScreenResult      `json:"results"`
		AsOf    map[string]ChainTip `json:"as_of"`
	}
	if err := json.Unmarshal(b, &out); err != nil || len(out.Results) != 1 {
		return ScreenResult{}, ChainTip{}, fmt.Errorf("screen %s: %s", addr, b)
	}
	return out.Results[0], out.AsOf["eth"], nil
}

func hasCategory(xs []Exposure, cat string) bool {
	for _, x := range xs {
		if x.Category == cat && x.USD > 0 {
			return true
		}
	}
	return false
}
